public import PolicyModel

/// A second, independent reading of the NetworkPolicy and AdminNetworkPolicy
/// APIs, the oracle of the property tests.
///
/// It reads the decoded objects' fields and nothing else of PolicyModel: its
/// selector evaluation, participation rules, namespace labels, peer and port
/// matching, ipBlock containment and tier order are its own, written from
/// the API documentation (docs/semantics.md), so that a bug in the
/// helpers the emitters and the connectivity engine share cannot hide in
/// the oracle too. `ReferenceIndependenceTests` keeps it that way.
public struct IndependentReference: Sendable {
  /// What one direction says about a connection.
  public enum Decision: Sendable, Hashable {
    /// The endpoint is not a pod that takes part: nothing to enforce.
    case notApplicable
    case allow
    case deny

    public var allows: Bool { self != .deny }
  }

  /// Every namespace with its labels, including `kubernetes.io/metadata.name`.
  public let namespaceLabels: [String: [String: String]]
  /// Pods that take part, by `namespace/name`.
  let members: [String: Pod]
  /// Every pod given, by `namespace/name`, for the addresses of those that take no part.
  let everyPod: [String: Pod]
  /// NetworkPolicies by namespace ("podSelector of the policy selects pods
  /// in the policy's own namespace").
  let policies: [String: [NetworkPolicy]]
  /// AdminNetworkPolicies in evaluation order.
  let admins: [AdminPolicy]
  let baseline: AdminPolicy?

  public init(namespaces: [Namespace], pods: [Pod], policies: [NetworkPolicy], adminPolicies: [AdminPolicy] = []) {
    // "Every namespace carries the label kubernetes.io/metadata.name: <name>,
    // even when the manifest omits it. A namespace that only appears through
    // a pod or policy exists with that one label."
    let nameKey = "kubernetes.io/metadata.name"
    var labels: [String: [String: String]] = [:]
    for namespace in namespaces {
      var own = namespace.labels
      own[nameKey] = namespace.name
      labels[namespace.name] = own
    }
    for name in pods.map(\.meta.namespace) + policies.map(\.meta.namespace) where labels[name] == nil {
      labels[name] = [nameKey: name]
    }
    namespaceLabels = labels
    var members: [String: Pod] = [:]
    for pod in pods where Self.takesPart(pod) { members[pod.meta.namespace + "/" + pod.meta.name] = pod }
    self.members = members
    var everyPod: [String: Pod] = [:]
    for pod in pods { everyPod[pod.meta.namespace + "/" + pod.meta.name] = pod }
    self.everyPod = everyPod
    self.policies = Dictionary(grouping: policies) { $0.meta.namespace }
    // AdminNetworkPolicies run by priority (lower first); equal priorities by name.
    admins = adminPolicies.filter { if case .admin = $0.tier { return true } else { return false } }
      .sorted { a, b in
        let (pa, pb) = (Self.priority(a), Self.priority(b))
        return pa != pb ? pa < pb : a.meta.name < b.meta.name
      }
    // The baseline is the singleton named `default`.
    baseline = adminPolicies.first { $0.tier == .baseline && $0.meta.name == "default" }
  }

  static func priority(_ policy: AdminPolicy) -> Int {
    if case .admin(let p) = policy.tier { return p }
    return Int.max
  }

  /// "Pods that take no part at all: spec.hostNetwork: true, and pods in
  /// phase Succeeded or Failed." A pod without an IP cannot be addressed, so
  /// it is no endpoint either; a workload's pod template (a stand-in for
  /// analysis, with no address by nature) takes part unless host-network.
  static func takesPart(_ pod: Pod) -> Bool {
    if pod.hostNetwork { return false }
    if pod.workloadKind != nil { return true }
    return pod.phase != "Succeeded" && pod.phase != "Failed" && !pod.ips.isEmpty
  }

  /// The pod behind an endpoint, when it is a pod that takes part.
  public func member(_ endpoint: Endpoint) -> Pod? {
    guard case .pod(let namespace, let name) = endpoint else { return nil }
    return members[namespace + "/" + name]
  }

  /// "A connection from A to B is allowed when A's egress allows it AND B's
  /// ingress allows it." "A pod talking to itself is never blocked."
  public func allows(
    from source: Endpoint, to destination: Endpoint, port: Int, proto: NetProtocol, family: IPAddress.Family = .ipv4
  ) -> Bool {
    if source == destination, member(source) != nil { return true }
    let (egress, ingress) = decide(from: source, to: destination, port: port, proto: proto, family: family)
    return egress.allows && ingress.allows
  }

