public import PolicyModel

/// Allowed port sets between endpoints, computed once per equivalence class
/// of pods: pods in the same namespace with the same labels, the same named
/// ports and the same membership in every ipBlock no policy can tell apart,
/// so a 5,000-pod cluster costs as much as its few hundred classes.
public struct ConnectivityEngine: Sendable {
  public let cluster: Cluster
  /// The address family of the traffic: ipBlocks match a pod by its address
  /// of this family, as in `ReferenceVerdict`.
  public let family: IPAddress.Family
  /// Class index of each pod of `cluster.pods`.
  public let classOfPod: [Int]
  /// Members (pod indices) of each class, sorted.
  public let classMembers: [[Int]]
  let blocks: [IPBlock]
  /// Policies selecting each class, per direction (computed once).
  let selecting: [PolicyType: [[NetworkPolicy]]]

  public init(cluster: Cluster, family: IPAddress.Family = .ipv4) {
    self.family = family
    self.cluster = cluster
    var blocks = Set<IPBlock>()
    let adminRules = (cluster.adminPolicies + (cluster.baseline.map { [$0] } ?? [])).flatMap {
      ($0.ingress + $0.egress).map(\.match)
    }
    for rule in cluster.policies.flatMap({ $0.ingress + $0.egress }) + adminRules {
      for peer in rule.peers { if case .ipBlock(let b) = peer.kind { blocks.insert(b) } }
    }
    self.blocks = blocks.sorted {
      ($0.cidr, $0.except.map(\.description).joined(separator: ",")) < (
        $1.cidr, $1.except.map(\.description).joined(separator: ",")
      )
    }
    var index: [ClassKey: Int] = [:]
    var members: [[Int]] = []
    var classOf: [Int] = []
    for (i, pod) in cluster.pods.enumerated() {
      let key = ClassKey(pod: pod, blocks: self.blocks)
      let c =
        index[key]
        ?? {
          index[key] = members.count
          members.append([])
          return members.count - 1
        }()
      members[c].append(i)
      classOf.append(c)
    }
    classOfPod = classOf
    classMembers = members
    var selecting: [PolicyType: [[NetworkPolicy]]] = [:]
    for direction in [PolicyType.ingress, .egress] {
      selecting[direction] = members.map { cluster.policies(selecting: cluster.pods[$0[0]], for: direction) }
    }
    self.selecting = selecting
  }

  struct ClassKey: Hashable {
    var namespace: String
    var labels: [String: String]
    var ports: [ContainerPort]
    var blockMembership: [Bool]
    var kind: String?
    /// An endpoint without an address is told apart from one outside every
    /// block: only its answers can depend on an address it does not have.
    var addressless: Bool

    init(pod: Pod, blocks: [IPBlock]) {
      namespace = pod.meta.namespace
      labels = pod.meta.labels
      ports = pod.ports.sorted { ($0.name ?? "", $0.number, $0.proto) < ($1.name ?? "", $1.number, $1.proto) }
      blockMembership = blocks.map { b in pod.ips.contains(where: b.contains) }
      kind = pod.workloadKind
      addressless = pod.hasNoAddress
    }
  }

  /// The ports a connection from `from` to `to` may use: the source's egress
  /// AND the destination's ingress. Pods are indices into `cluster.pods`.
  ///
  /// With `assuming`, a pod without an address (on either side) is given
  /// that address, to ask whether the answer depends on the address.
  public func allowedPorts(from: Side, to: Side, assuming: IPAddress? = nil) -> PortSet {
    // A pod talking to itself is never blocked; a workload's template stands
    // for its replicas, and two replicas are a real pair.
    if case .pod(let a) = from, case .pod(let b) = to, a == b, cluster.pods[a].workloadKind == nil { return .all }
    let egress: PortSet
    if case .pod(let a) = from {
      egress = directionPorts(
        subject: cluster.pods[a], selecting: selecting[.egress]![classOfPod[a]], peer: to, direction: .egress,
        assuming: assuming)
    } else {
      egress = .all
    }
    if egress.isEmpty { return .none }
    guard case .pod(let b) = to else { return egress }
    return egress.intersection(
      directionPorts(
        subject: cluster.pods[b], selecting: selecting[.ingress]![classOfPod[b]], peer: from, direction: .ingress,
        assuming: assuming))
  }

  /// Addresses of the traffic's family that ipBlocks of the policies tell
  /// apart, one per region inside at least one block: the addresses a pod
  /// without one might have that could change an answer (an address outside
  /// every block matches no ipBlock, as no address does).
  public var assumableAddresses: [IPAddress] {
    Self.assumableRegions(cluster, family: family).compactMap(\.representative)
  }

  /// The regions behind `assumableAddresses`, with their names.
  public static func assumableRegions(_ cluster: Cluster, family: IPAddress.Family) -> [AnalysisEndpoint] {
    let regions = ExternalRegions.regions(for: cluster.policies, adminPolicies: cluster.allAdminPolicies, avoiding: [])
    let rules =
      cluster.policies.flatMap { $0.ingress + $0.egress }
      + cluster.allAdminPolicies.flatMap { ($0.ingress + $0.egress).map(\.match) }
    let cidrs = rules.flatMap(\.peers).compactMap { peer -> CIDR? in
      if case .ipBlock(let block) = peer.kind { return block.cidr }
      return nil
    }
    return regions.filter { region in
      guard let address = region.representative, address.family == family else { return false }
      return cidrs.contains { $0.contains(address) }
    }
  }

