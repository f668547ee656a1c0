public import PolicyModel

/// One side of a connection as review tools show it: a pod, a workload's
/// pod template, or a region of addresses outside the cluster.
public struct AnalysisEndpoint: Sendable, Hashable, Comparable {
  public enum Kind: String, Sendable, Hashable, Comparable {
    case pod, workload, external
    public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
  }

  public var kind: Kind
  /// `namespace/name` (`namespace/Deployment/name` for workloads), or the
  /// region's description for external endpoints.
  public var name: String
  /// An address that stands for an external region.
  public var representative: IPAddress?

  public static func < (lhs: AnalysisEndpoint, rhs: AnalysisEndpoint) -> Bool {
    (lhs.kind == .external ? 1 : 0, lhs.name) < (rhs.kind == .external ? 1 : 0, rhs.name)
  }

  public static func name(of pod: Pod) -> String {
    if let kind = pod.workloadKind { return "\(pod.meta.namespace)/\(kind)/\(pod.meta.name)" }
    return "\(pod.meta.namespace)/\(pod.meta.name)"
  }
}

/// Splits the addresses outside the cluster into the regions the policies
/// can tell apart: addresses inside the same set of mentioned CIDRs behave
/// alike, so one representative address stands for each region.
public enum ExternalRegions {
  public static func regions(
    for policies: [NetworkPolicy], adminPolicies: [AdminPolicy] = [], avoiding podIPs: Set<IPAddress>
  ) -> [AnalysisEndpoint] {
    var cidrs = Set<CIDR>()
    let rules =
      policies.flatMap { $0.ingress + $0.egress } + adminPolicies.flatMap { ($0.ingress + $0.egress).map(\.match) }
    for rule in rules {
      for peer in rule.peers {
        if case .ipBlock(let block) = peer.kind { cidrs.insert(block.cidr); cidrs.formUnion(block.except) }
      }
    }
    var out: [AnalysisEndpoint] = []
    for family in [IPAddress.Family.ipv4, .ipv6] {
      let mentioned = cidrs.filter { $0.family == family }.sorted()
      if mentioned.isEmpty && family == .ipv6 { continue }
      // Boundaries of every mentioned block cut the address line into
      // intervals; intervals inside the same blocks form one region.
      var cuts = Set<UInt128>([0])
      let top: UInt128 = family == .ipv4 ? 0xffff_ffff : .max
      for c in mentioned {
        cuts.insert(c.first)
        if c.last < top { cuts.insert(c.last + 1) }
      }
      let starts = cuts.sorted()
      var regions: [[Bool]: (start: UInt128, name: String)] = [:]
      for (i, start) in starts.enumerated() {
        let end = i + 1 < starts.count ? starts[i + 1] - 1 : top
        let membership = mentioned.map { $0.contains(IPAddress(family: family, value: start)) }
        guard regions[membership] == nil else { continue }
        // Pick an address of the interval that is not a pod's.
        var candidate = start
        while podIPs.contains(IPAddress(family: family, value: candidate)), candidate < end { candidate += 1 }
        let inside = zip(mentioned, membership).filter(\.1).map(\.0)
        let name: String
        if let smallest = inside.max(by: { $0.prefix < $1.prefix }) {
          let inner = mentioned.filter { smallest.strictlyContains($0) && !inside.contains($0) }
          // Only the outermost excluded blocks: one inside another adds nothing.
          let excluded = inner.filter { c in !inner.contains { $0 != c && $0.strictlyContains(c) } }
          name =
            "\(smallest)" + (excluded.isEmpty ? "" : " except " + excluded.map(\.description).joined(separator: ","))
        } else {
          let zero = family == .ipv4 ? "0.0.0.0/0" : "::/0"
          let top = mentioned.filter { c in !mentioned.contains { $0 != c && $0.strictlyContains(c) } }
          name = zero + (top.isEmpty ? "" : " except " + top.map(\.description).joined(separator: ","))
        }
        regions[membership] = (candidate, "external " + name)
      }
      for (_, region) in regions {
        out.append(
          AnalysisEndpoint(
            kind: .external, name: region.name, representative: IPAddress(family: family, value: region.start)))
      }
    }
    return out.sorted()
  }
}
