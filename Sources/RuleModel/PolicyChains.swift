import PolicyModel

/// The chains of policies: one rule per allowed (peer, port), setting a
/// mark bit, and the helper chains those rules jump to.
extension RuleCompiler {
  /// Builds the chain of one policy's rules for one direction and returns
  /// its name, or "" when the policy allows nothing in that direction.
  mutating func policyChain(_ policy: NetworkPolicy, direction: PolicyType, local: [Pod]) -> String {
    if let kept {
      return keptChain(kept, .policy(policy), direction: direction) {
        $0.buildPolicyChain(policy, direction: direction, local: local)
      }
    }
    guard memo != nil, !Self.readsLocalTargets(policy.rules(direction), direction: direction) else {
      return buildPolicyChain(policy, direction: direction, local: local)
    }
    // The same on every node: the local targets go unread.
    return memoizedChain(["policy", policy.meta.namespace, policy.meta.name, direction.rawValue]) {
      $0.buildPolicyChain(policy, direction: direction, local: [])
    }
  }

  mutating func buildPolicyChain(_ policy: NetworkPolicy, direction: PolicyType, local: [Pod]) -> String {
    let ns = policy.meta.namespace
    let name = policy.meta.name
    let owner = "\(ns)/\(name)"
    let chainName = namer.name(kind: direction == .ingress ? "IN" : "EG", [ns, name])
    var rules: [Rule] = []
    let localTargets =
      local.isEmpty
      ? []
      : cluster.targets(of: policy).map { cluster.pods[$0] }.filter { pod in
        local.contains { $0.meta.namespace == pod.meta.namespace && $0.meta.name == pod.meta.name }
      }
    for (index, rule) in policy.rules(direction).enumerated() {
      rules += ruleMatches(
        rule, namespace: ns, identity: [ns, name, direction.rawValue, String(index)], direction: direction,
        localTargets: localTargets, owner: owner, comment: "\(owner) \(direction.rawValue.lowercased())[\(index)]",
        mark: options.markSet)
    }
    guard !rules.isEmpty else { return "" }
    chains.append(Chain(name: chainName, owner: owner, role: .policy, rules: rules))
    return chainName
  }

  /// The rules that set `mark` for every (peer, port) pair one rule matches.
  mutating func ruleMatches(
    _ rule: PolicyRule, namespace ns: String, identity: [String], direction: PolicyType, localTargets: [Pod],
    owner: String, comment: String, mark: Action
  ) -> [Rule] {
    let peers = peerAlternatives(rule, namespace: ns, owner: owner, identity: identity)
    if direction == .ingress {
      let ports = lowering.portAlternatives(rule) { localTargets }
      return emit(
        peers: peers, ports: ports.plain + ports.named, field: .source, identity: identity + ["p"], owner: owner,
        comment: comment, mark: mark)
    }
    let ports = lowering.portAlternatives(rule) {
      noteNamedPortPeers(rule, namespace: ns)
      return lowering.peerPods(rule, namespace: ns)
    }
    var rules = emit(
      peers: peers, ports: ports.plain, field: .destination, identity: identity + ["p"], owner: owner, comment: comment,
      mark: mark)
    // A named egress port already names its destination pod, which is in the peer set.
    if options.useIPSets {
      for (peer, port) in setNamedEgress(rule, namespace: ns, owner: owner, named: ports.named) {
        rules += emit(
          peers: [peer], ports: [port], field: .destination, identity: identity + ["n"], owner: owner, comment: comment,
          mark: mark)
      }
    } else {
      rules += emit(
        peers: [.any], ports: ports.named, field: .destination, identity: identity + ["n"], owner: owner,
        comment: comment,
        mark: mark)
    }
    return rules
  }

