public import PolicyModel

/// Why a connection is allowed or denied, in words a reviewer can check
/// against the YAML.
public struct Explanation: Sendable {
  public var allowed: Bool
  public var text: String

  /// Resolves `ns/pod` or an address (a pod's address counts as the pod).
  public static func endpoint(_ spec: String, in cluster: Cluster) -> Endpoint? {
    if let ip = IPAddress(spec) {
      if let pod = cluster.pods.first(where: { $0.ips.contains(ip) }) {
        return .pod(namespace: pod.meta.namespace, name: pod.meta.name)
      }
      return .address(ip)
    }
    let parts = spec.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, cluster.podIndex(namespace: String(parts[0]), name: String(parts[1])) != nil else {
      return nil
    }
    return .pod(namespace: String(parts[0]), name: String(parts[1]))
  }

  /// `family` is the traffic's: ipBlocks match pods by their address of it.
  public static func explain(
    cluster: Cluster, from: Endpoint, to: Endpoint, probe: PortProbe, family: IPAddress.Family = .ipv4
  ) -> Explanation {
    let verdict = ReferenceVerdict(cluster: cluster)
    let allowed = verdict.allows(from: from, to: to, port: probe.port, proto: probe.proto, family: family)
    func name(_ e: Endpoint, _ cluster: Cluster) -> String { Self.name(e, cluster, family) }
    var lines = ["\(name(from, cluster)) -> \(name(to, cluster)) on \(probe): \(allowed ? "ALLOWED" : "DENIED")"]
    if from == to, case .pod = from {
      lines.append("  a pod talking to itself is never blocked")
      return Explanation(allowed: true, text: lines.joined(separator: "\n") + "\n")
    }
    let (egress, ingress) = verdict.explain(
      from: from, to: to, port: probe.port, proto: probe.proto, family: family)
    func passed(_ subject: Endpoint, _ peer: Endpoint, _ direction: PolicyType, _ v: DirectionVerdict) -> String {
      if case .admin = v { return "" }
      guard let pod = verdict.pod(subject),
        let hit = verdict.adminDecision(
          subject: pod, peer: peer, peerPod: verdict.pod(peer), direction: direction, port: probe.port,
          proto: probe.proto, family: family)
      else { return "" }
      return "passed on by \(hit); "
    }
    lines.append(
      "  egress of \(name(from, cluster)): " + passed(from, to, .egress, egress)
        + describe(
          egress, direction: .egress, isolatedBy: isolating(from, .egress, cluster),
          adminSelects: adminSelects(from, .egress, cluster)))
    lines.append(
      "  ingress of \(name(to, cluster)): " + passed(to, from, .ingress, ingress)
        + describe(
          ingress, direction: .ingress, isolatedBy: isolating(to, .ingress, cluster),
          adminSelects: adminSelects(to, .ingress, cluster)))
    return Explanation(allowed: allowed, text: lines.joined(separator: "\n") + "\n")
  }

  static func name(_ e: Endpoint, _ cluster: Cluster, _ family: IPAddress.Family) -> String {
    switch e {
    case .pod(let ns, let name):
      let ip = cluster.podIndex(namespace: ns, name: name).flatMap {
        cluster.pods[$0].ips.first { $0.family == family }
      }
      return "\(ns)/\(name)" + (ip.map { " (\($0))" } ?? "")
    case .address(let ip): return "\(ip) (outside the cluster)"
    }
  }

  static func isolating(_ e: Endpoint, _ direction: PolicyType, _ cluster: Cluster) -> [ObjectRef] {
    guard case .pod(let ns, let name) = e, let i = cluster.podIndex(namespace: ns, name: name) else { return [] }
    return cluster.policies(selecting: cluster.pods[i], for: direction).map(\.ref)
  }

  /// Whether an admin policy or the baseline selects the pod for a direction.
  static func adminSelects(_ e: Endpoint, _ direction: PolicyType, _ cluster: Cluster) -> Bool {
    guard case .pod(let ns, let name) = e, let i = cluster.podIndex(namespace: ns, name: name) else { return false }
    let pod = cluster.pods[i]
    return !cluster.adminPolicies(selecting: pod, for: direction).isEmpty
      || cluster.baseline(selecting: pod, for: direction) != nil
  }

  static func describe(
    _ v: DirectionVerdict, direction: PolicyType, isolatedBy: [ObjectRef], adminSelects: Bool = false
  ) -> String {
    let word = direction.rawValue.lowercased()
    switch v {
    case .notApplicable: return "not enforced (not a pod of the cluster)"
    case .notIsolated where adminSelects:
      return "allowed: no admin or baseline rule matches and no NetworkPolicy selects it for \(word)"
    case .notIsolated: return "allowed: no policy selects it for \(word), so it is not isolated"
    case .admin(let rule):
      return "\(rule.action == .deny ? "denied" : "allowed") by \(rule) (admin tier, before any NetworkPolicy)"
    case .baseline(let rule):
      return
        "\(rule.action == .deny ? "denied" : "allowed") by \(rule) (baseline: no NetworkPolicy isolates it for \(word))"
    case .allowed(let rules):
      return "isolated for \(word) by " + isolatedBy.map(\.description).joined(separator: ", ") + "; allowed by "
        + rules.map(\.description).joined(separator: "; ")
    case .denied(let policies):
      return "denied: isolated for \(word) by " + policies.map(\.description).joined(separator: ", ")
        + ", and no rule of theirs matches"
    }
  }
}
