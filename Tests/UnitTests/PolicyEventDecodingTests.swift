import Foundation
import TestSupport
import XCTest
import YAMLBridge

@testable import PolicyModel

/// NetworkPolicies decoded from events against the tree decoder: every
/// piece the event decoder takes must give the tree's policies, defaults
/// and locations included, and no piece the tree reports on may be taken.
extension EventDecodingTests {
  static func locationText(_ l: SourceLocation) -> String { "\(l.file):\(l.span.start)-\(l.span.end)" }

  static func selectorText(_ s: LabelSelector?) -> String {
    guard let s else { return "-" }
    return "{\(s.matchLabels.sorted { $0.key < $1.key }) \(s.expressions.map { "\($0.key) \($0.op) \($0.values)" })}"
  }

  /// A rule's peers and ports, every location included.
  static func ruleText(_ r: PolicyRule) -> String {
    let loc = locationText
    let peers = r.peers.map { peer -> String in
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        return "sel(\(selectorText(pods)) \(selectorText(namespaces))) \(loc(peer.location))"
      case .ipBlock(let block): return "ip(\(block.cidr) \(block.except)) \(loc(peer.location))"
      }
    }
    let ports = r.ports.map {
      "\($0.proto) \(String(describing: $0.port)) \(String(describing: $0.endPort)) \(loc($0.location))"
    }
    return "rule \(loc(r.location)) peers \(peers) ports \(ports)"
  }

  /// Everything a compile and its messages can see of a policy.
  static func policyText(_ p: NetworkPolicy) -> String {
    let loc = locationText
    let selector = selectorText
    let rule = ruleText
    func labels(_ m: [String: String]) -> String { "\(m.sorted { $0.key < $1.key })" }
    let m = p.meta
    return "netpol \(m.namespace)/\(m.name) \(m.namespaceWritten) \(labels(m.labels)) \(labels(m.annotations)) "
      + "\(m.owners) \(loc(m.location)) select \(selector(p.podSelector)) types \(p.policyTypes) "
      + "\(p.policyTypesWritten) in \(p.ingress.map(rule)) out \(p.egress.map(rule))"
  }

  /// A NetworkPolicy as `kubectl get -o yaml` prints it, as one List item.
  static func kubectlPolicy(
    _ ns: String = "team-a", _ name: String = "allow-web", spec: String? = nil, extraMeta: String = ""
  ) -> String {
    let spec =
      spec ?? """
            ingress:
            - from:
              - podSelector:
                  matchLabels:
                    app: api
              - namespaceSelector:
                  matchLabels:
                    team: a
                podSelector:
                  matchExpressions:
                  - key: tier
                    operator: In
                    values: [web, "1"]
              - ipBlock:
                  cidr: 172.17.0.0/16
                  except:
                  - 172.17.1.0/24
              ports:
              - port: 8080
                protocol: TCP
              - endPort: 31100
                port: 31000
              - port: http
                protocol: UDP
            podSelector:
              matchLabels:
                app: web
            policyTypes:
            - Ingress

        """
    return """
      - apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: |
              {"apiVersion":"networking.k8s.io/v1"}
          creationTimestamp: "2024-11-27T02:41:38Z"
          generation: 1
      \(extraMeta)    managedFields:
          - apiVersion: networking.k8s.io/v1
            fieldsType: FieldsV1
            fieldsV1:
              f:spec:
                f:ingress: {}
            manager: helm
          name: \(name)
          namespace: \(ns)
          uid: 30c2dc48
        spec:
      \(spec)
      """
  }

  func testKubectlPoliciesAreDecodedFromEvents() {
    let text =
      Self.kubectlNamespace() + Self.kubectlPolicy() + Self.kubectlPod()
      + Self.kubectlPolicy("team-b", "deny", spec: "    podSelector: {}\n    policyTypes: [Ingress, Egress]\n")
    XCTAssertTrue(assertAgrees(text), "the fast path must take kubectl's policies")
    let policies = Self.events(text)!.policies
    XCTAssertEqual(policies.map(\.meta.name), ["allow-web", "deny"])
    XCTAssertEqual(policies[0].ingress.first?.peers.count, 3)
    XCTAssertEqual(policies[0].ingress.first?.ports.map(\.endPort), [nil, 31100, nil])
    XCTAssertEqual(policies[0].ingress.first?.ports.map(\.proto), [.tcp, .tcp, .udp], "protocol defaults to TCP")
    XCTAssertEqual(policies[1].policyTypes, [.ingress, .egress])
  }

  /// Shapes the API server accepts and defaults: each must be taken and
  /// agree with the tree, defaults (policyTypes, TCP) and locations included.
  func testOddValidPoliciesAgree() {
    let specs: [String] = [
      "    podSelector: {}\n",
      "    podSelector: {}\n    ingress: []\n",
      "    podSelector: {}\n    ingress: [{}]\n",
      "    podSelector: {}\n    ingress:\n    - {}\n    - null\n    -\n",
      "    podSelector: {}\n    egress:\n    - {}\n",
      "    podSelector: {}\n    egress: []\n",
      "    podSelector: {}\n    policyTypes: []\n    egress: [{to: [{podSelector: {}}]}]\n",
      "    podSelector: {}\n    policyTypes: [Egress, ~]\n",
      "    podSelector: {}\n    policyTypes: ~\n    egress: [{}]\n",
      "    podSelector:\n    ingress:\n    - from:\n      - podSelector: {}\n        namespaceSelector: ~\n",
      "    podSelector: {matchLabels: {app: ~}}\n    ingress: [{from: [{namespaceSelector: {}}]}]\n",
      "    ingress: [{ports: [{port: 80, endPort: 80}, {endPort: 65535, port: 1, protocol: SCTP}, null, {}]}]\n",
      "    ingress: [{ports: [{port: dns-tcp}, {port: ~, protocol: ~}, {protocol: UDP}]}]\n",
      "    egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}}]}]\n",
      "    egress: [{to: [{ipBlock: {cidr: 'fd00::/8', except: []}}, {ipBlock: {cidr: 0.0.0.0/0}}]}]\n",
      "    podSelector:\n      matchExpressions:\n      - {key: a, operator: Exists}\n      - {key: b, operator: NotIn, values: [x]}\n"
        + "      - {key: c, operator: DoesNotExist, values: []}\n",
      "    {podSelector: {}, \"ingress\": [{'from': [{podSelector: {matchLabels: {\"k/x\": \"\"}}}]}]}\n",
      "    ~\n",
      "    {}\n",
    ]
    for spec in specs {
      XCTAssertTrue(assertAgrees(Self.kubectlPolicy(spec: spec)), "must be taken:\n\(spec)")
    }
    XCTAssertTrue(assertAgrees(Self.kubectlPolicy("\"\"", "a.b")), "an empty namespace defaults")
    XCTAssertTrue(assertAgrees(Self.kubectlPolicy(extraMeta: "    labels: {a: b}\n    ownerReferences: ~\n")))
    let noSpec = "- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: x}\n  status: {}\n"
    XCTAssertTrue(assertAgrees(noSpec), "a policy without spec")
    let flow =
      "- {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: flow, namespace: ns},\n"
      + "   spec: {podSelector: {}, egress: [{to: [{podSelector: {}}], ports: [{port: 53, protocol: UDP}]}]}}\n"
    XCTAssertTrue(assertAgrees(flow), "flow style")
    XCTAssertEqual(Self.events(flow)?.policies.first?.policyTypes, [.ingress, .egress], "egress rules add Egress")
  }

  /// Shapes the tree reports on or treats specially: each must fall back
  /// (or, if taken, agree with a tree that reports nothing).
  func testHostilePoliciesAgreeOrFallBack() {
    let specs: [String] = [
      "    podSelector: {}\n    ingress: [{from: [{}]}]\n",
      "    podSelector: {}\n    ingress: [{from: [null]}]\n",
      "    podSelector: {}\n    ingress: [{to: []}]\n",
      "    podSelector: {}\n    ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]\n",
      "    podSelector: {}\n    ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]\n",
      "    podSelector: {}\n    ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [~]}}]}]\n",
      "    podSelector: {}\n    ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [fd00::/64]}}]}]\n",
      "    podSelector: {}\n    ingress: [{from: [{ipBlock: {cidr: 10.0.0.1/8}}]}]\n",
      "    podSelector: {}\n    ingress: [{from: [{ipBlock: {cidr: \"\"}}]}]\n",
      "    podSelector: {}\n    ingress: [{from: [{ipBlock: {except: [10.0.0.0/9]}}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: 0}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: \"80\"}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: 80.0}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: 99999999999999999999}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: 80, endPort: 79}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: http, endPort: 90}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{endPort: 90}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: 80, protocol: tcp}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: 80, protocol: 6}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: Bad_Name}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: 80, port: 81}]}]\n",
      "    podSelector: {}\n    ingress: [{ports: 80}]\n",
      "    podSelector: {}\n    ingress: {}\n",
      "    podSelector: {}\n    ingress: [5]\n",
      "    podSelector: {}\n    policyTypes: [Ingress, Egress, Ingress]\n",
      "    podSelector: {}\n    policyTypes: [ingress]\n",
      "    podSelector: {}\n    policyTypes: [[Ingress]]\n",
      "    podSelector: {}\n    extra: 1\n",
      "    podSelector: []\n",
      "    podSelector: {matchLabels: {app: [x]}}\n",
      "    podSelector: {matchLabels: {\"bad key\": x}}\n",
      "    podSelector: {matchLabels: {app: 5}}\n",
      "    podSelector: {matchLabels: {kind: Pod}}\n",
      "    podSelector: {matchExpressions: [null]}\n",
      "    podSelector: {matchExpressions: [{key: a, operator: In}]}\n",
      "    podSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}\n",
      "    podSelector: {matchExpressions: [{key: a, operator: in, values: [x]}]}\n",
      "    podSelector: {matchExpressions: [{operator: Exists}]}\n",
      "    podSelector: {matchExpressions: [{key: a, operator: In, values: [~]}]}\n",
      "    podSelector: {matchExpressions: [{key: a, operator: In, values: [\"bad value!\"]}]}\n",
      "    podSelector: {kind: x}\n",
      "    podSelector: &s {}\n    ingress: [{from: [{podSelector: *s}]}]\n",
      "    podSelector: !!map {}\n",
      "    podSelector: {}\n    ingress: [{ports: [{port: !!int \"80\"}]}]\n",
      "    podSelector: {}\n    ingress: [{<<: {ports: []}}]\n",
      "    podSelector: {}\n    ingress: [{ports: [], ports: []}]\n",
      "    5\n",
      "    [a]\n",
    ]
    var cases = specs.map { Self.kubectlPolicy(spec: $0) }
    cases += [
      Self.kubectlPolicy("Bad_NS"),
      Self.kubectlPolicy("ns", "Bad_Name"),
      Self.kubectlPolicy("ns", "\"\""),
      Self.kubectlPolicy("ns", "~"),
      Self.kubectlPolicy(extraMeta: "    labels: {a: [b]}\n"),
      Self.kubectlPolicy(extraMeta: "    labels: {a: \"bad value!\"}\n"),
      Self.kubectlPolicy(extraMeta: "    annotations2: x\n"),
      Self.kubectlPolicy(extraMeta: "    ownerReferences: [{kind: ReplicaSet, name: a}]\n"),
      Self.kubectlPolicy(extraMeta: "    finalizers: [a, {b: c, b: d}]\n"),
      Self.kubectlPolicy(extraMeta: "    name: again\n"),
      Self.kubectlPolicy().replacingOccurrences(of: "  spec:\n", with: "  extra: 1\n  spec:\n"),
      Self.kubectlPolicy().replacingOccurrences(of: "uid: 30c2dc48", with: "uid: &u 30c2dc48"),
      Self.kubectlPolicy().replacingOccurrences(of: "generation: 1", with: "generation: !!int 1"),
      "- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  spec: {}\n",
      "- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: ~\n",
      "- apiVersion: networking.k8s.io/v1beta1\n  kind: NetworkPolicy\n  metadata: {name: a}\n",
      "- apiVersion: v1\n  kind: NetworkPolicy\n  metadata: {name: a}\n",
      "- apiVersion: networking.k8s.io/v1\n  kind: Pod\n  metadata: {name: a}\n",
      "- kind: NetworkPolicy\n  metadata: {name: a}\n  apiVersion: networking.k8s.io/v1\n",
    ]
    var taken = 0
    for text in cases where assertAgrees(text) { taken += 1 }
    XCTAssertLessThan(taken, 4, "these must fall back, or be taken only where the tree reports nothing")
  }

  /// Random policies, mutated field by field: every piece the event
  /// decoder takes decodes to the tree's policies.
  func testRandomPoliciesAgree() {
    var rng = SeededGenerator(seed: 1919)
    func pick(_ list: [String]) -> String {
      Int.random(in: 0..<10, using: &rng) < 7 ? list[0] : list.randomElement(using: &rng)!
    }
    let selectors = [
      "{matchLabels: {app: web}}", "{}", "~", "{matchLabels: {app: ~}}", "[]", "{matchLabels: {a: 5}}",
      "{matchExpressions: [{key: a, operator: In, values: [x, y]}]}", "{matchExpressions: [{key: a, operator: In}]}",
      "{matchExpressions: [~]}", "{matchLabels: {Bad_: x}}",
    ]
    let cidrs = ["10.0.0.0/8", "10.0.0.1/8", "fd00::/8", "\"\"", "~", "x", "10.0.0.0/33"]
    let excepts = ["[10.1.0.0/16]", "[]", "~", "[~]", "[10.0.0.0/8]", "[fd00::/64]", "[10.2.0.0/16, 10.3.0.0/16]"]
    let ports = ["80", "0", "\"80\"", "http", "Bad_", "~", "8.0", "65536", "[1]"]
    let ends = ["~", "90", "79", "65535", "\"90\""]
    let protos = ["TCP", "UDP", "SCTP", "tcp", "~", "5"]
    let types = ["[Ingress]", "[Egress]", "[Ingress, Egress]", "[]", "~", "[ingress]", "[Ingress, ~]"]
    var taken = 0
    for _ in 0..<600 {
      var text = ""
      for i in 0..<Int.random(in: 1...3, using: &rng) {
        func peer() -> String {
          switch Int.random(in: 0..<4, using: &rng) {
          case 0: return "{podSelector: \(pick(selectors))}"
          case 1: return "{namespaceSelector: \(pick(selectors)), podSelector: \(pick(selectors))}"
          case 2: return "{ipBlock: {cidr: \(pick(cidrs)), except: \(pick(excepts))}}"
          default: return pick(["{namespaceSelector: {}}", "{}", "~", "{ipBlock: ~, podSelector: {}}"])
          }
        }
        let port = "{port: \(pick(ports)), endPort: \(pick(ends)), protocol: \(pick(protos))}"
        let direction = Bool.random(using: &rng) ? ("ingress", "from") : ("egress", "to")
        let spec = """
              podSelector: \(pick(selectors))
              \(direction.0):
              - \(direction.1): [\(peer()), \(peer())]
                ports: [\(port), \(pick(["{port: 53}", "~", "{}", "5"]))]
              - \(pick(["{}", "~", "{ports: []}", "[]"]))
              policyTypes: \(pick(types))

          """
        text += Self.kubectlPolicy(pick(["ns", "", "Bad_NS", "~"]), "p\(i)", spec: spec)
      }
      if assertAgrees(text) { taken += 1 }
    }
    XCTAssertGreaterThan(taken, 30, "random valid policies must be taken by the event decoder")
  }

  /// JSON input (`kubectl get -o json`) through `Loader`, on one thread and
  /// four: the policies decoded from events are the tree's.
  func testJSONPoliciesAgreeThroughLoader() {
    let policies = (0..<60).map { i in
      ParallelLoadTests.jsonObject([
        #""apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy","#,
        #""metadata": {"name": "p-\#(i)", "namespace": "ns\#(i % 7)"},"#,
        #""spec": {"podSelector": {"matchLabels": {"app": "a\#(i % 5)"}}, "#
          + #""egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.\#(i).0.0/16"]}}], "#
          + #""ports": [{"port": \#(1000 + i), "endPort": 2000}, {"port": "http", "protocol": "UDP"}]}]}"#,
      ])
    }
    let text = ParallelLoadTests.jsonList(ParallelLoadTests.jsonPods + policies)
    var tree = Self.options
    tree.eventDecoding = false
    let expected = Self.summary(Load.inventory([("list.json", text)], options: tree))
    XCTAssertEqual(Load.inventory([("list.json", text)], options: tree).policies.count, 60)
    for jobs in [1, 4] {
      var options = Self.options
      options.jobs = jobs
      XCTAssertEqual(Self.summary(Load.inventory([("list.json", text)], options: options)), expected, "jobs \(jobs)")
    }
    let pieces = Array(text.utf8).withUnsafeBufferPointer { Chunker.split($0, pieces: 4) }!.pieces
    let taken = pieces.filter { piece in
      var input = Array(text.utf8)[piece.range].map { $0 }
      if let bracket = piece.bracket {
        input[bracket - piece.range.lowerBound] = UInt8(ascii: "[")
        input.append(UInt8(ascii: "]"))
      }
      return input.withUnsafeBufferPointer {
        EventDecoder.decodeItems($0, firstLine: piece.firstLine, file: "f", options: Self.options) != nil
      }
    }
    XCTAssertEqual(taken.count, pieces.count, "every JSON piece, policies included, is read from events")
  }
}
