import Foundation
import TestSupport
import XCTest
import YAMLBridge

@testable import PolicyModel

/// AdminNetworkPolicies and the BaselineAdminNetworkPolicy decoded from
/// events against the tree decoder: every piece the event decoder takes
/// must give the tree's admin policies (tiers, lowered peers and ports,
/// every location), and every piece the tree reports on must fall back and
/// be reported exactly as before.
extension EventDecodingTests {
  /// Everything a compile and its messages can see of an admin policy.
  static func adminText(_ p: AdminPolicy) -> String {
    let m = p.meta
    let rules = { (rules: [AdminRule]) in
      rules.map { "\($0.name) \($0.action) \(Self.ruleText($0.match))" }
    }
    return "admin \(p.kind) \(m.namespace)/\(m.name) \(m.namespaceWritten) \(m.labels.sorted { $0.key < $1.key }) "
      + "\(m.annotations.sorted { $0.key < $1.key }) \(m.owners) \(Self.locationText(m.location)) "
      + "\(p.tier) subject \(Self.selectorText(p.subject.namespaces)) \(Self.selectorText(p.subject.pods)) "
      + "in \(rules(p.ingress)) out \(rules(p.egress))"
  }

  /// An admin policy as `kubectl get -o yaml` prints it, as one List item.
  static func kubectlAdmin(
    _ name: String = "cluster-guard", priority: String? = "10", subject: String? = nil, ingress: String? = nil,
    egress: String? = nil, extraMeta: String = "", baseline: Bool = false
  ) -> String {
    let subject = subject ?? "      namespaces:\n        matchLabels:\n          team: red\n"
    let ingress =
      ingress ?? """
            - action: Allow
              from:
              - namespaces:
                  matchLabels:
                    kubernetes.io/metadata.name: monitoring
              - pods:
                  namespaceSelector:
                    matchExpressions:
                    - key: team
                      operator: In
                      values: [red, blue]
                  podSelector:
                    matchLabels:
                      app: scraper
              name: allow-monitoring
              ports:
              - portNumber:
                  port: 9090
                  protocol: TCP
              - namedPort: metrics
              - portRange:
                  end: 9200
                  protocol: UDP
                  start: 9100
            - action: \(baseline ? "Deny" : "Pass")
              from:
              - namespaces: {}
              name: rest

        """
    let egress =
      egress ?? """
            - action: Deny
              name: no-metadata
              ports:
              - portNumber: {port: 80}
              to:
              - networks:
                - 169.254.169.254/32
                - fd00:ec2::254/128
            - action: Allow
              to:
              - pods:
                  namespaceSelector: {}
                  podSelector: {matchLabels: {app: dns}}

        """
    let kind = baseline ? "BaselineAdminNetworkPolicy" : "AdminNetworkPolicy"
    return """
      - apiVersion: policy.networking.k8s.io/v1alpha1
        kind: \(kind)
        metadata:
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: |
              {"apiVersion":"policy.networking.k8s.io/v1alpha1"}
          creationTimestamp: "2026-01-01T00:00:00Z"
          generation: 2
      \(extraMeta)    name: \(name)
          resourceVersion: "4711"
          uid: 6a1f
        spec:
          egress:
      \(egress)    ingress:
      \(ingress)\(priority.map { "    priority: \($0)\n" } ?? "")    subject:
      \(subject)  status:
          conditions:
          - {message: ok, reason: SetupSucceeded, status: "True", type: Ready}

      """
  }

  static func kubectlBaseline(
    subject: String? = nil, ingress: String? = nil, egress: String? = nil, name: String = "default"
  ) -> String {
    kubectlAdmin(name, priority: nil, subject: subject, ingress: ingress, egress: egress, baseline: true)
  }