  /// Both directions: the source's egress and the destination's ingress.
  public func decide(
    from source: Endpoint, to destination: Endpoint, port: Int, proto: NetProtocol, family: IPAddress.Family = .ipv4
  ) -> (egress: Decision, ingress: Decision) {
    let sourcePod = member(source)
    let destinationPod = member(destination)
    let sourceAddress = address(source, sourcePod, family)
    let destinationAddress = address(destination, destinationPod, family)
    var egress = Decision.notApplicable
    if let sourcePod {
      let traffic = Traffic(
        peer: destinationPod, peerAddress: destinationAddress, destination: destinationPod, port: port, proto: proto)
      egress = decide(subject: sourcePod, direction: .egress, traffic)
    }
    var ingress = Decision.notApplicable
    if let destinationPod {
      let traffic = Traffic(
        peer: sourcePod, peerAddress: sourceAddress, destination: destinationPod, port: port, proto: proto)
      ingress = decide(subject: destinationPod, direction: .ingress, traffic)
    }
    return (egress, ingress)
  }

  /// The address an endpoint has in a family: a pod's first IP of that
  /// family. A pod that takes no part is seen as its address (if any).
  func address(_ endpoint: Endpoint, _ pod: Pod?, _ family: IPAddress.Family) -> IPAddress? {
    switch endpoint {
    case .address(let ip): return ip.family == family ? ip : nil
    case .pod(let namespace, let name):
      return (pod ?? everyPod[namespace + "/" + name])?.ips.first { $0.family == family }
    }
  }

  /// One connection seen from the subject's side.
  struct Traffic {
    /// The other side, when it is a pod that takes part.
    var peer: Pod?
    var peerAddress: IPAddress?
    /// Whose containers named ports resolve against.
    var destination: Pod?
    var port: Int
    var proto: NetProtocol
  }

  /// Tier order: AdminNetworkPolicies (first matching rule: Allow and Deny
  /// are final, Pass skips the rest of the tier), then the NetworkPolicies
  /// that isolate the subject, then, for a subject no NetworkPolicy isolates
  /// in this direction, the baseline.
  func decide(subject: Pod, direction: PolicyType, _ traffic: Traffic) -> Decision {
    adminTier: for policy in admins where subjectSelected(policy, subject) {
      for rule in direction == .ingress ? policy.ingress : policy.egress
      where ruleMatches(rule.match, policyNamespace: nil, traffic) {
        switch rule.action {
        case .allow: return .allow
        case .deny: return .deny
        case .pass: break adminTier
        }
      }
    }
    // "A pod is isolated for ingress when at least one policy with Ingress in
    // its policyTypes selects it; likewise for egress."
    let isolating = (policies[subject.meta.namespace] ?? []).filter {
      $0.policyTypes.contains(direction) && selectorHolds($0.podSelector, subject.meta.labels)
    }
    if isolating.isEmpty {
      if let baseline, subjectSelected(baseline, subject) {
        for rule in direction == .ingress ? baseline.ingress : baseline.egress
        where ruleMatches(rule.match, policyNamespace: nil, traffic) {
          return rule.action == .deny ? .deny : .allow
        }
      }
      return .allow
    }
    // "Policies are additive: traffic is allowed in a direction when ANY rule
    // of ANY policy that selects the pod for that direction allows it."
    for policy in isolating {
      for rule in direction == .ingress ? policy.ingress : policy.egress
      where ruleMatches(rule, policyNamespace: policy.meta.namespace, traffic) {
        return .allow
      }
    }
    return .deny
  }

  /// An admin policy's subject: pods of the matching namespaces, narrowed
  /// by a pod selector when it has one.
  func subjectSelected(_ policy: AdminPolicy, _ pod: Pod) -> Bool {
    guard let labels = namespaceLabels[pod.meta.namespace], selectorHolds(policy.subject.namespaces, labels) else {
      return false
    }
    return policy.subject.pods.map { selectorHolds($0, pod.meta.labels) } ?? true
  }

  func ruleMatches(_ rule: PolicyRule, policyNamespace: String?, _ traffic: Traffic) -> Bool {
    peersMatch(rule.peers, policyNamespace: policyNamespace, traffic) && portsMatch(rule.ports, traffic)
  }
}
