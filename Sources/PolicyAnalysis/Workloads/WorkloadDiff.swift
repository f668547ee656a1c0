public import PolicyModel

extension ConnectivityDiffer {
  /// `diff` with pods grouped by workload (`WorkloadOwner`): a pair of
  /// workloads changes when the set of answers its pod pairs get changes,
  /// so replicas coming and going (a rollout renames every pod) is no
  /// change, while a policy that now treats one replica apart is.
  public static func diffByWorkload(old: Inventory, new: Inventory) -> ConnectivityDiff {
    let before = Cluster.forAnalysis(old)
    let after = Cluster.forAnalysis(new)
    let dualStack = (before.pods + after.pods).contains { $0.ips.contains { $0.family == .ipv6 } }
    let families: [IPAddress.Family] = dualStack ? [.ipv4, .ipv6] : [.ipv4]
    let podIPs = Set((before.pods + after.pods).flatMap(\.ips))
    let regions = ExternalRegions.regions(
      for: before.policies + after.policies, adminPolicies: before.allAdminPolicies + after.allAdminPolicies,
      avoiding: podIPs)
    let sides = [
      WorkloadSide(before, families: families, regions: regions),
      WorkloadSide(after, families: families, regions: regions),
    ]
    // Workloads and pods by name, then the regions outside the cluster.
    let external = Set(regions.map(\.name))
    let names = Set(sides[0].groups.keys).union(sides[1].groups.keys).sorted {
      (external.contains($0) ? 1 : 0, $0) < (external.contains($1) ? 1 : 0, $1)
    }
    let changedPolicies =
      changed(old: before.policies, new: after.policies)
      + changed(old: before.allAdminPolicies, new: after.allAdminPolicies)
    var finder = CauseFinder(changedPolicies, clusters: [before, after])
    var changes: [ConnectivityChange] = []
    for from in names {
      for to in names {
        let answers = families.indices.map { f in
          (was: sides[0].answers(from, to, f), now: sides[1].answers(from, to, f))
        }
        let first = (was: answers[0].was?.kinds, now: answers[0].now?.kinds)
        let agree = answers.allSatisfy { answer in answer.was?.kinds == first.was && answer.now?.kinds == first.now }
        for f in families.indices where f == 0 || !agree {
          let (was, now) = answers[f]
          guard was?.kinds != now?.kinds else { continue }
          let kind: ConnectivityChange.Kind = was == nil ? .added : now == nil ? .removed : .changed
          var causes: [String] = []
          if kind == .changed {
            let examples = (was?.examples ?? []) + (now?.examples ?? [])
            causes = Set(examples.flatMap { finder.causes(from: $0.0, to: $0.1) }).sorted()
          }
          var disagreement: [String] = []
          if let was, was.kinds.count > 1 { disagreement.append("before: " + was.described) }
          if let now, now.kinds.count > 1 { disagreement.append("after: " + now.described) }
          changes.append(
            ConnectivityChange(
              kind: kind, from: from, to: to, before: was?.common, after: now?.common, causes: causes,
              dependsOnAddress: was?.dependsOnAddress == true || now?.dependsOnAddress == true,
              family: agree ? nil : families[f],
              replicasDisagree: disagreement.isEmpty ? nil : disagreement.joined(separator: "; "),
              answersBefore: was?.ordered.map(\.0) ?? [], answersAfter: now?.ordered.map(\.0) ?? []))
        }
      }
    }
    // Replicas that differ in labels or named ports, on either side; once
    // when both sides say the same.
    let (was, now) = (sides[0].disagreements, sides[1].disagreements)
    let disagreements = now.map { "after: \($0)" } + was.filter { !now.contains($0) }.map { "before: \($0)" }
    return ConnectivityDiff(
      changes: changes, endpointsBefore: sides[0].groups.count, endpointsAfter: sides[1].groups.count,
      changedPolicies: changedPolicies.map { "\($0.namespace)/\($0.name)" },
      disagreements: was == now ? was : disagreements)
  }
}

/// One version of the manifests, its endpoints grouped by workload, with the
/// answers of every pair of groups read off the connectivity engines.
struct WorkloadSide {
  /// Members of a group that the engines cannot tell apart, and two of them.
  struct Part {
    var first: ConnectivityEngine.Side
    var second: ConnectivityEngine.Side?
    var count: Int
    /// A workload manifest's template stands for two replicas or more.
    var template: Bool
  }