  func testKubectlAdminPoliciesAreDecodedFromEvents() {
    let text =
      Self.kubectlNamespace() + Self.kubectlAdmin() + Self.kubectlPod()
      + Self.kubectlAdmin("pass-all", priority: "0", subject: "      pods: {namespaceSelector: {}, podSelector: {}}\n")
      + Self.kubectlBaseline() + Self.kubectlPolicy()
    XCTAssertTrue(assertAgrees(text), "the fast path must take kubectl's admin policies")
    let admin = Self.events(text)!.adminPolicies
    XCTAssertEqual(admin.map(\.meta.name), ["cluster-guard", "pass-all", "default"])
    XCTAssertEqual(admin.map(\.tier), [.admin(priority: 10), .admin(priority: 0), .baseline])
    XCTAssertEqual(admin[0].ingress.map(\.action), [.allow, .pass])
    XCTAssertEqual(admin[2].ingress.map(\.action), [.allow, .deny])
    XCTAssertEqual(admin[0].ingress[0].match.peers.count, 2)
    XCTAssertEqual(
      admin[0].ingress[0].match.ports.map(\.proto), [.tcp, .tcp, .udp, .sctp, .udp], "a named port per protocol")
    XCTAssertEqual(admin[0].ingress[0].match.ports.last?.endPort, 9200)
    XCTAssertEqual(admin[0].egress[0].match.peers.count, 2, "one ipBlock per network")
    XCTAssertNotNil(admin[1].subject.pods)
    XCTAssertEqual(Self.events(text)!.policies.count, 1)
  }

  /// Shapes the API accepts: each must be taken and agree with the tree.
  func testOddValidAdminPoliciesAgree() {
    let cases: [String] = [
      Self.kubectlAdmin(ingress: "      ~\n", egress: "      []\n"),
      Self.kubectlAdmin(priority: "1000", subject: "      namespaces: ~\n"),
      Self.kubectlAdmin(subject: "      pods: {namespaceSelector: ~, podSelector: {matchLabels: {a: ~}}}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Deny, from: [{namespaces: {}}], ports: ~, name: ''}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: [{namespaces: ~}], ports: [{namedPort: dns}]}\n"),
      Self.kubectlAdmin(
        egress: "    - {action: Allow, to: [{networks: ['0.0.0.0/0', \"::/0\"]}, {namespaces: {}}],"
          + " ports: [{portRange: {start: 1, end: 65535, protocol: ~}}, {portNumber: {port: 53, protocol: SCTP}}]}\n"),
      Self.kubectlAdmin(egress: "    - action: Pass\n      to: [{networks: [10.0.0.0/8]}]\n"),
      Self.kubectlAdmin(egress: "    - action: Deny\n      to: [{networks: [10.0.0.1/8, 'fd00::1/64']}]\n"),
      Self.kubectlAdmin(extraMeta: "    namespace: \"\"\n    labels: {a: b}\n    ownerReferences: ~\n"),
      Self.kubectlAdmin(extraMeta: "    namespace:\n"),
      Self.kubectlAdmin(
        ingress:
          "    - action: Allow\n      name: \(String(repeating: "n", count: 100))\n      from: [{namespaces: {}}]\n"),
      Self.kubectlBaseline(egress: "    - {action: Deny, to: [{networks: [192.0.2.0/24]}]}\n"),
      "- {apiVersion: policy.networking.k8s.io/v1alpha1, kind: AdminNetworkPolicy, metadata: {name: f},\n"
        + "   spec: {priority: 3, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}]}]}}\n",
      "- {apiVersion: \"policy.networking.k8s.io/v1alpha1\", kind: BaselineAdminNetworkPolicy, metadata: {name: default},\n"
        + "   spec: {subject: {namespaces: {}}}}\n",
    ]
    for text in cases {
      XCTAssertTrue(assertAgrees(text), "must be taken:\n\(text)")
    }
  }

