import PolicyModel
import XCTest

/// Input that cannot be the cluster is refused before anything is enforced.
final class InputRefusalTests: XCTestCase {
  let pods = [
    Manifest.namespace("shop"),
    Manifest.pod("shop", "web", ip: "10.0.0.1", node: "node-a"),
    Manifest.pod("shop", "api", ip: "10.0.1.1", node: "node-b"),
  ]

  func check(_ documents: [String], node: String? = nil, family: IPAddress.Family? = .ipv4) -> InputRefusal? {
    InputRefusal.check(Load.inventory(documents), node: node, family: family)
  }

  func testNothingReadIsRefused() {
    XCTAssertEqual(check([]), .nothingRead)
    XCTAssertEqual(check([""]), .nothingRead)
    XCTAssertEqual(check(["# only a comment\n"]), .nothingRead)
  }

  func testObjectsWithoutPodsAreRefusedAndNamed() {
    let policy = Manifest.policy("shop", "deny", "podSelector: {}\n")
    XCTAssertEqual(
      check([policy, policy.replacingOccurrences(of: "name: deny", with: "name: other")]),
      .noPods(read: ["2 NetworkPolicies"]))
    XCTAssertEqual(check([Manifest.namespace("shop"), policy]), .noPods(read: ["1 Namespace", "1 NetworkPolicy"]))
  }

  func testUnknownNodeNamesTheNodesSeen() {
    XCTAssertNil(check(pods, node: "node-a"))
    XCTAssertEqual(check(pods, node: "node-c"), .unknownNode("node-c", seen: ["node-a", "node-b"]))
    let message = InputRefusal.unknownNode("node-a.example.com", seen: ["node-a", "node-b"])
      .message(inputs: "<stdin>", consequence: "nothing changed")
    XCTAssertTrue(message.contains("did you mean \"node-a\"?"), message)
    XCTAssertTrue(message.hasSuffix("; nothing changed"), message)
  }

  /// A node whose only pods have no address yet is still a node of the
  /// cluster: it is known, and not refused.
  func testANodeWithOnlyPendingPodsIsKnown() {
    XCTAssertNil(check(pods + [Manifest.pod("shop", "new", ip: nil, node: "node-n", phase: "Pending")], node: "node-n"))
  }

  func testAFamilyNoPodHasIsRefused() {
    XCTAssertEqual(check(pods, family: .ipv6), .noAddresses(.ipv6))
    XCTAssertNil(check(pods, family: .ipv4))
    XCTAssertNil(check(pods, family: nil))
    XCTAssertNil(check(pods + [Manifest.pod("shop", "v6", ip: "fd00::1", node: "node-a")], family: .ipv6))
  }

  func testWordingCountsAndSuggests() {
    XCTAssertEqual(Wording.count(1, "error"), "1 error")
    XCTAssertEqual(Wording.count(0, "error"), "0 errors")
    XCTAssertEqual(Wording.count(2, "policy", "policies"), "2 policies")
    XCTAssertEqual(Wording.list((1...12).map(String.init), limit: 10), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more")
    XCTAssertEqual(Wording.nearest(to: "matchLabel", among: ["matchLabels", "matchExpressions"]), "matchLabels")
    XCTAssertEqual(Wording.nearest(to: "ingres", among: ["ingress", "egress", "podSelector"]), "ingress")
    XCTAssertNil(Wording.nearest(to: "spec", among: ["matchLabels", "metadata"]))
    XCTAssertNil(Wording.nearest(to: "x", among: ["abc"]))
    XCTAssertEqual(Wording.nearest(to: "node-a.corp", among: ["node-a", "node-b"]), "node-a")
  }
}
