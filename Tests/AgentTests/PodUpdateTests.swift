import NodeApply
import PolicyModel
import RuleModel
import TestSupport
import Testing
import YAMLBridge

@testable import Agent

/// A pod update applied as set member changes must leave the node exactly
/// as a compile of the whole cluster would: the same chains, the same sets,
/// the same members. Random clusters and random pod updates, against
/// `RuleCompiler` itself.
@Suite struct PodUpdateTests {
  static let here = SourceLocation(file: "random", mark: Mark(line: 1, column: 1))

  static func selector(_ g: inout SeededGenerator) -> LabelSelector {
    switch Int.random(in: 0..<4, using: &g) {
    case 0: .everything
    case 1: LabelSelector(matchLabels: ["app": ["a", "b"].randomElement(using: &g)!])
    case 2: LabelSelector(expressions: [SelectorRequirement(key: "tier", op: .exists, values: [])])
    default: LabelSelector(expressions: [SelectorRequirement(key: "app", op: .notIn, values: ["a"])])
    }
  }

  static func pod(_ g: inout SeededGenerator, name: String) -> Pod {
    let ns = ["x", "y", "z"].randomElement(using: &g)!
    var labels = ["app": ["a", "b", "c"].randomElement(using: &g)!]
    if Bool.random(using: &g) { labels["tier"] = "web" }
    // Few addresses, so some are shared (a finished pod's address reused).
    let octet = Int.random(in: 1...12, using: &g)
    var ips = [IPAddress("10.0.0.\(octet)")!]
    if Bool.random(using: &g) { ips.append(IPAddress("fd00::\(octet)")!) }
    let ports =
      Int.random(in: 0..<4, using: &g) == 0 ? [ContainerPort(name: "http", number: 8080, proto: .tcp)] : []
    return Pod(
      meta: ObjectMeta(name: name, namespace: ns, labels: labels, location: here),
      nodeName: ["node-a", "node-b", "node-c", "node-d", "node-e"].randomElement(using: &g)!,
      hostNetwork: Int.random(in: 0..<12, using: &g) == 0,
      phase: Int.random(in: 0..<8, using: &g) == 0 ? "Succeeded" : "Running", ips: ips, ports: ports)
  }

  /// Namespaces x (labelled) and y; z exists only through its pods.
  static let namespaces = [
    Namespace(name: "x", labels: ["team": "t"], location: here),
    Namespace(name: "y", labels: [:], location: here),
  ]

  /// 4 to 12 random pods by `namespace/name`.
  static func pods(_ g: inout SeededGenerator) -> [String: Pod] {
    var pods: [String: Pod] = [:]
    for i in 0..<Int.random(in: 4...12, using: &g) {
      let pod = Self.pod(&g, name: "p\(i)")
      pods["\(pod.meta.namespace)/\(pod.meta.name)"] = pod
    }
    return pods
  }

  static func rule(_ g: inout SeededGenerator) -> PolicyRule {
    let peers = (0..<Int.random(in: 0...2, using: &g)).map { _ in
      let kind: PeerKind =
        switch Int.random(in: 0..<5, using: &g) {
        case 0: .selectors(pods: selector(&g), namespaces: nil)
        case 1: .selectors(pods: nil, namespaces: LabelSelector(matchLabels: ["team": "t"]))
        case 2: .selectors(pods: selector(&g), namespaces: .everything)
        case 3: .selectors(pods: selector(&g), namespaces: selector(&g))
        default: .ipBlock(IPBlock(cidr: CIDR("10.0.0.0/29")!, except: []))
        }
      return Peer(kind: kind, location: here)
    }
    let ports: [PolicyPort] =
      switch Int.random(in: 0..<4, using: &g) {
      case 0: [PolicyPort(proto: .tcp, port: .name("http"), location: here)]
      case 1: []
      default: [PolicyPort(proto: .tcp, port: .number(80), location: here)]
      }
    return PolicyRule(peers: peers, ports: ports, location: here)
  }

