import PolicyAnalysis
import PolicyModel
import XCTest

/// AdminNetworkPolicy and BaselineAdminNetworkPolicy: decoding, validation
/// and the tiers of the reference verdict (sig-network network-policy-api,
/// v1alpha1): admin rules by priority then order (Allow and Deny final, Pass
/// on to the NetworkPolicies), then NetworkPolicies, then the baseline for
/// pods no NetworkPolicy isolates, then allow.
final class AdminTierTests: XCTestCase {
  static func anp(_ name: String, priority: Int, _ spec: String) -> String {
    admin("AdminNetworkPolicy", name, "priority: \(priority)\n" + spec)
  }

  static func banp(_ spec: String, name: String = "default") -> String {
    admin("BaselineAdminNetworkPolicy", name, spec)
  }

  static func admin(_ kind: String, _ name: String, _ spec: String) -> String {
    var text = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: \(kind)\nmetadata:\n  name: \(name)\nspec:\n"
    for line in spec.split(separator: "\n") { text += "  \(line)\n" }
    return text
  }

  let base = [
    Manifest.namespace("a", labels: ["team": "red"]), Manifest.namespace("b", labels: ["team": "blue"]),
    Manifest.pod("a", "server", labels: ["app": "server"], ip: "10.0.0.1", ports: [.init(8080, "http", "TCP")]),
    Manifest.pod("a", "client", labels: ["app": "client"], ip: "10.0.0.2"),
    Manifest.pod("b", "client", labels: ["app": "client"], ip: "10.0.1.2"),
  ]

  func testDenyIsFinalOverANetworkPolicyAllow() {
    World(
      base + [
        Manifest.policy("a", "allow-all", "podSelector: {}\ningress:\n- {}"),
        Self.anp(
          "deny-b", priority: 5,
          "subject: {namespaces: {matchLabels: {team: red}}}\ningress:\n- {action: Deny, from: [{namespaces: {matchLabels: {team: blue}}}]}"
        ),
      ]
    ).check([.deny("b/client", "a/server"), .allow("a/client", "a/server"), .allow("203.0.113.9", "a/server")])
  }

  func testAllowIsFinalOverANetworkPolicyDeny() {
    let world = World(
      base + [
        Manifest.policy("a", "deny-all", "podSelector: {}"),
        Self.anp(
          "allow-b", priority: 5,
          "subject: {namespaces: {}}\ningress:\n- {action: Allow, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}}], ports: [{portNumber: {port: 80}}]}"
        ),
      ])
    world.check([
      .allow("b/client", "a/server"), .allow("a/client", "a/server"), .deny("b/client", "a/server", 81),
      .deny("b/client", "a/server", 80, .udp),
    ])
    guard case .admin(let rule) = world.explain("b/client", "a/server").ingress else {
      return XCTFail("expected the admin tier to decide")
    }
    XCTAssertEqual(rule.description, "AdminNetworkPolicy allow-b (priority 5) ingress[0]: Allow")
  }

  func testLowerPriorityNumberWinsWhateverTheNames() {
    let deny = "subject: {namespaces: {}}\ningress:\n- {action: Deny, from: [{namespaces: {}}]}"
    let allow = "subject: {namespaces: {}}\ningress:\n- {action: Allow, from: [{namespaces: {}}]}"
    World(base + [Self.anp("a-deny", priority: 20, deny), Self.anp("z-allow", priority: 10, allow)]).check([
      .allow("b/client", "a/server")
    ])
    World(base + [Self.anp("a-deny", priority: 10, deny), Self.anp("z-allow", priority: 20, allow)]).check([
      .deny("b/client", "a/server")
    ])
  }

  func testFirstMatchingRuleWinsInsideOnePolicy() {
    let spec = """
      subject: {namespaces: {}}
      egress:
      - {name: dns-ok, action: Allow, to: [{networks: [192.0.2.0/24]}], ports: [{portRange: {protocol: UDP, start: 53, end: 54}}]}
      - {name: rest-no, action: Deny, to: [{networks: [192.0.2.0/24]}]}
      """
    let world = World(base + [Self.anp("egress", priority: 1, spec)])
    world.check([
      .allow("a/client", "192.0.2.7", 53, .udp), .allow("a/client", "192.0.2.7", 54, .udp),
      .deny("a/client", "192.0.2.7", 55, .udp), .deny("a/client", "192.0.2.7", 53, .tcp),
      .allow("a/client", "198.51.100.1", 53, .tcp),
    ])
  }