  /// Remembers whose named ports an egress rule resolves: the rules then
  /// depend on those pods' ports, not only on their addresses.
  mutating func noteNamedPortPeers(_ rule: PolicyRule, namespace: String) {
    if rule.peers.isEmpty { podDependence.namedPortsOfAnyPod = true }
    for peer in rule.peers {
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        podDependence.namedPortPeers.insert(
          PeerSelector(pods: pods, namespaces: namespaces, policyNamespace: namespace))
      case .ipBlock: podDependence.namedPortsOfAnyPod = true
      }
    }
  }

  /// The chain of an admin policy (or the baseline) for one direction: its
  /// rules in order, each setting its action's bit and returning once it
  /// matched, so the first matching rule decides. "" when no rule can match.
  mutating func adminChain(_ policy: AdminPolicy, direction: PolicyType, local: [Pod]) -> String {
    if let kept {
      return keptChain(kept, .admin(policy), direction: direction) {
        $0.buildAdminChain(policy, direction: direction, local: local)
      }
    }
    guard memo != nil, !Self.readsLocalTargets(policy.rules(direction).map(\.match), direction: direction) else {
      return buildAdminChain(policy, direction: direction, local: local)
    }
    return memoizedChain(["admin", policy.kind, policy.meta.name, direction.rawValue]) {
      $0.buildAdminChain(policy, direction: direction, local: [])
    }
  }

  mutating func buildAdminChain(_ policy: AdminPolicy, direction: PolicyType, local: [Pod]) -> String {
    let owner = "\(policy.kind)/\(policy.meta.name)"
    let tag = policy.tier == .baseline ? "B" : "A"
    let chainName = namer.name(kind: tag + (direction == .ingress ? "I" : "E"), [policy.kind, policy.meta.name])
    let localTargets = local.filter { cluster.selects(policy, $0) }
    var rules: [Rule] = []
    for (index, rule) in policy.rules(direction).enumerated() {
      var comment = "\(owner) \(direction.rawValue.lowercased())[\(index)]"
      if !rule.name.isEmpty { comment += " \(rule.name)" }
      let matches = ruleMatches(
        rule.match, namespace: "", identity: [policy.kind, policy.meta.name, direction.rawValue, String(index)],
        direction: direction, localTargets: localTargets, owner: owner, comment: comment,
        mark: options.tierSet(rule.action))
      guard !matches.isEmpty else { continue }
      rules += matches
      rules.append(Rule([options.tierTest(rule.action)], .return, comment: comment))
    }
    guard !rules.isEmpty else { return "" }
    chains.append(Chain(name: chainName, owner: owner, role: .policy, rules: rules))
    return chainName
  }

  /// Rules that set the mark for every (peer, port) pair. Large cross
  /// products go through a ports chain, so the count is peers + ports, not
  /// peers x ports; blocks with excepts go through a chain of their own.
  mutating func emit(
    peers: [PeerAlternative], ports: [PortAlternative], field: AddressField, identity: [String], owner: String,
    comment: String,
    mark: Action
  ) -> [Rule] {
    guard !peers.isEmpty, !ports.isEmpty else { return [] }
    var portTarget: Action?
    func portRules(_ prefix: [Match]) -> [Rule] {
      ports.map { Rule(prefix + $0.matches, mark, comment: comment) }
    }
    /// Through the ports chain when there is one, else one rule per port.
    func allPorts(_ matches: [Match]) -> [Rule] {
      portTarget.map { [Rule(matches, $0, comment: comment)] } ?? portRules(matches)
    }
    let usesChain =
      ports.count > 1
      && (peers.count > 1
        || peers.contains { if case .block(_, let e) = $0 { return !e.isEmpty } else { return false } })
    if usesChain {
      let name = namer.name(kind: "P", identity)
      chains.append(Chain(name: name, owner: owner, role: .helper, rules: portRules([])))
      portTarget = .jump(name)
    }
    var out: [Rule] = []
    for (i, peer) in peers.enumerated() {
      switch peer {
      case .any:
        out += allPorts([])
      case .set(let setName):
        out += allPorts([.address(field, .set(setName))])
      case .host(let ip):
        out += allPorts([.address(field, .host(ip))])
      case .block(let cidr, let except) where except.isEmpty:
        out += allPorts(Self.prefix(field, cidr))
      case .block(let cidr, let except):
        let name = namer.name(kind: "B", identity + [String(i)])
        var rules = except.map { Rule(Self.prefix(field, $0), .return, comment: comment) }
        rules += allPorts([])
        chains.append(Chain(name: name, owner: owner, role: .helper, rules: rules))
        out.append(Rule(Self.prefix(field, cidr), .jump(name), comment: comment))
      }
    }
    return out
  }

  /// A /0 matches every address: no match at all.
  static func prefix(_ field: AddressField, _ cidr: CIDR) -> [Match] {
    cidr.prefix == 0 ? [] : [.address(field, .prefix(cidr))]
  }
}