  /// Shapes the tree reports on (errors or warnings) or passes over in
  /// silence: none may be taken, and through `Loader` the errors are the
  /// tree's, to the letter.
  func testHostileAdminPoliciesFallBackWithTheTreesErrors() {
    let peer = "    - action: Allow\n      from:\n"
    let to = "    - action: Allow\n      to:\n"
    var cases: [String] = [
      Self.kubectlAdmin(priority: nil),
      Self.kubectlAdmin(priority: "~"),
      Self.kubectlAdmin(priority: "1001"),
      Self.kubectlAdmin(priority: "-1"),
      Self.kubectlAdmin(priority: "5.0"),
      Self.kubectlAdmin(priority: "\"5\""),
      Self.kubectlAdmin(subject: "      ~\n"),
      Self.kubectlAdmin(subject: "      {}\n"),
      Self.kubectlAdmin(subject: "      namespaces: {}\n      pods: {namespaceSelector: {}, podSelector: {}}\n"),
      Self.kubectlAdmin(subject: "      pods: {namespaceSelector: {}}\n"),
      Self.kubectlAdmin(subject: "      pods: ~\n"),
      Self.kubectlAdmin(subject: "      networks: [10.0.0.0/8]\n"),
      Self.kubectlAdmin(subject: "      namespaces: {matchLabels: {a: [b]}}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: []}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: ~}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: [~]}\n"),
      Self.kubectlAdmin(ingress: "    - {action: allow, from: [{namespaces: {}}]}\n"),
      Self.kubectlAdmin(ingress: "    - {action: ~, from: [{namespaces: {}}]}\n"),
      Self.kubectlAdmin(ingress: "    - {from: [{namespaces: {}}]}\n"),
      Self.kubectlAdmin(ingress: "    - ~\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: [{namespaces: {}}], to: []}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: [{networks: [10.0.0.0/8]}]}\n"),
      Self.kubectlAdmin(
        ingress: "    - {action: Allow, from: [{namespaces: {}}], name: \(String(repeating: "n", count: 101))}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: [{namespaces: {}}], ports: []}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: [{namespaces: {}}], ports: [~]}\n"),
      Self.kubectlAdmin(ingress: "    - {action: Allow, from: [{namespaces: {}}], ports: [{}]}\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{namedPort: Bad_Name}]\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{namedPort: ~}]\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{portNumber: {port: 0}}]\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{portNumber: {port: 80.0}}]\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{portNumber: {protocol: TCP}}]\n"),
      Self.kubectlAdmin(
        ingress: peer + "      - namespaces: {}\n      ports: [{portNumber: {port: 80, protocol: tcp}}]\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{portNumber: ~}]\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{portRange: {start: 90, end: 90}}]\n"),
      Self.kubectlAdmin(ingress: peer + "      - namespaces: {}\n      ports: [{portRange: {start: 90}}]\n"),
      Self.kubectlAdmin(
        ingress: peer + "      - namespaces: {}\n      ports: [{portNumber: {port: 1}, namedPort: x}]\n"),
      Self.kubectlAdmin(egress: to + "      - nodes: {matchLabels: {a: b}}\n"),
      Self.kubectlAdmin(egress: to + "      - domainNames: [example.com]\n"),
      Self.kubectlAdmin(egress: to + "      - networks: ~\n"),
      Self.kubectlAdmin(egress: to + "      - networks: []\n"),
      Self.kubectlAdmin(egress: to + "      - networks: [~]\n"),
      Self.kubectlAdmin(egress: to + "      - networks: [10.0.0.0/8]\n      ports: [{namedPort: http}]\n"),
      Self.kubectlAdmin(
        egress: to + "      - networks: [\(Array(repeating: "10.0.0.0/8", count: 26).joined(separator: ", "))]\n"),
      Self.kubectlAdmin(egress: to + "      - {namespaces: {}, namespaces: {}}\n"),
      Self.kubectlAdmin(egress: to + "      - &p {namespaces: {}}\n      - *p\n"),
      Self.kubectlAdmin(egress: to + "      - namespaces: !!map {}\n"),
      Self.kubectlAdmin(egress: to + "      - <<: {namespaces: {}}\n"),
      Self.kubectlAdmin(egress: to + "      - namespaces: {kind: x}\n"),
      Self.kubectlAdmin("Bad_Name"),
      Self.kubectlAdmin("~"),
      Self.kubectlAdmin(extraMeta: "    namespace: team-a\n"),
      Self.kubectlAdmin(extraMeta: "    namespace: ~\n"),
      Self.kubectlAdmin(extraMeta: "    labels: {a: \"bad value!\"}\n"),
      Self.kubectlAdmin(extraMeta: "    ownerReferences: [{kind: X, name: a}]\n"),
      Self.kubectlAdmin(extraMeta: "    other: 1\n"),
      Self.kubectlBaseline(name: "other"),
      Self.kubectlBaseline(ingress: "    - {action: Pass, from: [{namespaces: {}}]}\n"),
      Self.kubectlAdmin(baseline: true),
      Self.kubectlAdmin().replacingOccurrences(of: "  spec:\n", with: "  extra: 1\n  spec:\n"),
      Self.kubectlAdmin().replacingOccurrences(of: "    subject:\n", with: "    extra: 1\n    subject:\n"),
      "- apiVersion: policy.networking.k8s.io/v1alpha1\n  kind: AdminNetworkPolicy\n  metadata: {name: a}\n",
      "- apiVersion: policy.networking.k8s.io/v1alpha1\n  kind: AdminNetworkPolicy\n  metadata: {name: a}\n  spec: ~\n",
      "- apiVersion: policy.networking.k8s.io/v1alpha1\n  kind: AdminNetworkPolicy\n  spec: {}\n",
    ]
    let tooMany = (0...100).map { _ in "    - {action: Allow, from: [{namespaces: {}}]}\n" }.joined()
    cases.append(Self.kubectlAdmin(ingress: tooMany))
    var tree = Self.options
    tree.eventDecoding = false
    let padding = (0..<350).map { Self.kubectlNamespace("ns-\($0)") }.joined()
    for text in cases {
      XCTAssertNil(Self.events(text), "must fall back:\n\(text)")
      // Padded past 64 KiB with valid items, so that the Loader splits the list in pieces.
      let list = "apiVersion: v1\nitems:\n" + padding + text + Self.kubectlAdmin("after") + "kind: List\nmetadata: {}\n"
      let expected = Self.summary(Load.inventory([("in.yaml", list)], options: tree))
      XCTAssertEqual(Self.summary(Load.inventory([("in.yaml", list)], options: Self.options)), expected, text)
    }
  }

