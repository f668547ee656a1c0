import PolicyModel

/// The chain of one enforced pod for one direction: the admin tier, then
/// the NetworkPolicies (or the baseline), then the deny.
extension RuleCompiler {
  /// What decides a pod's traffic in one direction.
  struct PodPolicies {
    let selecting: [NetworkPolicy]
    let admin: [AdminPolicy]
    /// Only when no NetworkPolicy selects the pod.
    let baseline: AdminPolicy?

    var isEmpty: Bool { selecting.isEmpty && admin.isEmpty && baseline == nil }
    var usesTiers: Bool { !admin.isEmpty || baseline != nil }
  }

  /// The pod's chain, or nil when nothing isolates the pod in `direction`.
  mutating func podChain(_ pod: Pod, ip: IPAddress, direction: PolicyType, local: [Pod]) -> Chain? {
    let selecting = cluster.policies(selecting: pod, for: direction)
    let policies = PodPolicies(
      selecting: selecting, admin: cluster.adminPolicies(selecting: pod, for: direction),
      baseline: selecting.isEmpty ? cluster.baseline(selecting: pod, for: direction) : nil)
    guard !policies.isEmpty else { return nil }
    let podID = "\(pod.meta.namespace)/\(pod.meta.name)"
    let name = namer.name(kind: direction == .ingress ? "IP" : "EP", [pod.meta.namespace, pod.meta.name])
    let peer: AddressField = direction == .ingress ? .source : .destination
    var rules: [Rule] = [
      Rule([.conntrack([.invalid])], .drop),
      // "A pod talking to itself is never blocked."
      Rule([.address(peer, .host(ip))], .return),
      Rule(policies.usesTiers ? options.tierClear : options.markClear),
    ]
    let deny = PodDeny(options: options, pod: pod, direction: direction)
    rules += adminTier(policies.admin, deny: deny, direction: direction, local: local)
    rules += networkPolicyTier(policies.selecting, direction: direction, local: local)
    if !policies.selecting.isEmpty {
      rules += deny.rules("deny \(direction.rawValue.lowercased()) \(podID)")
    } else if let baseline = policies.baseline {
      rules += baselineTier(baseline, deny: deny, direction: direction, local: local)
    }
    return Chain(name: name, owner: podID, role: .pod, rules: rules)
  }

  /// A jump to each admin policy's chain while no earlier one decided (or
  /// passed), then the decision. Nothing when no admin policy can match.
  mutating func adminTier(_ admin: [AdminPolicy], deny: PodDeny, direction: PolicyType, local: [Pod]) -> [Rule] {
    var rules: [Rule] = []
    for policy in admin {
      let key = "\(direction.rawValue)\u{0}\(policy.meta.name)"
      if adminChainNames[key] == nil { adminChainNames[key] = adminChain(policy, direction: direction, local: local) }
      guard let chain = adminChainNames[key], !chain.isEmpty else { continue }
      // Only while no earlier policy decided (or passed).
      let guardMatch = rules.isEmpty ? [] : [options.tierUndecided]
      rules.append(Rule(guardMatch, .jump(chain), comment: "\(policy.kind) \(policy.meta.name)"))
    }
    guard !rules.isEmpty else { return [] }
    // Pass (or no match): on to the NetworkPolicies or the baseline.
    return rules + deny.decide(tier: "admin") + [Rule(options.tierClear)]
  }

  /// A jump to each selecting policy's chain, returning once one set the mark.
  mutating func networkPolicyTier(_ selecting: [NetworkPolicy], direction: PolicyType, local: [Pod]) -> [Rule] {
    var rules: [Rule] = []
    for policy in selecting {
      let key = "\(direction.rawValue)\u{0}\(policy.meta.namespace)\u{0}\(policy.meta.name)"
      if policyChainNames[key] == nil {
        policyChainNames[key] = policyChain(policy, direction: direction, local: local)
      }
      guard let chain = policyChainNames[key], !chain.isEmpty else { continue }
      rules.append(Rule(.jump(chain), comment: "\(policy.meta.namespace)/\(policy.meta.name)"))
      rules.append(Rule([options.markTest], .return))
    }
    return rules
  }

  /// The baseline's chain and its decision, for a pod no NetworkPolicy selects.
  mutating func baselineTier(_ baseline: AdminPolicy, deny: PodDeny, direction: PolicyType, local: [Pod]) -> [Rule] {
    let key = "\(direction.rawValue)\u{0}\(baseline.kind)"
    if adminChainNames[key] == nil { adminChainNames[key] = adminChain(baseline, direction: direction, local: local) }
    guard let chain = adminChainNames[key], !chain.isEmpty else { return [] }
    return [Rule(.jump(chain), comment: "\(baseline.kind) \(baseline.meta.name)")] + deny.decide(tier: "baseline")
  }
}

/// The end of a pod chain: log (with `--log-denied`, or in audit mode),
/// then deny (or, in audit mode, allow).
struct PodDeny {
  let options: EmitOptions
  let pod: Pod
  let direction: PolicyType

  func rules(_ comment: String) -> [Rule] {
    var out: [Rule] = []
    if let log = options.denyLog {
      out.append(log.rule(ingress: direction == .ingress, namespace: pod.meta.namespace, name: pod.meta.name))
    }
    out.append(Rule(options.denyAction.action, comment: comment))
    return out
  }

  /// Each tier chain sets one decision bit when one of its rules matches;
  /// the pod chain acts on it.
  func decide(tier: String) -> [Rule] {
    let podID = "\(pod.meta.namespace)/\(pod.meta.name)"
    return [Rule([options.tierTest(.allow)], .return, comment: "\(tier) allow")]
      + rules("\(tier) deny \(direction.rawValue.lowercased()) \(podID)").map {
        Rule([options.tierTest(.deny)] + $0.matches, $0.action, comment: $0.comment)
      }
  }
}
