import PolicyModel

/// ipset mode: peers whose addresses scale with the cluster become set
/// matches. Sets are named after what they mean (the peer definition and
/// its namespace), not after their members, so a pod joining or leaving
/// changes a set's members and never a chain.
extension RuleCompiler {
  mutating func registerSet(
    kind: String, identity: [String], type: AddressSet.Kind, members: [AddressSet.Member], owner: String
  ) -> String {
    // 4P-..., 6B-...: the family's tag, then the kind.
    let name = namer.name(kind: AddressSet.familyTag(options.family) + kind, identity)
    if sets[name] == nil {
      sets[name] = AddressSet(name: name, family: options.family, kind: type, members: members, owner: owner)
    }
    return name
  }

  /// The definition of a rule's peers as text: selector peers with their
  /// namespace context, ipBlocks with their excepts.
  func peerIdentity(_ rule: PolicyRule, namespace: String) -> [String] {
    rule.peers.map { peer in
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        // podSelector alone means "in the policy's namespace"; with a
        // namespaceSelector the policy's namespace does not matter.
        let scope = namespaces.map { "ns\($0.canonicalText)" } ?? "in:\(namespace)"
        return "\(scope) pods\(pods?.canonicalText ?? "*")"
      case .ipBlock(let b):
        return "block:\(b.cidr)-\(b.except.sorted().map(\.description).joined(separator: ","))"
      }
    }.sorted()
  }

  mutating func setPeerAlternatives(_ rule: PolicyRule, namespace: String, owner: String) -> [PeerAlternative] {
    if rule.peers.isEmpty { return [.any] }
    var out: [PeerAlternative] = []
    var hosts: [[IPAddress]] = []
    var selectorIdentity: [String] = []
    var selectors: [PeerSelector] = []
    var plainBlocks: [CIDR] = []
    for peer in rule.peers {
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        let scope = namespaces.map { "ns\($0.canonicalText)" } ?? "in:\(namespace)"
        selectorIdentity.append("\(scope) pods\(pods?.canonicalText ?? "*")")
        selectors.append(PeerSelector(pods: pods, namespaces: namespaces, policyNamespace: namespace))
        hosts.append(
          cluster.peerAddresses(pods: pods, namespaces: namespaces, policyNamespace: namespace, family: options.family))
      case .ipBlock(let block):
        guard block.cidr.family == options.family else { continue }
        if block.except.isEmpty {
          if block.cidr.prefix == 0 { return [.any] }
          plainBlocks.append(block.cidr)
          continue
        }
        // One set per block: its excepts (nomatch) must not cut into another block.
        let except = block.except.sorted()
        let members = [.network(block.cidr)] + except.map { AddressSet.Member.except($0) }
        let identity = ["block", block.cidr.description] + except.map(\.description)
        out.append(.set(registerSet(kind: "B", identity: identity, type: .networks, members: members, owner: owner)))
      }
    }
    if !selectorIdentity.isEmpty {
      // Referenced even while empty, so the first pod to match needs no chain change.
      let addresses = hosts.count == 1 ? hosts[0] : Cluster.sortedUnique(hosts.flatMap { $0 })
      let name = registerSet(
        kind: "P", identity: selectorIdentity.sorted(), type: .hosts, members: addresses.map { .host($0) },
        owner: owner)
      if podDependence.setPeers[name] == nil { podDependence.setPeers[name] = selectors }
      out.append(.set(name))
    }
    if !plainBlocks.isEmpty {
      let cidrs = Set(plainBlocks).sorted()
      let name = registerSet(
        kind: "N", identity: cidrs.map(\.description), type: .networks, members: cidrs.map { .network($0) },
        owner: owner)
      out.append(.set(name))
    }
    return out.sorted()
  }

  /// Named egress ports: the pods that define the name, grouped by the
  /// number it resolves to, each group one set.
  mutating func setNamedEgress(
    _ rule: PolicyRule, namespace: String, owner: String, named: [PortAlternative]
  ) -> [(peer: PeerAlternative, port: PortAlternative)] {
    var groups: [PortAlternative: [AddressSet.Member]] = [:]
    for alternative in named {
      guard let destination = alternative.destination else { continue }
      var key = alternative
      key.destination = nil
      groups[key, default: []].append(.host(destination))
    }
    let identity = peerIdentity(rule, namespace: namespace)
    return groups.keys.sorted().map { key in
      let range = key.range.map { "\($0.lowerBound)" } ?? "*"
      let name = registerSet(
        kind: "D", identity: identity + ["named", key.proto?.rawValue ?? "", range], type: .hosts,
        members: groups[key]!, owner: owner)
      return (.set(name), key)
    }
  }
}
