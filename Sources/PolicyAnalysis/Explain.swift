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
    lines += addressNotes(
      verdict: verdict, from: from, to: to, probe: probe, family: family, allowed: allowed,
      name: { name($0, cluster) })
    return Explanation(allowed: allowed, text: lines.joined(separator: "\n") + "\n")
  }

  /// For a pod without an address: "an ipBlock never matches them (no
  /// address)", said where a rule that could decide has an ipBlock peer; and
  /// the rule for answers that depend on the address: the verdict stands as
  /// if no ipBlock matches, and each region of the policies' ipBlocks where
  /// an address would turn it is named.
  static func addressNotes(
    verdict: ReferenceVerdict, from: Endpoint, to: Endpoint, probe: PortProbe, family: IPAddress.Family,
    allowed: Bool, name: (Endpoint) -> String
  ) -> [String] {
    let cluster = verdict.cluster
    let source = verdict.pod(from)
    let destination = verdict.pod(to)
    var lines: [String] = []
    func plain(_ e: Endpoint) -> String {
      if case .pod(let ns, let name) = e { return "\(ns)/\(name)" }
      return name(e)
    }
    // (subject, peer endpoint, peer pod, direction) where the peer has no address.
    var sides: [(subject: Pod, peer: Endpoint, peerPod: Pod, direction: PolicyType)] = []
    if let source, let destination, destination.hasNoAddress { sides.append((source, to, destination, .egress)) }
    if let source, let destination, source.hasNoAddress { sides.append((destination, from, source, .ingress)) }
    for side in sides where hasIPBlockPeer(cluster, side.subject, side.direction) {
      lines.append(
        "  no ipBlock of the \(side.direction.rawValue.lowercased()) rules of \(plain(side.direction == .egress ? from : to)) matches \(plain(side.peer)): it has no address"
      )
    }
    // Each pod without an address in turn: would an address inside some
    // ipBlock region of the policies turn the answer?
    let base = verdict.explain(from: from, to: to, port: probe.port, proto: probe.proto, family: family)
    let regions = ConnectivityEngine.assumableRegions(cluster, family: family)
    for side in sides {
      var turning: [String] = []
      for region in regions {
        guard let address = region.representative else { continue }
        var assumed = side.peerPod
        assumed.ips = [address]
        let v = verdict.verdict(
          subject: side.subject, peer: side.peer, peerPod: assumed, direction: side.direction, port: probe.port,
          proto: probe.proto, family: family)
        let (egress, ingress) = side.direction == .egress ? (v, base.ingress) : (base.egress, v)
        if (egress.allows && ingress.allows) != allowed {
          turning.append(String(region.name.dropFirst("external ".count)))
        }
      }
      guard !turning.isEmpty else { continue }
      lines.append(
        "  depends on an address \(plain(side.peer)) does not have: with one in \(Wording.list(turning, limit: 5)) it would be \(allowed ? "DENIED" : "ALLOWED")"
      )
    }
    return lines
  }

  /// Whether a rule that can decide for the subject in a direction (its
  /// NetworkPolicies, admin policies or baseline) has an ipBlock peer.
  static func hasIPBlockPeer(_ cluster: Cluster, _ subject: Pod, _ direction: PolicyType) -> Bool {
    let rules =
      cluster.policies(selecting: subject, for: direction).flatMap { $0.rules(direction) }
      + cluster.adminPolicies(selecting: subject, for: direction).flatMap { $0.rules(direction).map(\.match) }
      + (cluster.baseline(selecting: subject, for: direction)?.rules(direction).map(\.match) ?? [])
    return rules.contains { rule in
      rule.peers.contains { if case .ipBlock = $0.kind { return true } else { return false } }
    }
  }

  static func name(_ e: Endpoint, _ cluster: Cluster, _ family: IPAddress.Family) -> String {
    switch e {
    case .pod(let ns, let name):
      let ip = cluster.podIndex(namespace: ns, name: name).flatMap { cluster.pods[$0].address(family) }
      guard let i = cluster.podIndex(namespace: ns, name: name) else { return "\(ns)/\(name)" }
      if cluster.pods[i].hasNoAddress { return "\(ns)/\(name) (no address)" }
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
