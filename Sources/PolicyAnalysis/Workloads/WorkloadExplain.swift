public import PolicyModel

/// One side of `explain --by workload`: a workload's pods, a bare pod, or
/// an address outside the cluster.
public struct WorkloadEndpoint: Sendable {
  /// `NAMESPACE/KIND/NAME`, `NAMESPACE/NAME`, or the address.
  public var name: String
  public var members: [Endpoint]

  /// Resolves a workload (`shop/Deployment/web`), a pod (standing for its
  /// workload) or an address (a pod's address counts as its workload).
  public static func resolve(_ spec: String, in cluster: Cluster) -> WorkloadEndpoint? {
    let groups = WorkloadGroups(cluster.pods)
    var index: Int?
    if let endpoint = Explanation.endpoint(spec, in: cluster) {
      switch endpoint {
      case .address(let ip): return WorkloadEndpoint(name: ip.description, members: [.address(ip)])
      case .pod(let ns, let name): index = cluster.podIndex(namespace: ns, name: name).map { groups.groupOf[$0] }
      }
    } else {
      index = groups.groups.firstIndex { $0.name == spec }
    }
    guard let index else { return nil }
    let group = groups.groups[index]
    return WorkloadEndpoint(
      name: group.name,
      members: group.members.map { .pod(namespace: cluster.pods[$0].meta.namespace, name: cluster.pods[$0].meta.name) })
  }
}

extension Explanation {
  /// Whether the pods of one workload may reach those of another: every pod
  /// pair is asked (two distinct replicas when both sides are one
  /// workload). When every pair gets the same answer, one pair is
  /// explained; when they differ, replicas disagree: the pairs of each
  /// answer are counted and one of each is explained, after how the
  /// replicas differ in labels and named ports. Allowed only when every
  /// pair is.
  public static func explainByWorkload(
    cluster: Cluster, from: WorkloadEndpoint, to: WorkloadEndpoint, probe: PortProbe,
    family: IPAddress.Family = .ipv4
  ) -> Explanation {
    let verdict = ReferenceVerdict(cluster: cluster)
    var pairs: [(Endpoint, Endpoint)] = []
    for source in from.members {
      for destination in to.members where source != destination { pairs.append((source, destination)) }
    }
    // A pod with itself (a bare pod, a one-replica workload): never blocked.
    if pairs.isEmpty, let only = from.members.first { pairs = [(only, only)] }
    var allowed: [(Endpoint, Endpoint)] = []
    var denied: [(Endpoint, Endpoint)] = []
    for pair in pairs {
      if verdict.allows(from: pair.0, to: pair.1, port: probe.port, proto: probe.proto, family: family) {
        allowed.append(pair)
      } else {
        denied.append(pair)
      }
    }
    func plain(_ e: Endpoint) -> String {
      if case .pod(let ns, let name) = e { return "\(ns)/\(name)" }
      if case .address(let ip) = e { return ip.description }
      return ""
    }
    var lines: [String] = []
    let header = "\(from.name) -> \(to.name) on \(probe)"
    if allowed.isEmpty || denied.isEmpty {
      lines.append("\(header): \(denied.isEmpty ? "ALLOWED" : "DENIED")")
      lines.append("  \(sideLine(from, to)); every pod pair gets the same answer, as this one:")
    } else {
      lines.append(
        "\(header): REPLICAS DISAGREE (allowed for \(allowed.count) of \(pairs.count) pod pairs, denied for \(denied.count))"
      )
      lines.append("  \(sideLine(from, to))")
      for side in from.name == to.name ? [from] : [from, to] where side.members.count > 1 {
        let pods = side.members.compactMap { e -> Pod? in
          guard case .pod(let ns, let name) = e, let i = cluster.podIndex(namespace: ns, name: name) else { return nil }
          return cluster.pods[i]
        }
        for line in WorkloadGroups.disagreements(side.name, pods) { lines.append("  replicas disagree: \(line)") }
      }
    }
    var text = lines.joined(separator: "\n") + "\n"
    for (answer, list) in [("allowed", allowed), ("denied", denied)] where !list.isEmpty {
      if !allowed.isEmpty && !denied.isEmpty {
        text +=
          "\(answer) for \(Wording.count(list.count, "pod pair")) ("
          + Wording.list(list.map { "\(plain($0.0)) -> \(plain($0.1))" }, limit: 3) + "), as this one:\n"
      }
      text += explain(cluster: cluster, from: list[0].0, to: list[0].1, probe: probe, family: family).text
    }
    return Explanation(allowed: denied.isEmpty, text: text)
  }

  /// `3 pods of shop/Deployment/web to 2 pods of shop/StatefulSet/db`.
  static func sideLine(_ from: WorkloadEndpoint, _ to: WorkloadEndpoint) -> String {
    func side(_ e: WorkloadEndpoint) -> String {
      guard case .pod = e.members.first else { return e.name }
      return e.members.count == 1 && e.name.split(separator: "/").count == 2
        ? e.name : "\(Wording.count(e.members.count, "pod")) of \(e.name)"
    }
    return "from \(side(from)) to \(side(to))"
  }
}
