/// One side of a connection: a pod of the cluster, or an address outside it.
public enum Endpoint: Sendable, Hashable {
  case pod(namespace: String, name: String)
  case address(IPAddress)
}

/// Names one rule of one policy, for explanations.
public struct RuleRef: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var policy: ObjectRef
  public var direction: PolicyType
  public var index: Int
  /// The first peer of the rule that matched; nil when the rule has no peers (all match).
  public var peer: Int?
  /// The first port entry that matched; nil when the rule has no ports (all match).
  public var port: Int?

  public init(policy: ObjectRef, direction: PolicyType, index: Int, peer: Int? = nil, port: Int? = nil) {
    self.policy = policy
    self.direction = direction
    self.index = index
    self.peer = peer
    self.port = port
  }

  public var description: String {
    let field = direction == .ingress ? "from" : "to"
    var text = "\(policy) \(direction.rawValue.lowercased())[\(index)]"
    text += peer.map { " \(field)[\($0)]" } ?? " (any peer)"
    text += port.map { " ports[\($0)]" } ?? " (any port)"
    return text
  }

  public static func < (lhs: RuleRef, rhs: RuleRef) -> Bool {
    (lhs.policy, lhs.direction, lhs.index) < (rhs.policy, rhs.direction, rhs.index)
  }
}

/// Names one rule of an AdminNetworkPolicy or of the baseline.
public struct AdminRuleRef: Sendable, Hashable, CustomStringConvertible {
  public var policy: ObjectRef
  public var tier: AdminTier
  public var direction: PolicyType
  public var index: Int
  public var name: String
  public var action: AdminAction

  public init(
    policy: ObjectRef, tier: AdminTier, direction: PolicyType, index: Int, name: String, action: AdminAction
  ) {
    self.policy = policy
    self.tier = tier
    self.direction = direction
    self.index = index
    self.name = name
    self.action = action
  }

  /// `AdminNetworkPolicy deny-db (priority 10) ingress[1] "no-db": Deny`
  public var description: String {
    var text = "\(policy.kind) \(policy.name)"
    if case .admin(let p) = tier { text += " (priority \(p))" }
    text += " \(direction.rawValue.lowercased())[\(index)]"
    if !name.isEmpty { text += " \"\(name)\"" }
    return text + ": \(action.rawValue)"
  }
}

/// What one direction says about a connection, before anything is lowered
/// to iptables.
public enum DirectionVerdict: Sendable, Hashable {
  /// No policy selects the pod for this direction: everything is allowed.
  case notIsolated
  /// Allowed by these rules (every rule that matches, sorted).
  case allowed(by: [RuleRef])
  /// Isolated by these policies and no rule of theirs matches.
  case denied(isolatedBy: [ObjectRef])
  /// The endpoint is outside the cluster (or takes no part): nothing to enforce.
  case notApplicable
  /// An AdminNetworkPolicy rule decided (Allow or Deny), before any NetworkPolicy.
  case admin(AdminRuleRef)
  /// No NetworkPolicy isolates the pod and a baseline rule decided.
  case baseline(AdminRuleRef)

  public var allows: Bool {
    switch self {
    case .denied: return false
    case .admin(let rule), .baseline(let rule): return rule.action != .deny
    default: return true
    }
  }
}

/// The reference verdict, written straight from the spec and independent of
/// the emitter, so tests can hold the emitted rules against it.
public struct ReferenceVerdict {
  public let cluster: Cluster
  /// Policies selecting each pod per direction, filled on first use (the
  /// answer is `cluster.policies(selecting:for:)`, asked once per pod), so
  /// one verdict value is not to be shared between threads.
  private let memo = Memo()

  final class Memo {
    var selecting: [PolicyType: [Int: [NetworkPolicy]]] = [.ingress: [:], .egress: [:]]
  }

  public init(cluster: Cluster) {
    self.cluster = cluster
  }

  func selecting(_ pod: Pod, _ direction: PolicyType) -> [NetworkPolicy] {
    guard let i = cluster.podIndex(namespace: pod.meta.namespace, name: pod.meta.name) else {
      return cluster.policies(selecting: pod, for: direction)
    }
    if let hit = memo.selecting[direction]![i] { return hit }
    let answer = cluster.policies(selecting: pod, for: direction)
    memo.selecting[direction]![i] = answer
    return answer
  }

  /// "A connection from A to B is allowed when A's egress allows it AND B's
  /// ingress allows it." A pod talking to itself is never blocked.
  public func allows(from: Endpoint, to: Endpoint, port: Int, proto: NetProtocol, family: IPAddress.Family = .ipv4)
    -> Bool
  {
    if from == to, case .pod = from { return true }
    let (egress, ingress) = explain(from: from, to: to, port: port, proto: proto, family: family)
    return egress.allows && ingress.allows
  }

  /// Both directions' verdicts: the source's egress and the destination's ingress.
  public func explain(from: Endpoint, to: Endpoint, port: Int, proto: NetProtocol, family: IPAddress.Family = .ipv4)
    -> (egress: DirectionVerdict, ingress: DirectionVerdict)
  {
    let source = pod(from)
    let destination = pod(to)
    let egress =
      source.map {
        verdict(
          subject: $0, peer: to, peerPod: destination, direction: .egress, port: port, proto: proto, family: family)
      } ?? .notApplicable
    let ingress =
      destination.map {
        verdict(subject: $0, peer: from, peerPod: source, direction: .ingress, port: port, proto: proto, family: family)
      } ?? .notApplicable
    return (egress, ingress)
  }

