import PolicyModel
import TestSupport
import YAMLBridge

/// Random clusters of a few namespaces and pods with policies drawn from
/// every peer and port form, built as values (the decoder has its own tests).
enum RandomCluster {
  static let here = SourceLocation(file: "random", mark: Mark(line: 1, column: 1))

  /// With `withoutAddresses`, about a third of the pods lose their
  /// addresses (manifests without status) and the cluster is the analysis
  /// view, where they stay endpoints by identity. The draws for that come
  /// last, so the other clusters stay what they were.
  static func make(_ g: inout SeededGenerator, withoutAddresses: Bool = false) -> Cluster {
    let drawn = draw(&g)
    guard withoutAddresses else {
      return Cluster(
        namespaces: drawn.namespaces, pods: drawn.pods, policies: drawn.policies, adminPolicies: drawn.admin)
    }
    var pods = drawn.pods
    for i in pods.indices where Int.random(in: 0..<3, using: &g) == 0 { pods[i].ips = [] }
    return Cluster.forAnalysis(
      namespaces: drawn.namespaces, pods: pods, policies: drawn.policies, adminPolicies: drawn.admin)
  }

  static func draw(_ g: inout SeededGenerator) -> (
    namespaces: [Namespace], pods: [Pod], policies: [NetworkPolicy], admin: [AdminPolicy]
  ) {
    let namespaces = ["x", "y", "z"].map {
      Namespace(name: $0, labels: ["team": ["a", "b"].randomElement(using: &g)!], location: here)
    }
    var pods: [Pod] = []
    var octet = 10
    for ns in namespaces {
      for name in ["a", "b", "c"] {
        octet += 1
        var labels = ["pod": name]
        if Bool.random(using: &g) { labels["tier"] = ["web", "db"].randomElement(using: &g)! }
        let ports = [
          ContainerPort(name: "serve-80-tcp", number: 80, proto: .tcp),
          ContainerPort(name: "serve-81-udp", number: 81, proto: .udp),
          ContainerPort(name: "http", number: [8080, 8081].randomElement(using: &g)!, proto: .tcp),
        ]
        pods.append(
          Pod(
            meta: ObjectMeta(name: name, namespace: ns.name, labels: labels, location: here),
            nodeName: Bool.random(using: &g) ? "node-a" : "node-b", phase: "Running",
            ips: [
              IPAddress("10.0.\(octet / 4).\(octet)")!,
              IPAddress("fd00:0:0:\(String(octet / 4, radix: 16))::\(String(octet, radix: 16))")!,
            ], ports: ports))
      }
    }
    var policies: [NetworkPolicy] = []
    for i in 0..<Int.random(in: 1...4, using: &g) {
      let ns = ["x", "y", "z"].randomElement(using: &g)!
      var types: [PolicyType] = [[.ingress], [.egress], [.ingress, .egress]].randomElement(using: &g)!
      types.sort()
      policies.append(
        NetworkPolicy(
          meta: ObjectMeta(name: "p\(i)", namespace: ns, location: here), podSelector: selector(&g),
          policyTypes: types, policyTypesWritten: true,
          ingress: (0..<Int.random(in: 0...2, using: &g)).map { _ in rule(&g) },
          egress: (0..<Int.random(in: 0...2, using: &g)).map { _ in rule(&g) }))
    }
    // Drawn after the NetworkPolicies, so those stay what they were before the admin tiers.
    var admin: [AdminPolicy] = []
    var priorities = [1, 2, 3].shuffled(using: &g)
    for i in 0..<Int.random(in: 0...3, using: &g) {
      admin.append(adminPolicy(&g, name: "anp\(i)", tier: .admin(priority: priorities.removeLast())))
    }
    if Bool.random(using: &g) { admin.append(adminPolicy(&g, name: "default", tier: .baseline)) }
    return (namespaces, pods, policies, admin)
  }