  static func policies(_ g: inout SeededGenerator) -> [NetworkPolicy] {
    (0..<Int.random(in: 1...4, using: &g)).map { i in
      NetworkPolicy(
        meta: ObjectMeta(name: "p\(i)", namespace: ["x", "y", "z"].randomElement(using: &g)!, location: here),
        podSelector: selector(&g), policyTypes: [.ingress, .egress], policyTypesWritten: true,
        ingress: (0..<Int.random(in: 0...2, using: &g)).map { _ in rule(&g) },
        egress: (0..<Int.random(in: 0...2, using: &g)).map { _ in rule(&g) })
    }
  }

  static func compile(
    _ pods: [String: Pod], _ namespaces: [Namespace], _ policies: [NetworkPolicy], family: IPAddress.Family
  ) throws -> RuleSet {
    let cluster = Cluster(namespaces: namespaces, pods: Array(pods.values), policies: policies)
    return try RuleCompiler.compile(cluster, options: EmitOptions(node: "node-a", useIPSets: true, family: family))
  }

  @Test func memberChangesEqualACompile() throws {
    var applied = 0
    var compiled = 0
    var changedMembers = 0
    for seed in 0..<1000 {
      var g = SeededGenerator(seed: UInt64(seed))
      let namespaces = Self.namespaces
      var pods = Self.pods(&g)
      let policies = Self.policies(&g)
      let families: [IPAddress.Family] = [.ipv4, .ipv6]
      let before = try families.map { try Self.compile(pods, namespaces, policies, family: $0) }
      var sets = before.map {
        PodSets(model: $0, state: ApplyState(fingerprint: "", chainHashes: [:], sets: [:]), statePath: "")
      }
      var addresses = PodAddresses(pods)
      var touches = PodTouches(needsCompile: false)
      // A few updates, as the watch delivers them.
      for step in 0..<Int.random(in: 1...4, using: &g) {
        let key = pods.keys.sorted().randomElement(using: &g)!
        let previous = pods[key]
        var next: Pod? = previous
        switch Int.random(in: 0..<6, using: &g) {
        case 0: next = nil
        case 1: next?.meta.labels["app"] = ["a", "b", "c"].randomElement(using: &g)!
        case 2: next?.phase = "Failed"
        case 3: next?.ips = [IPAddress("10.0.0.\(Int.random(in: 1...12, using: &g))")!]
        case 4: next?.nodeName = "node-a"
        default:
          let pod = Self.pod(&g, name: "new\(step)")
          let newKey = "\(pod.meta.namespace)/\(pod.meta.name)"
          if let old = pods[newKey] { addresses.remove(newKey, old) }
          touches.note(newKey, previous: pods[newKey])
          pods[newKey] = pod
          addresses.insert(newKey, pod)
          continue
        }
        if let previous { addresses.remove(key, previous) }
        if let next { addresses.insert(key, next) }
        touches.note(key, previous: previous)
        pods[key] = next
      }
      let after = try families.map { try Self.compile(pods, namespaces, policies, family: $0) }
      let plan = PodUpdates.plan(
        touches, node: "node-a", sets: sets, addresses: addresses, pod: { pods[$0] },
        namespace: { name in namespaces.first { $0.name == name } })
      guard case .success(let changes) = plan else {
        compiled += 1
        continue
      }
      applied += 1
      for (index, model) in after.enumerated() {
        // What a compile would load: the same chains and sets ...
        #expect(model.chains == before[index].chains, "seed \(seed): the chains changed")
        #expect(model.sets.map { $0.name } == before[index].sets.map { $0.name }, "seed \(seed): the sets changed")
        // ... and these members.
        for change in changes[index] {
          for member in change.added { sets[index].members[change.set, default: []].insert(IPAddress(member)!) }
          for member in change.removed { sets[index].members[change.set]?.remove(IPAddress(member)!) }
          changedMembers += change.added.count + change.removed.count
        }
        for set in model.sets where model.podDependence.setPeers[set.name] != nil {
          let hosts = Set(set.members.compactMap { if case .host(let ip) = $0 { ip } else { nil } })
          #expect(sets[index].members[set.name] == hosts, "seed \(seed): members of \(set.name)")
        }
      }
    }
    // Not vacuous: most rounds take the member path, and members do change.
    #expect(applied > 400, "member path taken \(applied) times, compile \(compiled)")
    #expect(changedMembers > 80, "\(changedMembers) members changed")
  }
}