  /// The answers the pod pairs of two groups get.
  struct Answers {
    /// Each distinct answer, with how many pod pairs get it and one of them.
    var byPorts: [PortSet: (count: Int, example: (String, String))] = [:]
    var dependsOnAddress = false
    var kinds: Set<PortSet> { Set(byPorts.keys) }
    var pairs: Int { byPorts.values.reduce(0) { $0 + $1.count } }
    /// Answers from the most pairs to the fewest (ties by text).
    var ordered: [(PortSet, (count: Int, example: (String, String)))] {
      byPorts.sorted { ($1.value.count, $0.key.description) < ($0.value.count, $1.key.description) }
    }
    /// The answer most pod pairs get.
    var common: PortSet { ordered[0].0 }
    var examples: [(String, String)] { ordered.map(\.1.example) }
    /// `TCP 80 for 2 of 3 pod pairs (such as a -> b), none for 1 (such as c -> d)`.
    var described: String {
      ordered.enumerated().map { i, entry in
        "\(entry.0) for \(entry.1.count)\(i == 0 ? " of \(pairs) pod pairs" : "") (such as \(entry.1.example.0) -> \(entry.1.example.1))"
      }.joined(separator: ", ")
    }
  }

  let cluster: Cluster
  let engines: [ConnectivityEngine]
  let assumable: [[IPAddress]]
  var groups: [String: [Part]] = [:]
  var disagreements: [String] = []
  var regionNames: [IPAddress: String] = [:]
  let cache: PairCache

  /// Answers per pair of engine classes: the engines answer alike for every
  /// two pods of the same two classes, so a thousand workloads cost what
  /// their few classes cost.
  final class PairCache {
    struct Key: Hashable {
      var family: Int
      var from: Int
      var to: Int
      var fromAddress: IPAddress?
      var toAddress: IPAddress?
      /// A pod with itself (a workload's template) is not two pods of one class.
      var samePod: Bool
    }
    var answers: [Key: (PortSet, Bool)] = [:]
    let classOf: [[Int]]

    init(classOf: [[Int]]) { self.classOf = classOf }

    func answer(
      _ family: Int, _ from: ConnectivityEngine.Side, _ to: ConnectivityEngine.Side, compute: () -> (PortSet, Bool)
    ) -> (PortSet, Bool) {
      func parts(_ side: ConnectivityEngine.Side) -> (Int, IPAddress?) {
        switch side {
        case .pod(let i): return (classOf[family][i], nil)
        case .address(let ip): return (-1, ip)
        }
      }
      let (a, x) = parts(from)
      let (b, y) = parts(to)
      let key = Key(family: family, from: a, to: b, fromAddress: x, toAddress: y, samePod: from == to)
      if let known = answers[key] { return known }
      let value = compute()
      answers[key] = value
      return value
    }
  }

  init(_ cluster: Cluster, families: [IPAddress.Family], regions: [AnalysisEndpoint]) {
    self.cluster = cluster
    engines = families.map { ConnectivityEngine(cluster: cluster, family: $0) }
    assumable = engines.map(\.assumableAddresses)
    cache = PairCache(classOf: engines.map(\.classOfPod))
    let grouping = WorkloadGroups(cluster.pods)
    for group in grouping.groups {
      var parts: [[Int]: Part] = [:]
      var order: [[Int]] = []
      for i in group.members {
        let key = engines.map { $0.classOfPod[i] }
        if parts[key] == nil {
          order.append(key)
          parts[key] = Part(first: .pod(i), count: 0, template: cluster.pods[i].workloadKind != nil)
        } else if parts[key]!.second == nil {
          parts[key]!.second = .pod(i)
        }
        parts[key]!.count += 1
      }
      groups[group.name] = order.map { parts[$0]! }
      disagreements += WorkloadGroups.disagreements(group.name, group.members.map { cluster.pods[$0] })
    }
    for region in regions {
      groups[region.name] = [Part(first: .address(region.representative!), count: 1, template: false)]
      regionNames[region.representative!] = region.name
    }
  }

  func name(_ side: ConnectivityEngine.Side) -> String {
    switch side {
    case .pod(let i): return AnalysisEndpoint.name(of: cluster.pods[i])
    case .address(let ip): return regionNames[ip] ?? ip.description
    }
  }

  /// nil when the pair has no two distinct endpoints on this side.
  func answers(_ from: String, _ to: String, _ family: Int) -> Answers? {
    guard let sources = groups[from], let destinations = groups[to] else { return nil }
    var out = Answers()
    for (a, source) in sources.enumerated() {
      for (b, destination) in destinations.enumerated() {
        let same = from == to && a == b
        let count = same ? source.count * (source.count - 1) : source.count * destination.count
        guard count > 0 || (same && source.template) else { continue }
        let target = same ? source.second ?? source.first : destination.first
        let (ports, depends) = cache.answer(family, source.first, target) {
          (
            engines[family].allowedPorts(from: source.first, to: target),
            !engines[family].addressDependence(from: source.first, to: target, addresses: assumable[family]).isEmpty
          )
        }
        let example = (name(source.first), same && source.second == nil ? name(source.first) : name(target))
        out.byPorts[ports, default: (0, example)].count += max(1, count)
        if depends { out.dependsOnAddress = true }
      }
    }
    return out.byPorts.isEmpty ? nil : out
  }
}
