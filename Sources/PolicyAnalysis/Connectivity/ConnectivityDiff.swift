public import PolicyModel

/// One ordered pair whose allowed ports differ between two versions.
public struct ConnectivityChange: Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case changed, added, removed
  }

  public var kind: Kind
  public var from: String
  public var to: String
  /// nil when the pair did not exist on that side.
  public var before: PortSet?
  public var after: PortSet?
  /// Policies (namespace/name) whose addition, removal or edit caused the
  /// change; empty when only pods or namespaces changed.
  public var causes: [String]
  /// Whether either answer depends on an address a pod of the pair does not
  /// have: both are given as if no ipBlock matches it.
  public var dependsOnAddress = false
  /// Set when the pair's two address families changed differently (pods
  /// with IPv4 and IPv6 addresses): this change is of that family only.
  public var family: IPAddress.Family? = nil
  /// With `--by workload`, when the pod pairs of the two workloads got
  /// different answers on either side: which, in words.
  public var replicasDisagree: String? = nil
  /// With `--by workload`, every answer pod pairs got on each side when
  /// they got more than one, most common first (`before`/`after` are the
  /// first).
  public var answersBefore: [PortSet] = []
  public var answersAfter: [PortSet] = []
}

public struct ConnectivityDiff: Sendable {
  public var changes: [ConnectivityChange]
  public var endpointsBefore: Int
  public var endpointsAfter: Int
  public var changedPolicies: [String]
  /// With `--by workload`: how replicas of a workload differ in labels or
  /// named ports; nil when endpoints are single pods.
  public var disagreements: [String]? = nil
}

