import Foundation
import PolicyModel
import PolicyReference
import TestSupport

/// The objects of one random cluster as written, before `Cluster` filters
/// or labels anything: the independent reference reads these.
struct RandomInputs {
  var namespaces: [Namespace]
  var pods: [Pod]
  var policies: [NetworkPolicy]
  var admin: [AdminPolicy]

  var cluster: Cluster { Cluster(namespaces: namespaces, pods: pods, policies: policies, adminPolicies: admin) }
  var reference: IndependentReference {
    IndependentReference(namespaces: namespaces, pods: pods, policies: policies, adminPolicies: admin)
  }

  /// Pods that are no endpoint of their own (host-network, finished): the
  /// emitters see only their addresses, as packets from outside.
  var bystanderAddresses: [IPAddress] {
    let members = Set(cluster.pods.map { $0.meta.namespace + "/" + $0.meta.name })
    return pods.filter { !members.contains($0.meta.namespace + "/" + $0.meta.name) }.flatMap(\.ips)
  }
}

extension RandomInputs {
  /// The old generator's clusters: every namespace is written and every pod
  /// takes part, so the objects are recovered from the `Cluster`.
  init(_ cluster: Cluster) {
    namespaces = cluster.namespaceLabels.keys.sorted().map {
      Namespace(name: $0, labels: cluster.namespaceLabels[$0]!, location: RandomCluster.here)
    }
    pods = cluster.pods
    policies = cluster.policies
    admin = cluster.allAdminPolicies
  }
}

/// How the property tests pick their seed: `POLICYC_SEED`, or the date
/// (yyyymmdd, UTC), so every day checks other clusters; and how many rounds
/// they run (`POLICYC_PROPERTY_SCALE` multiplies them, for `make test-long`).
enum PropertySeed {
  static let base: UInt64 = {
    if let text = ProcessInfo.processInfo.environment["POLICYC_SEED"], let seed = UInt64(text) { return seed }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let day = calendar.dateComponents([.year, .month, .day], from: Date())
    return UInt64(day.year! * 10_000 + day.month! * 100 + day.day!)
  }()

  static let scale: Int = {
    Int(ProcessInfo.processInfo.environment["POLICYC_PROPERTY_SCALE"] ?? "") ?? 1
  }()

  /// The generator of one test, salted so tests do not draw the same clusters.
  static func generator(salt: UInt64) -> SeededGenerator { SeededGenerator(seed: base &+ salt &* 0x1000_0000) }

  /// What a failure prints so the run can be repeated.
  static func reproduce(_ test: String) -> String {
    "seed \(base); reproduce with: POLICYC_SEED=\(base) swift test --filter \(test)"
  }
}

/// Random clusters of shapes the first generator never draws: multi-key
/// selectors with every operator, empty versus absent selectors, endPort
/// ranges, SCTP, named ports defined in several containers, host-network
/// and finished pods, single-stack pods, except lists, namespaces known
/// only through a pod, and admin tiers over all of these.
enum WideRandomCluster {
  static let here = RandomCluster.here
  static let keys = ["tier", "env", "app"]
  static let values = ["web", "db", "prod", "dev", "x1"]

  static func make(_ g: inout SeededGenerator) -> RandomInputs {
    var namespaces: [Namespace] = []
    for name in ["x", "y", "z"] {
      var labels: [String: String] = [:]
      if Bool.random(using: &g) { labels["team"] = ["a", "b"].randomElement(using: &g)! }
      if Bool.random(using: &g) { labels["env"] = ["prod", "dev"].randomElement(using: &g)! }
      namespaces.append(Namespace(name: name, labels: labels, location: here))
    }
    // Namespace `w` is never written: its pods' namespace has only the implicit name label.
    var pods: [Pod] = []
    var octet = 40
    for ns in ["x", "y", "z", "w"] {
      for name in ["a", "b", "c"].prefix(Int.random(in: 1...3, using: &g)) {
        octet += 1
        pods.append(pod(&g, namespace: ns, name: name, octet: octet))
      }
    }
    pods += bystanders(&g, octet: &octet)
    var policies: [NetworkPolicy] = []
    for i in 0..<Int.random(in: 1...5, using: &g) {
      let ns = ["x", "y", "z", "w"].randomElement(using: &g)!
      let types: [PolicyType] = [[.ingress], [.egress], [.egress, .ingress]].randomElement(using: &g)!
      policies.append(
        NetworkPolicy(
          meta: ObjectMeta(name: "q\(i)", namespace: ns, location: here), podSelector: selector(&g),
          policyTypes: types, policyTypesWritten: true,
          ingress: (0..<Int.random(in: 0...3, using: &g)).map { _ in rule(&g) },
          egress: (0..<Int.random(in: 0...3, using: &g)).map { _ in rule(&g) }))
    }
    var admin: [AdminPolicy] = []
    var priorities = [5, 7, 7, 9].shuffled(using: &g)
    for i in 0..<Int.random(in: 0...3, using: &g) {
      admin.append(adminPolicy(&g, name: "wanp\(i)", tier: .admin(priority: priorities.removeLast())))
    }
    if Int.random(in: 0..<3, using: &g) > 0 { admin.append(adminPolicy(&g, name: "default", tier: .baseline)) }
    return RandomInputs(namespaces: namespaces, pods: pods, policies: policies, admin: admin)
  }