  func testPassHandsToTheNetworkPolicyThenToTheBaseline() {
    let pass = Self.anp(
      "pass-red", priority: 1,
      "subject: {namespaces: {}}\ningress:\n- {action: Pass, from: [{namespaces: {matchLabels: {team: red}}}]}\n- {action: Allow, from: [{namespaces: {}}]}"
    )
    let baseline = Self.banp("subject: {namespaces: {}}\ningress:\n- {action: Deny, from: [{namespaces: {}}]}")
    // Passed, no NetworkPolicy: the baseline denies; not passed: the later Allow.
    World(base + [pass, baseline]).check([.deny("a/client", "a/server"), .allow("b/client", "a/server")])
    // Passed to a NetworkPolicy that allows: the baseline does not apply.
    let np = Manifest.policy(
      "a", "from-clients", "podSelector: {}\ningress:\n- from: [{podSelector: {matchLabels: {app: client}}}]")
    let world = World(base + [pass, baseline, np])
    world.check([.allow("a/client", "a/server"), .allow("b/client", "a/server")])
    guard case .allowed = world.explain("a/client", "a/server").ingress else {
      return XCTFail("expected the NetworkPolicy to decide after the Pass")
    }
  }

  func testBaselineOnlyForPodsNoNetworkPolicyIsolates() {
    let baseline = Self.banp(
      "subject: {namespaces: {}}\ningress:\n- {action: Allow, from: [{namespaces: {matchLabels: {team: blue}}}]}\n- {action: Deny, from: [{namespaces: {}}]}"
    )
    World(base + [baseline]).check([
      .allow("b/client", "a/server"), .deny("a/client", "a/server"), .allow("203.0.113.9", "a/server"),
    ])
    let np = Manifest.policy("a", "from-a", "podSelector: {}\ningress:\n- from: [{podSelector: {}}]")
    World(base + [baseline, np]).check([.deny("b/client", "a/server"), .allow("a/client", "a/server")])
  }

  func testNamedPortResolvesOnTheDestinationWhateverTheProtocol() {
    let spec =
      "subject: {namespaces: {}}\ningress:\n- {action: Deny, from: [{namespaces: {}}], ports: [{namedPort: http}]}"
    World(base + [Self.anp("no-http", priority: 3, spec)]).check([
      .deny("b/client", "a/server", 8080), .allow("b/client", "a/server", 80),
      .allow("b/client", "a/server", 8080, .udp), .allow("a/server", "b/client", 8080),
    ])
  }

  func testSubjectByPodsNarrowsToThoseLabels() {
    let spec =
      "subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: server}}}}\negress:\n- {action: Deny, to: [{namespaces: {}}]}"
    World(base + [Self.anp("servers-quiet", priority: 3, spec)]).check([
      .deny("a/server", "b/client"), .allow("a/client", "b/client"), .allow("a/server", "203.0.113.9"),
    ])
  }

  func testDecodedShape() {
    let inventory = Load.inventory([
      Self.anp(
        "shape", priority: 7,
        "subject: {namespaces: {}}\negress:\n- {name: tunnel, action: Pass, to: [{namespaces: {}}, {pods: {namespaceSelector: {}, podSelector: {}}}], ports: [{namedPort: web}, {portNumber: {protocol: SCTP, port: 9}}]}"
      ),
      Self.banp("subject: {namespaces: {}}"),
    ])
    XCTAssertEqual(inventory.errors.map(\.formatted), [])
    XCTAssertEqual(inventory.adminPolicies.map(\.kind), ["AdminNetworkPolicy", "BaselineAdminNetworkPolicy"])
    guard let rule = inventory.adminPolicies.first?.egress.first else { return XCTFail("no rule decoded") }
    XCTAssertEqual(rule.action, .pass)
    XCTAssertEqual(rule.match.peers.count, 2)
    XCTAssertEqual(rule.match.ports.map(\.proto), [.tcp, .udp, .sctp, .sctp])
    XCTAssertEqual(inventory.adminPolicies[0].priority, 7)
  }