/// Compares who-can-reach-whom between two sets of manifests.
public enum ConnectivityDiffer {
  public static func diff(old: Inventory, new: Inventory) -> ConnectivityDiff {
    let before = Cluster.forAnalysis(old)
    let after = Cluster.forAnalysis(new)
    // ipBlocks match pods by their address of the traffic's family: with
    // IPv6 pod addresses on either side, both families are compared.
    let dualStack = (before.pods + after.pods).contains { $0.ips.contains { $0.family == .ipv6 } }
    let families: [IPAddress.Family] = dualStack ? [.ipv4, .ipv6] : [.ipv4]
    let oldEngines = families.map { ConnectivityEngine(cluster: before, family: $0) }
    let newEngines = families.map { ConnectivityEngine(cluster: after, family: $0) }
    let (oldAssumable, newAssumable) = (oldEngines.map(\.assumableAddresses), newEngines.map(\.assumableAddresses))
    let podIPs = Set((before.pods + after.pods).flatMap(\.ips))
    let regions = ExternalRegions.regions(
      for: before.policies + after.policies, adminPolicies: before.allAdminPolicies + after.allAdminPolicies,
      avoiding: podIPs)

    // Joint endpoints: every name on either side, with its class on each.
    struct Joint: Hashable {
      var old: [Int]?
      var new: [Int]?
    }
    var names: [String: (old: ConnectivityEngine.Side?, new: ConnectivityEngine.Side?)] = [:]
    for (i, pod) in before.pods.enumerated() {
      names[AnalysisEndpoint.name(of: pod), default: (nil, nil)].old = .pod(i)
    }
    for (i, pod) in after.pods.enumerated() { names[AnalysisEndpoint.name(of: pod), default: (nil, nil)].new = .pod(i) }
    let ordered = names.keys.sorted()
    var groups: [Joint: [String]] = [:]
    for name in ordered {
      let sides = names[name]!
      let key = Joint(
        old: sides.old.map { side in oldEngines.map { if case .pod(let i) = side { $0.classOfPod[i] } else { -1 } } },
        new: sides.new.map { side in newEngines.map { if case .pod(let i) = side { $0.classOfPod[i] } else { -1 } } })
      groups[key, default: []].append(name)
    }
    var endpoints: [(members: [String], old: [ConnectivityEngine.Side?], new: [ConnectivityEngine.Side?])] = []
    for (_, members) in groups.sorted(by: { $0.value[0] < $1.value[0] }) {
      // Two stand-ins per group, for pairs inside the group.
      let picks = Array(members.prefix(2))
      endpoints.append((members, picks.map { names[$0]!.old }, picks.map { names[$0]!.new }))
    }
    for region in regions {
      let side = ConnectivityEngine.Side.address(region.representative!)
      endpoints.append(([region.name], [side], [side]))
    }

    let changedPolicies =
      changed(old: before.policies, new: after.policies)
      + changed(old: before.allAdminPolicies, new: after.allAdminPolicies)
    // Which changed policies select each pod, worked out once per pod.
    var finder = CauseFinder(changedPolicies, clusters: [before, after])
    var changes: [ConnectivityChange] = []
    for (gi, g) in endpoints.enumerated() {
      for (hi, h) in endpoints.enumerated() {
        let same = gi == hi
        // Workloads stand for replicas: a workload with itself is two of its
        // replicas, which can be told apart as well as any two pods.
        let workloads = same && g.members.allSatisfy { $0.split(separator: "/").count == 3 }
        if same && g.members.count < 2 && !workloads { continue }
        let second = g.members.count > 1 ? 1 : 0
        let (fo, to) = same ? (g.old[0], g.old[second]) : (g.old[0], h.old[0])
        let (fn, tn) = same ? (g.new[0], g.new[second]) : (g.new[0], h.new[0])
        // Each family's answer; one line when the families agree.
        let answers = families.indices.map { f in
          (
            was: fo.flatMap { from in to.map { oldEngines[f].allowedPorts(from: from, to: $0) } },
            now: fn.flatMap { from in tn.map { newEngines[f].allowedPorts(from: from, to: $0) } }
          )
        }
        let agree = answers.allSatisfy { $0 == answers[0] }
        for f in families.indices where (f == 0 || !agree) && answers[f].was != answers[f].now {
          let (was, now) = answers[f]
          let kind: ConnectivityChange.Kind = was == nil ? .added : now == nil ? .removed : .changed
          let depends =
            fo.flatMap { from in
              to.map { !oldEngines[f].addressDependence(from: from, to: $0, addresses: oldAssumable[f]).isEmpty }
            } == true
            || fn.flatMap { from in
              tn.map { !newEngines[f].addressDependence(from: from, to: $0, addresses: newAssumable[f]).isEmpty }
            } == true
          for from in g.members {
            for to in h.members where from != to || workloads {
              let causes =
                kind == .changed
                ? finder.causes(from: from, to: to) : []
              changes.append(
                ConnectivityChange(
                  kind: kind, from: from, to: to, before: was, after: now, causes: causes, dependsOnAddress: depends,
                  family: agree ? nil : families[f]))
            }
          }
        }
      }
    }
    changes.sort { ($0.from, $0.to, $0.family?.rawValue ?? 0) < ($1.from, $1.to, $1.family?.rawValue ?? 0) }
    return ConnectivityDiff(
      changes: changes, endpointsBefore: before.pods.count + regions.count,
      endpointsAfter: after.pods.count + regions.count,
      changedPolicies: changedPolicies.map { "\($0.namespace)/\($0.name)" })
  }

  struct PolicyKey: Hashable, Comparable {
    var namespace: String
    var name: String
    static func < (a: PolicyKey, b: PolicyKey) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
  }

  /// Policies added, removed or edited in meaning.
  static func changed(old: [NetworkPolicy], new: [NetworkPolicy]) -> [PolicyKey] {
    func index(_ list: [NetworkPolicy]) -> [PolicyKey: String] {
      Dictionary(
        list.map { (PolicyKey(namespace: $0.meta.namespace, name: $0.meta.name), Canonical.text($0)) },
        uniquingKeysWith: { a, _ in a })
    }
    let a = index(old)
    let b = index(new)
    return Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
  }

  /// Admin policies added, removed or edited in meaning, keyed by kind and name.
  static func changed(old: [AdminPolicy], new: [AdminPolicy]) -> [PolicyKey] {
    func index(_ list: [AdminPolicy]) -> [PolicyKey: String] {
      Dictionary(
        list.map { (PolicyKey(namespace: $0.kind, name: $0.meta.name), Canonical.text($0)) },
        uniquingKeysWith: { a, _ in a })
    }
    let a = index(old)
    let b = index(new)
    return Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
  }
}
