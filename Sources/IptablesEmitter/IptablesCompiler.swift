import PolicyModel

/// Lowers a resolved cluster into the chains one node needs.
///
/// Shape of the result (every jump direction-specific):
///
///     FORWARD -> POLICYC-FORWARD: replies pass; then POLICYC-EGRESS, POLICYC-INGRESS
///     POLICYC-EGRESS:  -s <local pod isolated for egress>  -g POLICYC-EP-<pod>
///     POLICYC-INGRESS: -d <local pod isolated for ingress> -g POLICYC-IP-<pod>
///     POLICYC-EP/IP-<pod>: for each policy selecting the pod: -j its chain,
///                          RETURN if it set the mark; else REJECT (or DROP)
///     POLICYC-EG/IN-<policy>: one rule per allowed (peer, port): set the mark
///
/// Allowed traffic RETURNs instead of ACCEPTing, so rules of other software
/// after the jump still see it; the mark bit is cleared before leaving.
public struct IptablesCompiler {
  public let cluster: Cluster
  public let options: EmitOptions
  var namer = ChainNamer()
  var chains: [IptablesChain] = []
  var sets: [String: IPSetDefinition] = [:]

  public init(cluster: Cluster, options: EmitOptions) {
    self.cluster = cluster
    self.options = options
  }

  public enum Failure: Error, CustomStringConvertible {
    case nameCollision([String])
    public var description: String {
      switch self {
      case .nameCollision(let names):
        return "chain name collision for \(names.joined(separator: ", ")); please report this input"
      }
    }
  }

  public static func compile(_ cluster: Cluster, options: EmitOptions) throws(Failure) -> IptablesRuleSet {
    var compiler = IptablesCompiler(cluster: cluster, options: options)
    return try compiler.run()
  }

  var lowering: RuleLowering { RuleLowering(cluster: cluster, options: options) }

  /// Local pods with an address of the family, sorted by namespace/name.
  var localPods: [Pod] {
    cluster.pods.filter { pod in
      (options.node == nil || pod.nodeName == options.node) && lowering.address(pod) != nil
    }
  }