  /// A random admin policy. The wider generator passes its own selectors
  /// and rules; the draws of this one's defaults stay as they were.
  static func adminPolicy(
    _ g: inout SeededGenerator, name: String, tier: AdminTier,
    namespaces: (inout SeededGenerator) -> LabelSelector = { _ in LabelSelector(matchLabels: ["team": "a"]) },
    selector: (inout SeededGenerator) -> LabelSelector = RandomCluster.selector,
    rule: (inout SeededGenerator) -> PolicyRule = RandomCluster.rule, ruleNames: String = "r"
  ) -> AdminPolicy {
    let subject = AdminSubject(
      namespaces: Bool.random(using: &g) ? .everything : namespaces(&g),
      pods: Bool.random(using: &g) ? nil : selector(&g))
    let actions: [AdminAction] = tier == .baseline ? [.allow, .deny] : AdminAction.allCases
    func rules(ingress: Bool) -> [AdminRule] {
      (0..<Int.random(in: 0...3, using: &g)).map { i in
        var match = rule(&g)
        // The API's peers: namespaces / pods (a namespace selector always
        // present), networks (egress only, no excepts); at least one.
        match.peers = match.peers.compactMap { peer in
          switch peer.kind {
          case .selectors(let pods, let namespaces):
            return Peer(kind: .selectors(pods: pods, namespaces: namespaces ?? .everything), location: here)
          case .ipBlock(let block):
            return ingress ? nil : Peer(kind: .ipBlock(IPBlock(cidr: block.cidr, except: [])), location: here)
          }
        }
        if match.peers.isEmpty {
          match.peers = [Peer(kind: .selectors(pods: selector(&g), namespaces: .everything), location: here)]
        }
        // namedPort: the name under every protocol.
        match.ports = match.ports.flatMap { port -> [PolicyPort] in
          guard case .name = port.port else { return [port] }
          return NetProtocol.allCases.map { PolicyPort(proto: $0, port: port.port, location: here) }
        }
        return AdminRule(name: "\(ruleNames)\(i)", action: actions.randomElement(using: &g)!, match: match)
      }
    }
    return AdminPolicy(
      meta: ObjectMeta(name: name, namespace: "", location: here), tier: tier, subject: subject,
      ingress: rules(ingress: true), egress: rules(ingress: false))
  }

  static func selector(_ g: inout SeededGenerator) -> LabelSelector {
    switch Int.random(in: 0..<5, using: &g) {
    case 0: return .everything
    case 1: return LabelSelector(matchLabels: ["pod": ["a", "b", "c"].randomElement(using: &g)!])
    case 2: return LabelSelector(expressions: [SelectorRequirement(key: "tier", op: .notIn, values: ["web"])])
    case 3: return LabelSelector(expressions: [SelectorRequirement(key: "tier", op: .doesNotExist, values: [])])
    default: return LabelSelector(expressions: [SelectorRequirement(key: "pod", op: .in, values: ["a", "c"])])
    }
  }

  static func rule(_ g: inout SeededGenerator) -> PolicyRule {
    var peers: [Peer] = []
    for _ in 0..<Int.random(in: 0...2, using: &g) {
      let kind: PeerKind
      switch Int.random(in: 0..<7, using: &g) {
      case 0: kind = .selectors(pods: selector(&g), namespaces: nil)
      case 1: kind = .selectors(pods: nil, namespaces: LabelSelector(matchLabels: ["team": "a"]))
      case 2: kind = .selectors(pods: selector(&g), namespaces: .everything)
      case 3: kind = .ipBlock(IPBlock(cidr: CIDR("10.0.0.0/16")!, except: [CIDR("10.0.3.0/24")!]))
      case 4: kind = .ipBlock(IPBlock(cidr: CIDR("10.0.3.0/24")!, except: []))
      // The same blocks in IPv6: pods are dual-stack.
      case 5: kind = .ipBlock(IPBlock(cidr: CIDR("fd00::/48")!, except: [CIDR("fd00:0:0:3::/64")!]))
      default: kind = .ipBlock(IPBlock(cidr: CIDR("fd00:0:0:3::/64")!, except: []))
      }
      peers.append(Peer(kind: kind, location: here))
    }
    var ports: [PolicyPort] = []
    for _ in 0..<Int.random(in: 0...2, using: &g) {
      switch Int.random(in: 0..<5, using: &g) {
      case 0: ports.append(PolicyPort(proto: .tcp, port: .number(80), location: here))
      case 1: ports.append(PolicyPort(proto: .udp, port: nil, location: here))
      case 2: ports.append(PolicyPort(proto: .tcp, port: .name("http"), location: here))
      case 3: ports.append(PolicyPort(proto: .udp, port: .name("serve-81-udp"), location: here))
      default: ports.append(PolicyPort(proto: .tcp, port: .number(8000), endPort: 8080, location: here))
      }
    }
    return PolicyRule(peers: peers, ports: ports, location: here)
  }
}