  public func pod(_ endpoint: Endpoint) -> Pod? {
    guard case .pod(let ns, let name) = endpoint, let i = cluster.podIndex(namespace: ns, name: name) else {
      return nil
    }
    return cluster.pods[i]
  }

  /// The verdict of `subject`'s policies for traffic with `peer`: the admin
  /// tier (priority, then rule order: the first matching Allow or Deny is
  /// final, Pass skips the rest of the tier), then the NetworkPolicies, then,
  /// for a pod no NetworkPolicy isolates, the baseline.
  public func verdict(
    subject: Pod, peer: Endpoint, peerPod: Pod?, direction: PolicyType, port: Int, proto: NetProtocol,
    family: IPAddress.Family
  ) -> DirectionVerdict {
    let peerAddress = address(of: peer, peerPod: peerPod, family: family)
    let destination = direction == .ingress ? subject : peerPod
    if let hit = adminDecision(
      subject: subject, peer: peer, peerPod: peerPod, direction: direction, port: port, proto: proto, family: family),
      hit.action != .pass
    {
      return .admin(hit)
    }
    let selecting = self.selecting(subject, direction)
    if selecting.isEmpty {
      if let baseline = cluster.baseline(selecting: subject, for: direction),
        let hit = firstMatch(
          baseline, peerPod: peerPod, peerAddress: peerAddress, direction: direction, port: port, proto: proto,
          destination: destination)
      {
        return .baseline(hit)
      }
      return .notIsolated
    }
    // A peer named as a pod that takes no part (or has no address of this
    // family) can match only rules with no peer restriction.
    var matched: [RuleRef] = []
    for policy in selecting {
      for (index, rule) in policy.rules(direction).enumerated() {
        guard
          let peerIndex = peerMatch(
            rule, namespace: policy.meta.namespace, peerPod: peerPod, peerAddress: peerAddress)
        else { continue }
        guard let portIndex = portMatch(rule, port: port, proto: proto, destination: destination) else { continue }
        matched.append(
          RuleRef(
            policy: policy.ref, direction: direction, index: index, peer: peerIndex < 0 ? nil : peerIndex,
            port: portIndex < 0 ? nil : portIndex))
      }
    }
    return matched.isEmpty ? .denied(isolatedBy: selecting.map(\.ref)) : .allowed(by: matched.sorted())
  }

  func address(of peer: Endpoint, peerPod: Pod?, family: IPAddress.Family) -> IPAddress? {
    switch peer {
    case .address(let ip): return ip
    case .pod: return peerPod?.address(family)
    }
  }

  /// The admin-tier rule that decides (Allow, Deny) or hands the traffic on
  /// (Pass), or nil when no AdminNetworkPolicy rule matches.
  public func adminDecision(
    subject: Pod, peer: Endpoint, peerPod: Pod?, direction: PolicyType, port: Int, proto: NetProtocol,
    family: IPAddress.Family
  ) -> AdminRuleRef? {
    let peerAddress = address(of: peer, peerPod: peerPod, family: family)
    let destination = direction == .ingress ? subject : peerPod
    for policy in cluster.adminPolicies(selecting: subject, for: direction) {
      if let hit = firstMatch(
        policy, peerPod: peerPod, peerAddress: peerAddress, direction: direction, port: port, proto: proto,
        destination: destination)
      {
        return hit
      }
    }
    return nil
  }

  /// An admin policy's first rule for a direction that matches ("inside one
  /// policy, the first matching rule wins"). Named ports resolve against the
  /// destination pod: the subject for ingress, the peer for egress.
  func firstMatch(
    _ policy: AdminPolicy, peerPod: Pod?, peerAddress: IPAddress?, direction: PolicyType, port: Int,
    proto: NetProtocol, destination: Pod?
  ) -> AdminRuleRef? {
    for (index, rule) in policy.rules(direction).enumerated() {
      guard peerMatch(rule.match, namespace: "", peerPod: peerPod, peerAddress: peerAddress) != nil,
        portMatch(rule.match, port: port, proto: proto, destination: destination) != nil
      else { continue }
      return AdminRuleRef(
        policy: policy.ref, tier: policy.tier, direction: direction, index: index, name: rule.name,
        action: rule.action)
    }
    return nil
  }

  /// The index of the first matching peer, -1 for a rule without peers, nil for no match.
  func peerMatch(_ rule: PolicyRule, namespace: String, peerPod: Pod?, peerAddress: IPAddress?) -> Int? {
    // "`from`/`to` empty or missing: every source/destination, in-cluster or not."
    if rule.peers.isEmpty { return -1 }
    return rule.peers.firstIndex { peer in
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        guard let peerPod else { return false }
        return cluster.peerContains(
          pods: pods, namespaces: namespaces, policyNamespace: namespace, pod: peerPod)
      case .ipBlock(let block):
        // "ipBlock matches any address inside cidr and outside every except, INCLUDING pod IPs."
        guard let peerAddress else { return false }
        return block.contains(peerAddress)
      }
    }
  }

  /// The index of the first matching port entry, -1 for a rule without ports, nil for no match.
  func portMatch(_ rule: PolicyRule, port: Int, proto: NetProtocol, destination: Pod?) -> Int? {
    // "`ports` empty or missing: all ports, all protocols."
    if rule.ports.isEmpty { return -1 }
    return rule.ports.firstIndex { entry in
      guard entry.proto == proto else { return false }
      switch entry.port {
      case nil: return true
      case .number(let start)?: return (start...(entry.endPort ?? start)).contains(port)
      case .name(let name)?:
        // "A pod that does not define the name contributes nothing for that entry."
        return destination?.numbers(forPortName: name, proto: proto).contains(port) ?? false
      }
    }
  }
}
