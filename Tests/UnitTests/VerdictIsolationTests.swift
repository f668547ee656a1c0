import PolicyModel
import XCTest

/// Isolation and the combined verdict: the "Who is selected" and "The
/// verdict" sections of SEMANTICS.md.
final class VerdictIsolationTests: XCTestCase {
  let pods = [
    Manifest.pod("a", "server", labels: ["app": "server"], ip: "10.0.0.1"),
    Manifest.pod("a", "client", labels: ["app": "client"], ip: "10.0.0.2"),
    Manifest.pod("b", "client", labels: ["app": "client"], ip: "10.0.1.2"),
  ]

  func testNoPolicyAllowsEverything() {
    let world = World(pods)
    world.check([
      .allow("a/client", "a/server"), .allow("203.0.113.9", "a/server"),
      .allow("a/server", "203.0.113.9", 1, .sctp),
    ])
    XCTAssertEqual(world.explain("a/client", "a/server").ingress, .notIsolated)
  }

  func testEmptyIngressListDeniesEverythingIn() {
    for spec in [
      "podSelector: {}\ningress: []", "podSelector: {}\npolicyTypes: [Ingress]", "podSelector: {}",
    ] {
      World(pods + [Manifest.policy("a", "deny", spec)]).check(
        [
          .deny("a/client", "a/server"), .deny("b/client", "a/server"),
          .deny("203.0.113.9", "a/server"), .allow("a/server", "b/client"),
        ],
        spec)
    }
  }

  func testEmptyRuleAllowsEverythingIn() {
    World(pods + [Manifest.policy("a", "all", "podSelector: {}\ningress:\n- {}")]).check([
      .allow("b/client", "a/server", 1), .allow("203.0.113.9", "a/server", 65535, .udp),
    ])
  }

  func testDeniedVerdictNamesTheIsolatingPolicies() {
    let world = World(pods + [Manifest.policy("a", "deny", "podSelector: {}")])
    let verdict = world.explain("b/client", "a/server")
    XCTAssertEqual(verdict.egress, .notIsolated)
    XCTAssertEqual(
      verdict.ingress,
      .denied(isolatedBy: [ObjectRef(kind: "NetworkPolicy", namespace: "a", name: "deny")]))
  }

  func testPoliciesSelectOnlyInTheirOwnNamespace() {
    World(pods + [Manifest.policy("b", "deny", "podSelector: {}")]).check([
      .allow("a/client", "a/server"), .deny("a/client", "b/client"),
    ])
  }

  func testPoliciesAreAdditive() {
    let world = World(
      pods + [
        Manifest.policy(
          "a", "web",
          "podSelector: {matchLabels: {app: server}}\ningress:\n- from: [{podSelector: {}}]\n  ports: [{port: 80}]"
        ),
        Manifest.policy(
          "a", "tls",
          "podSelector: {matchLabels: {app: server}}\ningress:\n- from: [{namespaceSelector: {}}]\n  ports: [{port: 443}]"
        ),
      ])
    world.check([
      .allow("a/client", "a/server", 80), .allow("a/client", "a/server", 443),
      .allow("b/client", "a/server", 443),
      .deny("b/client", "a/server", 80), .deny("a/client", "a/server", 22),
    ])
    guard case .allowed(let rules) = world.explain("a/client", "a/server", 443).ingress else {
      return XCTFail("not allowed")
    }
    XCTAssertEqual(rules.map(\.description), ["a/tls ingress[0] from[0] ports[0]"])
  }

  func testEgressAndIngressMustBothAllow() {
    let egressOnly = Manifest.policy(
      "b", "out",
      "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to: [{namespaceSelector: {}}]\n  ports: [{port: 80}]"
    )
    let ingressOnly = Manifest.policy(
      "a", "in", "podSelector: {}\ningress:\n- from: [{podSelector: {}}]")
    let world = World(pods + [egressOnly, ingressOnly])
    world.check([
      .deny("b/client", "a/server", 80),  // egress allows, ingress does not
      .allow("a/client", "a/server", 80),  // neither side objects
      .deny("b/client", "203.0.113.9", 80),  // egress allows only pods
    ])
    let both = World(
      pods + [egressOnly, Manifest.policy("a", "in", "podSelector: {}\ningress:\n- {}")])
    both.check([.allow("b/client", "a/server", 80), .deny("b/client", "a/server", 81)])
  }

  func testAPodTalkingToItselfIsNeverBlocked() {
    World(pods + [Manifest.policy("a", "deny", "podSelector: {}\npolicyTypes: [Ingress, Egress]")])
      .check([
        .allow("a/server", "a/server", 80), .allow("a/server", "a/server", 5, .udp),
        .deny("a/server", "a/client"),
      ])
  }

  func testPodsThatTakeNoPartAreNeitherTargetsNorPeers() {
    let world = World([
      Manifest.pod("a", "server", labels: ["app": "server"], ip: "10.0.0.1"),
      Manifest.pod("a", "host", labels: ["app": "client"], ip: "192.168.0.5", hostNetwork: true),
      Manifest.pod("a", "pending", labels: ["app": "client"], ip: nil, phase: "Pending"),
      Manifest.pod("a", "done", labels: ["app": "client"], ip: "10.0.0.7", phase: "Succeeded"),
      Manifest.pod("a", "crashed", labels: ["app": "client"], ip: "10.0.0.8", phase: "Failed"),
      Manifest.pod("a", "client", labels: ["app": "client"], ip: "10.0.0.2"),
      Manifest.policy(
        "a", "p", "podSelector: {}\ningress:\n- from: [{podSelector: {matchLabels: {app: client}}}]"
      ),
    ])
    XCTAssertEqual(world.cluster.pods.map(\.meta.name), ["client", "server"])
    let policy = world.cluster.policies[0]
    XCTAssertEqual(
      world.cluster.targets(of: policy).map { world.cluster.pods[$0].meta.name },
      ["client", "server"])
    XCTAssertEqual(
      world.cluster.peerPods(
        pods: LabelSelector(matchLabels: ["app": "client"]), namespaces: nil, policyNamespace: "a"
      )
      .map { world.cluster.pods[$0].meta.name }, ["client"])
    world.check([
      .allow("a/client", "a/server"), .deny("a/done", "a/server"), .deny("a/crashed", "a/server"),
      .deny("a/host", "a/server"),
    ])
    XCTAssertEqual(
      world.explain("a/client", "a/done").ingress, .notApplicable, "a finished pod is not a target")
  }
}
