import PolicyModel

/// The changed policies behind a change of a pair: those that select the
/// source for egress or the destination for ingress, in either version.
/// Which select a pod (by name, on either side) is worked out once per pod,
/// not once per pair (5,000 pods changed in 1,000 policies made that the
/// whole cost of a diff).
struct CauseFinder {
  let keys: [ConnectivityDiffer.PolicyKey]
  let clusters: [Cluster]
  let podByName: [[String: Int]]
  /// Per cluster and key: the admin policy or NetworkPolicy of that name.
  let policies: [[(admin: AdminPolicy?, policy: NetworkPolicy?)]]
  /// Per cluster and pod: indices into `keys` selecting it for egress, ingress.
  var memo: [[Int: (egress: [Int], ingress: [Int])]]

  init(_ keys: [ConnectivityDiffer.PolicyKey], clusters: [Cluster]) {
    self.keys = keys
    self.clusters = clusters
    podByName = clusters.map { cluster in
      Dictionary(
        cluster.pods.enumerated().map { (AnalysisEndpoint.name(of: $0.element), $0.offset) },
        uniquingKeysWith: { a, _ in a })
    }
    memo = clusters.map { _ in [:] }
    policies = clusters.map { cluster in
      let admins = Dictionary(
        cluster.allAdminPolicies.map { ("\($0.kind)/\($0.meta.name)", $0) }, uniquingKeysWith: { a, _ in a })
      let named = Dictionary(
        cluster.policies.map { ("\($0.meta.namespace)/\($0.meta.name)", $0) }, uniquingKeysWith: { a, _ in a })
      return keys.map { key in
        let name = "\(key.namespace)/\(key.name)"
        return admins[name].map { ($0, nil) } ?? (nil, named[name])
      }
    }
  }

  /// Changed policies (`namespace/name`, or `kind/name` for admin policies)
  /// that select the source for egress or the destination for ingress.
  mutating func causes(from: String, to: String) -> [String] {
    var found = Set<Int>()
    for c in clusters.indices {
      if let i = podByName[c][from] { found.formUnion(selecting(c, i).egress) }
      if let i = podByName[c][to] { found.formUnion(selecting(c, i).ingress) }
    }
    return found.sorted().map { "\(keys[$0].namespace)/\(keys[$0].name)" }
  }

  mutating func selecting(_ c: Int, _ i: Int) -> (egress: [Int], ingress: [Int]) {
    if let known = memo[c][i] { return known }
    let cluster = clusters[c]
    let pod = cluster.pods[i]
    var out: (egress: [Int], ingress: [Int]) = ([], [])
    for (k, _) in keys.enumerated() {
      for direction in [PolicyType.egress, .ingress] {
        var selects = false
        if let admin = policies[c][k].admin {
          selects = !admin.rules(direction).isEmpty && cluster.selects(admin, pod)
        } else if let policy = policies[c][k].policy {
          selects =
            policy.applies(to: direction) && pod.meta.namespace == policy.meta.namespace
            && policy.podSelector.matches(pod.meta.labels)
        }
        if selects { direction == .egress ? out.egress.append(k) : out.ingress.append(k) }
      }
    }
    memo[c][i] = out
    return out
  }
}