  static func pod(_ g: inout SeededGenerator, namespace: String, name: String, octet: Int) -> Pod {
    var labels = ["pod": name]
    for key in keys where Bool.random(using: &g) { labels[key] = values.randomElement(using: &g)! }
    // One name in several containers (each number counts), one name under
    // two protocols, SCTP.
    var ports = [ContainerPort(name: "http", number: [8080, 8081].randomElement(using: &g)!, proto: .tcp)]
    if Bool.random(using: &g) { ports.append(ContainerPort(name: "http", number: 8443, proto: .tcp)) }
    if Bool.random(using: &g) { ports.append(ContainerPort(name: "dns", number: 53, proto: .udp)) }
    if Bool.random(using: &g) { ports.append(ContainerPort(name: "dns", number: 5353, proto: .tcp)) }
    if Bool.random(using: &g) { ports.append(ContainerPort(name: "diameter", number: 3868, proto: .sctp)) }
    var ips: [IPAddress] = []
    let stack = Int.random(in: 0..<6, using: &g)
    if stack != 5 { ips.append(IPAddress("10.0.\(octet / 16).\(octet)")!) }
    if stack != 4 { ips.append(IPAddress("fd00:0:0:\(String(octet / 16, radix: 16))::\(String(octet, radix: 16))")!) }
    return Pod(
      meta: ObjectMeta(name: name, namespace: namespace, labels: labels, location: here),
      nodeName: Bool.random(using: &g) ? "node-a" : "node-b", phase: "Running", ips: ips, ports: ports)
  }

  /// Host-network pods (with the node's address) and finished pods (with
  /// an address of the pod range, labelled like the others): neither
  /// targets nor peers.
  static func bystanders(_ g: inout SeededGenerator, octet: inout Int) -> [Pod] {
    var out: [Pod] = []
    for i in 0..<Int.random(in: 0...2, using: &g) {
      octet += 1
      let finished = Bool.random(using: &g)
      out.append(
        Pod(
          meta: ObjectMeta(
            name: "gone\(i)", namespace: ["x", "y"].randomElement(using: &g)!,
            labels: ["pod": "a", "tier": "web", "env": "prod"], location: here),
          nodeName: "node-a", hostNetwork: !finished, phase: finished ? ["Succeeded", "Failed"][i % 2] : "Running",
          ips: finished
            ? [IPAddress("10.0.\(octet / 16).\(octet)")!, IPAddress("fd00:0:0:2::\(String(octet, radix: 16))")!]
            : [IPAddress("192.168.7.\(octet)")!, IPAddress("fd07::\(String(octet, radix: 16))")!],
          ports: [ContainerPort(name: "http", number: 8080, proto: .tcp)]))
    }
    return out
  }