  func testRejections() {
    func anp(_ spec: String) -> String { Self.admin("AdminNetworkPolicy", "p", spec) }
    let subject = "subject: {namespaces: {}}\n"
    assertRejected([
      Rejection(
        label: "priority too high", document: anp("priority: ↓1001\n" + subject),
        rule: RuleID.invalidAdminPolicy, message: "1001 is out of range 0-1000", path: "spec.priority"),
      Rejection(
        label: "no priority", document: anp("↓subject: {namespaces: {}}"), rule: RuleID.missingField,
        message: "spec.priority is required", path: "spec.priority"),
      Rejection(
        label: "unknown action",
        document: anp("priority: 1\n" + subject + "ingress: [{action: ↓Block, from: [{namespaces: {}}]}]"),
        rule: RuleID.invalidAdminPolicy, message: "unsupported action \"Block\"", path: "spec.ingress[0].action"),
      Rejection(
        label: "no peers", document: anp("priority: 1\n" + subject + "ingress: [{action: Deny, from: ↓[]}]"),
        rule: RuleID.missingField, message: "from is required", path: "spec.ingress[0].from"),
      Rejection(
        label: "two subjects",
        document: anp("priority: 1\nsubject: ↓{namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}"),
        rule: RuleID.invalidAdminPolicy, message: "exactly one of namespaces, pods may be set", path: "spec.subject"),
      Rejection(
        label: "networks in ingress",
        document: anp("priority: 1\n" + subject + "ingress: [{action: Deny, from: [{↓networks: [10.0.0.0/8]}]}]"),
        rule: RuleID.unknownField, message: "unknown field \"networks\"", path: "spec.ingress[0].from[0].networks"),
      Rejection(
        label: "nodes peer",
        document: anp("priority: 1\n" + subject + "egress: [{action: Deny, to: [{↓nodes: {}}]}]"),
        rule: RuleID.invalidAdminPolicy, message: "nodes peers are not supported", path: "spec.egress[0].to[0].nodes"),
      Rejection(
        label: "bad CIDR",
        document: anp("priority: 1\n" + subject + "egress: [{action: Deny, to: [{networks: [↓10.0.0.0/33]}]}]"),
        rule: RuleID.invalidCIDR, message: "invalid CIDR \"10.0.0.0/33\"", path: "spec.egress[0].to[0].networks[0]"),
      Rejection(
        label: "range backwards",
        document: anp(
          "priority: 1\n" + subject
            + "egress: [{action: Deny, to: [{namespaces: {}}], ports: [{portRange: {start: 90, end: ↓80}}]}]"),
        rule: RuleID.invalidPort, message: "start 90 must be less than end 80",
        path: "spec.egress[0].ports[0].portRange.end"),
      Rejection(
        label: "named port with networks",
        document: anp(
          "priority: 1\n" + subject
            + "egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}], ports: ↓[{namedPort: web}]}]"),
        rule: RuleID.invalidAdminPolicy, message: "networks peers cannot be combined with namedPort",
        path: "spec.egress[0].ports"),
      Rejection(
        label: "two port kinds",
        document: anp(
          "priority: 1\n" + subject
            + "egress: [{action: Deny, to: [{namespaces: {}}], ports: [↓{namedPort: web, portNumber: {port: 80}}]}]"),
        rule: RuleID.invalidPort, message: "exactly one of portNumber, namedPort, portRange",
        path: "spec.egress[0].ports[0]"),
      Rejection(
        label: "baseline with another name",
        document: Self.admin("BaselineAdminNetworkPolicy", "↓other", "subject: {namespaces: {}}"),
        rule: RuleID.invalidAdminPolicy, message: "must be named \"default\"", path: "metadata.name"),
      Rejection(
        label: "pass in the baseline",
        document: Self.banp(subject + "egress: [{action: ↓Pass, to: [{namespaces: {}}]}]"),
        rule: RuleID.invalidAdminPolicy, message: "must be Allow or Deny", path: "spec.egress[0].action"),
    ])
  }
}