  /// The port sets a pair would have if its pods without an address had one
  /// (each of `addresses` in turn), when any of them differs from the answer
  /// without an address; empty when the answer does not depend on it.
  public func addressDependence(from: Side, to: Side, addresses: [IPAddress]) -> [(IPAddress, PortSet)] {
    let unaddressed = [from, to].contains {
      if case .pod(let i) = $0 { return cluster.pods[i].hasNoAddress }
      return false
    }
    guard unaddressed, !addresses.isEmpty else { return [] }
    if case .pod(let a) = from, case .pod(let b) = to, a == b, cluster.pods[a].workloadKind == nil { return [] }
    let base = allowedPorts(from: from, to: to)
    return addresses.compactMap { address in
      let other = allowedPorts(from: from, to: to, assuming: address)
      return other == base ? nil : (address, other)
    }
  }

  public enum Side: Sendable, Hashable {
    case pod(Int)
    case address(IPAddress)
  }

  /// The union of the ports every matching rule allows; everything when no
  /// policy isolates the subject in this direction.
  public func directionPorts(subject: Pod, peer: Side, direction: PolicyType) -> PortSet {
    directionPorts(
      subject: subject, selecting: cluster.policies(selecting: subject, for: direction), peer: peer,
      direction: direction, assuming: nil)
  }

  /// The tiers as port sets: admin rules decide their ports in order (Pass
  /// hands its ports to the NetworkPolicy tier), NetworkPolicies decide the
  /// rest for an isolated pod, the baseline for one that is not.
  func directionPorts(
    subject: Pod, selecting: [NetworkPolicy], peer: Side, direction: PolicyType, assuming: IPAddress?
  ) -> PortSet {
    let admin = cluster.adminPolicies(selecting: subject, for: direction)
    let baseline = selecting.isEmpty ? cluster.baseline(selecting: subject, for: direction) : nil
    if admin.isEmpty && baseline == nil {
      return selecting.isEmpty
        ? .all
        : networkPolicyPorts(
          subject: subject, selecting: selecting, peer: peer, direction: direction, assuming: assuming)
    }
    let (peerPod, peerAddresses) = resolve(peer, assuming: assuming)
    let destination = direction == .ingress ? subject : peerPod
    var allowed = PortSet.none
    var undecided = PortSet.all
    var passed = PortSet.none
    for policy in admin {
      for rule in policy.rules(direction) {
        guard matches(rule.match, namespace: "", peerPod: peerPod, peerAddresses: peerAddresses) else { continue }
        let hit = ports(rule.match, destination: destination).intersection(undecided)
        switch rule.action {
        case .allow: allowed = allowed.union(hit)
        case .pass: passed = passed.union(hit)
        case .deny: break
        }
        undecided = undecided.subtracting(hit)
      }
    }
    var rest = undecided.union(passed)
    if !selecting.isEmpty {
      return allowed.union(
        networkPolicyPorts(subject: subject, selecting: selecting, peer: peer, direction: direction, assuming: assuming)
          .intersection(rest))
    }
    for rule in baseline?.rules(direction) ?? [] {
      guard matches(rule.match, namespace: "", peerPod: peerPod, peerAddresses: peerAddresses) else { continue }
      let hit = ports(rule.match, destination: destination).intersection(rest)
      if rule.action == .allow { allowed = allowed.union(hit) }
      rest = rest.subtracting(hit)
    }
    return allowed.union(rest)
  }

  /// The peer's pod and its addresses of the traffic's family: "an ipBlock
  /// never matches them (no address)" for a pod without one, unless an
  /// address is assumed for it.
  func resolve(_ peer: Side, assuming: IPAddress?) -> (Pod?, [IPAddress]) {
    switch peer {
    case .pod(let i):
      let pod = cluster.pods[i]
      if pod.hasNoAddress, let assuming { return (pod, [assuming]) }
      return (pod, pod.ips.filter { $0.family == family })
    case .address(let ip): return (nil, [ip])
    }
  }

  func networkPolicyPorts(
    subject: Pod, selecting: [NetworkPolicy], peer: Side, direction: PolicyType, assuming: IPAddress?
  ) -> PortSet {
    let (peerPod, peerAddresses) = resolve(peer, assuming: assuming)
    var set = PortSet.none
    for policy in selecting {
      for rule in policy.rules(direction) {
        guard matches(rule, namespace: policy.meta.namespace, peerPod: peerPod, peerAddresses: peerAddresses) else {
          continue
        }
        set = set.union(ports(rule, destination: direction == .ingress ? subject : peerPod))
        if set == .all { return set }
      }
    }
    return set
  }

  func matches(_ rule: PolicyRule, namespace: String, peerPod: Pod?, peerAddresses: [IPAddress]) -> Bool {
    if rule.peers.isEmpty { return true }
    return rule.peers.contains { peer in
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        guard let peerPod else { return false }
        return cluster.peerContains(pods: pods, namespaces: namespaces, policyNamespace: namespace, pod: peerPod)
      case .ipBlock(let block):
        return peerAddresses.contains(where: block.contains)
      }
    }
  }

  func ports(_ rule: PolicyRule, destination: Pod?) -> PortSet {
    if rule.ports.isEmpty { return .all }
    var set = PortSet.none
    for entry in rule.ports {
      switch entry.port {
      case nil: set = set.union(PortSet(entry.proto, PortSet.full))
      case .number(let start)?: set = set.union(PortSet(entry.proto, start...(entry.endPort ?? start)))
      case .name(let name)?:
        for n in destination?.numbers(forPortName: name, proto: entry.proto) ?? [] {
          set = set.union(PortSet(entry.proto, n...n))
        }
      }
    }
    return set
  }
}