  /// Random admin policies, mutated field by field: every piece the event
  /// decoder takes decodes to the tree's admin policies.
  func testRandomAdminPoliciesAgree() {
    var rng = SeededGenerator(seed: 2019)
    func pick(_ list: [String]) -> String {
      Int.random(in: 0..<20, using: &rng) < 17 ? list[0] : list.randomElement(using: &rng)!
    }
    let selectors = ["{matchLabels: {app: web}}", "{}", "~", "[]", "{matchLabels: {a: 5}}", "{matchExpressions: [~]}"]
    let cidrs = ["10.0.0.0/8", "fd00::/8", "10.0.0.1/8", "~", "x", "[1]"]
    let actions = ["Allow", "Deny", "Pass", "allow", "~", "[Allow]"]
    let numbers = ["80", "0", "65536", "\"80\"", "~", "8.0", "http"]
    let protos = ["TCP", "UDP", "SCTP", "~", "tcp", "5"]
    var taken = 0
    for _ in 0..<500 {
      var text = ""
      for i in 0..<Int.random(in: 1...3, using: &rng) {
        func peer(egress: Bool) -> String {
          switch Int.random(in: 0..<(egress ? 5 : 4), using: &rng) {
          case 0: return "{namespaces: \(pick(selectors))}"
          case 1: return "{pods: {namespaceSelector: \(pick(selectors)), podSelector: \(pick(selectors))}}"
          case 2, 4: return "{networks: [\(pick(cidrs)), \(pick(cidrs))]}"
          default: return pick(["{namespaces: {}}", "{}", "~", "{nodes: {}}", "{pods: {podSelector: {}}}"])
          }
        }
        func port() -> String {
          switch Int.random(in: 0..<3, using: &rng) {
          case 0: return "{portNumber: {port: \(pick(numbers)), protocol: \(pick(protos))}}"
          case 1:
            return
              "{portRange: {start: \(pick(numbers)), end: \(pick(["9000", "80", "~"])), protocol: \(pick(protos))}}"
          default: return "{namedPort: \(pick(["http", "Bad_", "~", "80"]))}"
          }
        }
        let ports = pick(["[\(port()), \(port())]", "~", "[]", "[~]"])
        let baseline = Int.random(in: 0..<4, using: &rng) == 0
        let ingress = "    - {action: \(pick(actions)), from: [\(peer(egress: false))], ports: \(ports)}\n"
        let egress = "    - {action: \(pick(actions)), to: [\(peer(egress: true)), \(peer(egress: true))]}\n"
        let subject = pick([
          "      namespaces: \(pick(selectors))\n",
          "      pods: {namespaceSelector: {}, podSelector: \(pick(selectors))}\n",
          "      ~\n",
        ])
        let name = baseline ? pick(["default", "other"]) : "p\(i)"
        text += Self.kubectlAdmin(
          name, priority: baseline ? nil : pick(["\(i)", "1001", "~"]), subject: subject, ingress: ingress,
          egress: egress, extraMeta: pick(["", "    namespace: x\n", "    labels: {a: b}\n"]), baseline: baseline)
      }
      if assertAgrees(text) { taken += 1 }
    }
    XCTAssertGreaterThan(taken, 30, "random valid admin policies must be taken by the event decoder")
  }

