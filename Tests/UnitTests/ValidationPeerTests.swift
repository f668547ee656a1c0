import PolicyModel
import XCTest

/// ValidateNetworkPolicyPeer and ValidateIPBlock.
final class ValidationPeerTests: XCTestCase {
  func fromPeer(_ peer: String) -> String {
    policy(
      "podSelector: {}\ningress:\n- from:\n  - "
        + peer.replacingOccurrences(of: "\n", with: "\n    "))
  }

  let peerPath = "spec.ingress[0].from[0]"

  func block(_ label: String, _ body: String, _ message: String, field: String) -> Rejection {
    Rejection(
      label: label, document: fromPeer("ipBlock:\n" + body), rule: RuleID.invalidCIDR,
      message: message,
      path: "\(peerPath).ipBlock.\(field)")
  }

  func testIPBlocks() {
    assertRejected([
      block("prefix 33", "  cidr: ↓10.0.0.0/33", "invalid CIDR \"10.0.0.0/33\"", field: "cidr"),
      block("IPv6 prefix 129", "  cidr: ↓\"::/129\"", "invalid CIDR \"::/129\"", field: "cidr"),
      block("no prefix", "  cidr: ↓10.0.0.1", "invalid CIDR \"10.0.0.1\"", field: "cidr"),
      block("leading zero", "  cidr: ↓010.0.0.0/8", "invalid CIDR", field: "cidr"),
      block(
        "except outside cidr", "  cidr: 10.0.0.0/16\n  except:\n  - ↓10.1.0.0/24",
        "except \"10.1.0.0/24\" must be a strict subset of cidr \"10.0.0.0/16\"", field: "except[0]"
      ),
      block(
        "except equal to cidr", "  cidr: 10.0.0.0/16\n  except:\n  - 10.0.1.0/24\n  - ↓10.0.0.0/16",
        "except \"10.0.0.0/16\" must be a strict subset", field: "except[1]"),
      block(
        "except larger than cidr", "  cidr: 10.0.0.0/16\n  except: [↓10.0.0.0/8]",
        "must be a strict subset", field: "except[0]"),
      block(
        "except of the other family", "  cidr: 10.0.0.0/8\n  except: [↓\"fd00::/64\"]",
        "(different address family)",
        field: "except[0]"),
      block(
        "except not a CIDR", "  cidr: 10.0.0.0/8\n  except: [↓10.1.0.0]",
        "invalid CIDR \"10.1.0.0\"", field: "except[0]"),
    ])
  }

  func testMissingCIDR() {
    assertRejected([
      Rejection(
        label: "ipBlock without cidr", document: fromPeer("ipBlock: ↓{except: [10.0.0.0/24]}"),
        rule: RuleID.invalidCIDR,
        message: "ipBlock needs a cidr", path: "\(peerPath).ipBlock.cidr")
    ])
  }

  func testPeerShape() {
    assertRejected([
      Rejection(
        label: "ipBlock with podSelector",
        document: fromPeer("podSelector: {}\n↓ipBlock:\n  cidr: 10.0.0.0/8"),
        rule: RuleID.invalidPeer, message: "may not specify both ipBlock and another peer",
        path: peerPath),
      Rejection(
        label: "ipBlock with namespaceSelector",
        document: fromPeer("↓ipBlock: {cidr: 10.0.0.0/8}\nnamespaceSelector: {}"),
        rule: RuleID.invalidPeer, message: "may not specify both ipBlock and another peer",
        path: peerPath),
      Rejection(
        label: "empty peer", document: fromPeer("↓{}"), rule: RuleID.invalidPeer,
        message: "must specify a peer", path: peerPath),
      Rejection(
        label: "peer with only null selectors", document: fromPeer("↓podSelector: null"),
        rule: RuleID.invalidPeer,
        message: "must specify a peer", path: peerPath),
      Rejection(
        label: "unknown peer field", document: fromPeer("podSelector: {}\n↓podSelectr: {}"),
        rule: RuleID.unknownField,
        message: "unknown field \"podSelectr\"", path: "\(peerPath).podSelectr"),
    ])
  }

  func testValidPeersAreAccepted() {
    assertAccepted([
      (
        "strict subset except",
        fromPeer("ipBlock:\n  cidr: 10.0.0.0/8\n  except: [10.1.0.0/16, 10.2.3.4/32]")
      ),
      ("host route", fromPeer("ipBlock: {cidr: 10.0.0.1/32}")),
      ("IPv6", fromPeer("ipBlock: {cidr: \"fd00::/8\", except: [\"fd00::/64\"]}")),
      ("host bits set (the API means the network)", fromPeer("ipBlock: {cidr: 10.1.2.3/8}")),
      ("both selectors", fromPeer("podSelector: {}\nnamespaceSelector: {}")),
    ])
  }
}