  mutating func run() throws(Failure) -> IptablesRuleSet {
    var dispatch: [PolicyType: [IptablesRule]] = [.ingress: [], .egress: []]
    var policyChains: [String: String] = [:]  // policy identity -> chain name (or "" when it allows nothing)
    var podChains: [IptablesChain] = []
    let local = localPods
    var adminChains: [String: String] = [:]  // admin policy identity -> chain name (or "")
    for direction in [PolicyType.egress, .ingress] {
      for pod in local {
        let selecting = cluster.policies(selecting: pod, for: direction)
        let admin = cluster.adminPolicies(selecting: pod, for: direction)
        let baseline = selecting.isEmpty ? cluster.baseline(selecting: pod, for: direction) : nil
        guard !selecting.isEmpty || !admin.isEmpty || baseline != nil, let ip = lowering.address(pod) else { continue }
        let podID = "\(pod.meta.namespace)/\(pod.meta.name)"
        let podChain = namer.name(kind: direction == .ingress ? "IP" : "EP", [pod.meta.namespace, pod.meta.name])
        var rules: [IptablesRule] = [
          IptablesRule(matches: ["-m", "conntrack", "--ctstate", "INVALID"], target: ["-j", "DROP"]),
          // "A pod talking to itself is never blocked."
          IptablesRule(matches: Match.address(direction == .ingress ? "-s" : "-d", ip), target: ["-j", "RETURN"]),
          IptablesRule(target: admin.isEmpty && baseline == nil ? options.markClear : options.tierClear),
        ]
        let options = self.options
        func deny(_ comment: String) -> [IptablesRule] {
          var out: [IptablesRule] = []
          if let log = options.log {
            out.append(log.rule(ingress: direction == .ingress, namespace: pod.meta.namespace, name: pod.meta.name))
          }
          out.append(IptablesRule(target: options.denyAction.target(options.family), comment: comment))
          return out
        }
        // Each tier chain sets one decision bit when one of its rules
        // matches; the pod chain acts on it.
        func decide(tier: String) -> [IptablesRule] {
          [IptablesRule(matches: options.tierTest(.allow), target: ["-j", "RETURN"], comment: "\(tier) allow")]
            + deny("\(tier) deny \(direction.rawValue.lowercased()) \(podID)").map {
              IptablesRule(matches: options.tierTest(.deny) + $0.matches, target: $0.target, comment: $0.comment)
            }
        }
        if !admin.isEmpty {
          var jumps = 0
          for policy in admin {
            let key = "\(direction.rawValue)\u{0}\(policy.meta.name)"
            if adminChains[key] == nil { adminChains[key] = adminChain(policy, direction: direction, local: local) }
            guard let chain = adminChains[key], !chain.isEmpty else { continue }
            // Only while no earlier policy decided (or passed).
            let guardMatch = jumps == 0 ? [] : options.tierUndecided
            rules.append(
              IptablesRule(matches: guardMatch, target: ["-j", chain], comment: "\(policy.kind) \(policy.meta.name)"))
            jumps += 1
          }
          if jumps > 0 {
            rules += decide(tier: "admin")
            // Pass (or no match): on to the NetworkPolicies or the baseline.
            rules.append(IptablesRule(target: options.tierClear))
          }
        }
        for policy in selecting {
          let key = "\(direction.rawValue)\u{0}\(policy.meta.namespace)\u{0}\(policy.meta.name)"
          if policyChains[key] == nil { policyChains[key] = policyChain(policy, direction: direction, local: local) }
          guard let chain = policyChains[key], !chain.isEmpty else { continue }
          rules.append(IptablesRule(target: ["-j", chain], comment: "\(policy.meta.namespace)/\(policy.meta.name)"))
          rules.append(IptablesRule(matches: options.markTest, target: ["-j", "RETURN"]))
        }
        if !selecting.isEmpty {
          rules += deny("deny \(direction.rawValue.lowercased()) \(podID)")
        } else if let baseline {
          let key = "\(direction.rawValue)\u{0}\(baseline.kind)"
          if adminChains[key] == nil { adminChains[key] = adminChain(baseline, direction: direction, local: local) }
          if let chain = adminChains[key], !chain.isEmpty {
            rules.append(IptablesRule(target: ["-j", chain], comment: "\(baseline.kind) \(baseline.meta.name)"))
            rules += decide(tier: "baseline")
          }
        }
        podChains.append(IptablesChain(name: podChain, owner: podID, rules: rules))
        let flag = direction == .ingress ? "-d" : "-s"
        dispatch[direction]!.append(
          IptablesRule(matches: Match.address(flag, ip), target: ["-g", podChain], comment: podID))
      }
    }
    // IPv6 needs neighbour discovery (and router discovery, redirects)
    // whatever the policies say, or nothing reaches a policed pod at all;
    // conntrack does not track it, so it is let through by type, first.
    let neighbourDiscovery =
      options.family == .ipv6
      ? Self.ndpTypes.map {
        IptablesRule(
          matches: ["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", String($0.type)], target: ["-j", "RETURN"],
          comment: "ICMPv6 \($0.name)")
      } : []
    let root = IptablesChain(
      name: "POLICYC-FORWARD", owner: "policyc",
      rules: neighbourDiscovery + [
        IptablesRule(matches: ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"], target: ["-j", "RETURN"]),
        IptablesRule(target: ["-j", "POLICYC-EGRESS"]),
        IptablesRule(target: ["-j", "POLICYC-INGRESS"]),
        IptablesRule(target: options.markClear),
      ])
    let shared = [
      root,
      IptablesChain(name: "POLICYC-EGRESS", owner: "policyc", rules: dispatch[.egress]!),
      IptablesChain(name: "POLICYC-INGRESS", owner: "policyc", rules: dispatch[.ingress]!),
    ]
    if !namer.collisions.isEmpty { throw .nameCollision(namer.collisions.sorted()) }
    let all = shared + podChains + chains.sorted { $0.name < $1.name }
    let summary = [
      "node: \(options.node.map(Sanitize.token) ?? "(all pods local)")"
        + (options.family == .ipv6 ? ", family: ipv6" : ""),
      "local pods: \(local.count), pods in cluster: \(cluster.pods.count), policies: \(cluster.policies.count)"
        + (cluster.allAdminPolicies.isEmpty
          ? ""
          : ", admin policies: \(cluster.adminPolicies.count), baseline: \(cluster.baseline == nil ? "none" : "default")"),
      "isolated: \(dispatch[.ingress]!.count) for ingress, \(dispatch[.egress]!.count) for egress",
    ]
    var ruleSet = IptablesRuleSet(
      chains: all, hooks: [IptablesHook(builtin: "FORWARD", chain: "POLICYC-FORWARD")], summary: summary)
    ruleSet.sets = sets.values.sorted { $0.name < $1.name }
    ruleSet.family = options.family
    return ruleSet
  }

  /// ICMPv6 types of neighbour and router discovery (RFC 4861), by number,
  /// as ip6tables-save prints them (apply compares what it loaded with that).
  static let ndpTypes: [(type: Int, name: String)] = [
    (133, "router-solicitation"), (134, "router-advertisement"), (135, "neighbour-solicitation"),
    (136, "neighbour-advertisement"), (137, "redirect"),
  ]

  /// Builds the chain of one policy's rules for one direction and returns
  /// its name, or "" when the policy allows nothing in that direction.
  mutating func policyChain(_ policy: NetworkPolicy, direction: PolicyType, local: [Pod]) -> String {
    let ns = policy.meta.namespace
    let name = policy.meta.name
    let owner = "\(ns)/\(name)"
    let chainName = namer.name(kind: direction == .ingress ? "IN" : "EG", [ns, name])
    var rules: [IptablesRule] = []
    let localTargets = cluster.targets(of: policy).map { cluster.pods[$0] }.filter { pod in
      local.contains { $0.meta.namespace == pod.meta.namespace && $0.meta.name == pod.meta.name }
    }
    for (index, rule) in policy.rules(direction).enumerated() {
      rules += ruleMatches(
        rule, namespace: ns, identity: [ns, name, direction.rawValue, String(index)], direction: direction,
        localTargets: localTargets, owner: owner, comment: "\(owner) \(direction.rawValue.lowercased())[\(index)]",
        mark: options.markSet)
    }
    guard !rules.isEmpty else { return "" }
    chains.append(IptablesChain(name: chainName, owner: owner, rules: rules))
    return chainName
  }

  /// The rules that set `mark` for every (peer, port) pair one rule matches.
  mutating func ruleMatches(
    _ rule: PolicyRule, namespace ns: String, identity: [String], direction: PolicyType, localTargets: [Pod],
    owner: String, comment: String, mark: [String]
  ) -> [IptablesRule] {
    let peers =
      options.useIPSets
      ? setPeerAlternatives(rule, namespace: ns, owner: owner) : lowering.peerAlternatives(rule, namespace: ns)
    if direction == .ingress {
      let ports = lowering.portAlternatives(rule) { localTargets }
      return emit(
        peers: peers, ports: ports.plain + ports.named, flag: "-s", identity: identity + ["p"], owner: owner,
        comment: comment, mark: mark)
    }
    let ports = lowering.portAlternatives(rule) { lowering.peerPods(rule, namespace: ns) }
    var rules = emit(
      peers: peers, ports: ports.plain, flag: "-d", identity: identity + ["p"], owner: owner, comment: comment,
      mark: mark)
    // A named egress port already names its destination pod, which is in the peer set.
    if options.useIPSets {
      for (peer, port) in setNamedEgress(rule, namespace: ns, owner: owner, named: ports.named) {
        rules += emit(
          peers: [peer], ports: [port], flag: "-d", identity: identity + ["n"], owner: owner, comment: comment,
          mark: mark)
      }
    } else {
      rules += emit(
        peers: [.any], ports: ports.named, flag: "-d", identity: identity + ["n"], owner: owner, comment: comment,
        mark: mark)
    }
    return rules
  }

  /// The chain of an admin policy (or the baseline) for one direction: its
  /// rules in order, each setting its action's bit and returning once it
  /// matched, so the first matching rule decides. "" when no rule can match.
  mutating func adminChain(_ policy: AdminPolicy, direction: PolicyType, local: [Pod]) -> String {
    let owner = "\(policy.kind)/\(policy.meta.name)"
    let tag = policy.tier == .baseline ? "B" : "A"
    let chainName = namer.name(kind: tag + (direction == .ingress ? "I" : "E"), [policy.kind, policy.meta.name])
    let localTargets = local.filter { cluster.selects(policy, $0) }
    var rules: [IptablesRule] = []
    for (index, rule) in policy.rules(direction).enumerated() {
      var comment = "\(owner) \(direction.rawValue.lowercased())[\(index)]"
      if !rule.name.isEmpty { comment += " \(rule.name)" }
      let matches = ruleMatches(
        rule.match, namespace: "", identity: [policy.kind, policy.meta.name, direction.rawValue, String(index)],
        direction: direction, localTargets: localTargets, owner: owner, comment: comment,
        mark: options.tierSet(rule.action))
      guard !matches.isEmpty else { continue }
      rules += matches
      rules.append(IptablesRule(matches: options.tierTest(rule.action), target: ["-j", "RETURN"], comment: comment))
    }
    guard !rules.isEmpty else { return "" }
    chains.append(IptablesChain(name: chainName, owner: owner, rules: rules))
    return chainName
  }

  /// Rules that set the mark for every (peer, port) pair. Large cross
  /// products go through a ports chain, so the count is peers + ports, not
  /// peers x ports; blocks with excepts go through a chain of their own.
  mutating func emit(
    peers: [PeerAlternative], ports: [PortAlternative], flag: String, identity: [String], owner: String,
    comment: String,
    mark: [String]
  ) -> [IptablesRule] {
    guard !peers.isEmpty, !ports.isEmpty else { return [] }
    var portTarget: [String]?
    func portRules(_ prefix: [String]) -> [IptablesRule] {
      ports.map { IptablesRule(matches: prefix + $0.tokens, target: mark, comment: comment) }
    }
    let usesChain =
      ports.count > 1
      && (peers.count > 1
        || peers.contains { if case .block(_, let e) = $0 { return !e.isEmpty } else { return false } })
    if usesChain {
      let name = namer.name(kind: "P", identity)
      chains.append(IptablesChain(name: name, owner: owner, rules: portRules([])))
      portTarget = ["-j", name]
    }
    var out: [IptablesRule] = []
    for (i, peer) in peers.enumerated() {
      switch peer {
      case .any:
        out += portTarget.map { [IptablesRule(target: $0, comment: comment)] } ?? portRules([])
      case .set(let setName):
        let m = Match.set(flag, setName)
        out += portTarget.map { [IptablesRule(matches: m, target: $0, comment: comment)] } ?? portRules(m)
      case .host(let ip):
        let m = Match.address(flag, ip)
        out += portTarget.map { [IptablesRule(matches: m, target: $0, comment: comment)] } ?? portRules(m)
      case .block(let cidr, let except) where except.isEmpty:
        let m = Match.address(flag, cidr)
        out += portTarget.map { [IptablesRule(matches: m, target: $0, comment: comment)] } ?? portRules(m)
      case .block(let cidr, let except):
        let name = namer.name(kind: "B", identity + [String(i)])
        var rules = except.map {
          IptablesRule(matches: Match.address(flag, $0), target: ["-j", "RETURN"], comment: comment)
        }
        rules += portTarget.map { [IptablesRule(target: $0, comment: comment)] } ?? portRules([])
        chains.append(IptablesChain(name: name, owner: owner, rules: rules))
        out.append(IptablesRule(matches: Match.address(flag, cidr), target: ["-j", name], comment: comment))
      }
    }
    return out
  }
}