  /// Through `Loader`, in YAML and JSON, on one thread and four: the admin
  /// policies read from events are the tree's, and the pieces are taken.
  func testAdminPoliciesAgreeThroughLoader() {
    let yaml =
      "apiVersion: v1\nitems:\n"
      + (0..<80).map { Self.kubectlAdmin("anp-\($0)", priority: "\($0 * 7 % 1001)") }.joined()
      + Self.kubectlBaseline() + "kind: List\nmetadata: {}\n"
    let admins = (0..<40).map { i in
      ParallelLoadTests.jsonObject([
        #""apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy","#,
        #""metadata": {"name": "anp-\#(i)"},"#,
        #""spec": {"priority": \#(i), "subject": {"namespaces": {"matchLabels": {"team": "t\#(i % 3)"}}}, "#
          + #""egress": [{"action": "Deny", "to": [{"networks": ["10.\#(i).0.0/16"]}], "#
          + #""ports": [{"portRange": {"start": 1000, "end": 2000}}, {"portNumber": {"port": 53, "protocol": "UDP"}}]}]}"#,
      ])
    }
    let json = ParallelLoadTests.jsonList(ParallelLoadTests.jsonPods + admins)
    for (name, text) in [("list.yaml", yaml), ("list.json", json)] {
      var tree = Self.options
      tree.eventDecoding = false
      let expected = Self.summary(Load.inventory([(name, text)], options: tree))
      XCTAssertEqual(Load.inventory([(name, text)], options: tree).adminPolicies.count, name == "list.yaml" ? 81 : 40)
      for jobs in [1, 4] {
        var options = Self.options
        options.jobs = jobs
        XCTAssertEqual(Self.summary(Load.inventory([(name, text)], options: options)), expected, "\(name) jobs \(jobs)")
      }
      let bytes = Array(text.utf8)
      guard let pieces = bytes.withUnsafeBufferPointer({ Chunker.split($0, pieces: 4) })?.pieces else {
        return XCTFail("\(name): the list must be split")
      }
      for piece in pieces {
        var input = Array(bytes[piece.range])
        if let bracket = piece.bracket {
          input[bracket - piece.range.lowerBound] = UInt8(ascii: "[")
          input.append(UInt8(ascii: "]"))
        }
        let taken = input.withUnsafeBufferPointer {
          EventDecoder.decodeItems($0, firstLine: piece.firstLine, file: "f", options: Self.options) != nil
        }
        XCTAssertTrue(taken, "\(name): every piece is read from events")
      }
    }
  }
}