  /// Multi-key selectors: matchLabels and expressions with every operator,
  /// some on keys pods lack; `{}` selects everything.
  static func selector(_ g: inout SeededGenerator) -> LabelSelector {
    if Int.random(in: 0..<4, using: &g) == 0 { return .everything }
    var selector = LabelSelector()
    for _ in 0..<Int.random(in: 0...2, using: &g) {
      selector.matchLabels[(keys + ["pod"]).randomElement(using: &g)!] = (values + ["a", "b"]).randomElement(
        using: &g)!
    }
    for _ in 0..<Int.random(in: 0...3, using: &g) {
      let key = (keys + ["pod", "team", "env"]).randomElement(using: &g)!
      let op = [SelectorOperator.in, .notIn, .exists, .doesNotExist].randomElement(using: &g)!
      let some = Array((values + ["a", "b", "c"]).shuffled(using: &g).prefix(Int.random(in: 1...3, using: &g)))
      selector.expressions.append(
        SelectorRequirement(key: key, op: op, values: op == .in || op == .notIn ? some : []))
    }
    return selector
  }

  /// A namespace selector over the namespaces' labels, including the implicit name label.
  static func namespaceSelector(_ g: inout SeededGenerator) -> LabelSelector {
    switch Int.random(in: 0..<5, using: &g) {
    case 0: return .everything
    case 1: return LabelSelector(matchLabels: ["kubernetes.io/metadata.name": ["x", "w"].randomElement(using: &g)!])
    case 2: return LabelSelector(expressions: [SelectorRequirement(key: "team", op: .notIn, values: ["b"])])
    case 3: return LabelSelector(expressions: [SelectorRequirement(key: "env", op: .doesNotExist, values: [])])
    default:
      return LabelSelector(
        matchLabels: ["team": "a"], expressions: [SelectorRequirement(key: "env", op: .in, values: ["prod", "dev"])])
    }
  }

  static let blocks: [(String, [String])] = [
    ("10.0.0.0/16", ["10.0.2.0/24", "10.0.3.48/28"]), ("10.0.2.0/23", []), ("10.0.3.0/24", ["10.0.3.56/29"]),
    ("0.0.0.0/0", ["10.0.0.0/8"]), ("192.168.7.0/24", []), ("fd00::/48", ["fd00:0:0:2::/64"]),
    ("fd00:0:0:3::/64", ["fd00:0:0:3::30/124"]), ("::/0", ["fd00::/16"]),
  ]

  static func peer(_ g: inout SeededGenerator) -> PeerKind {
    switch Int.random(in: 0..<5, using: &g) {
    case 0: return .selectors(pods: selector(&g), namespaces: nil)
    case 1: return .selectors(pods: nil, namespaces: namespaceSelector(&g))
    case 2: return .selectors(pods: selector(&g), namespaces: namespaceSelector(&g))
    default:
      let (cidr, excepts) = blocks.randomElement(using: &g)!
      let kept = excepts.filter { _ in Int.random(in: 0..<4, using: &g) > 0 }
      return .ipBlock(IPBlock(cidr: CIDR(cidr)!, except: kept.map { CIDR($0)! }))
    }
  }

  static func port(_ g: inout SeededGenerator) -> PolicyPort {
    let proto = [NetProtocol.tcp, .tcp, .udp, .sctp].randomElement(using: &g)!
    switch Int.random(in: 0..<6, using: &g) {
    case 0: return PolicyPort(proto: proto, port: nil, location: here)
    case 1:
      return PolicyPort(proto: proto, port: .number([53, 80, 3868, 8080].randomElement(using: &g)!), location: here)
    case 2:
      let first = [1, 53, 3000, 8080, 8443].randomElement(using: &g)!
      return PolicyPort(
        proto: proto, port: .number(first), endPort: first + [0, 1, 100, 5000].randomElement(using: &g)!,
        location: here)
    case 3: return PolicyPort(proto: proto, port: .name(["dns", "diameter"].randomElement(using: &g)!), location: here)
    default: return PolicyPort(proto: .tcp, port: .name("http"), location: here)
    }
  }

  static func rule(_ g: inout SeededGenerator) -> PolicyRule {
    let peers = (0..<Int.random(in: 0...3, using: &g)).map { _ in Peer(kind: peer(&g), location: here) }
    let ports = (0..<Int.random(in: 0...3, using: &g)).map { _ in port(&g) }
    return PolicyRule(peers: peers, ports: ports, location: here)
  }

  static func adminPolicy(_ g: inout SeededGenerator, name: String, tier: AdminTier) -> AdminPolicy {
    RandomCluster.adminPolicy(
      &g, name: name, tier: tier, namespaces: namespaceSelector, selector: selector, rule: rule, ruleNames: "w")
  }
}
