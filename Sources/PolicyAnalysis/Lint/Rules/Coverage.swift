import PolicyModel

/// "Everything B allows, A allows too", decided conservatively: true only
/// when it holds whatever pods and addresses exist.
enum Coverage {
  /// Every label set `inner` matches, `outer` matches: outer's requirements
  /// are a subset of inner's.
  static func selector(_ outer: LabelSelector, covers inner: LabelSelector) -> Bool {
    if outer.isEmpty { return true }
    let labels = outer.matchLabels.allSatisfy { inner.matchLabels[$0.key] == $0.value }
    let expressions = Set(inner.expressions.map(canonical))
    return labels && outer.expressions.allSatisfy { expressions.contains(canonical($0)) }
  }

  static func canonical(_ r: SelectorRequirement) -> String {
    "\(r.key) \(r.op.rawValue) \(r.values.sorted())"
  }

  /// Peers: no peers means everyone; otherwise each inner peer must be
  /// covered by one outer peer.
  static func peers(_ outer: [Peer], covers inner: [Peer], namespaceLabels: [String: String])
    -> Bool
  {
    if outer.isEmpty { return true }
    if inner.isEmpty { return false }
    return inner.allSatisfy { i in
      outer.contains { peer($0.kind, covers: i.kind, namespaceLabels: namespaceLabels) }
    }
  }

  /// `namespaceLabels`: the labels of the policy's own namespace, which a
  /// peer without namespaceSelector stands for.
  static func peer(_ outer: PeerKind, covers inner: PeerKind, namespaceLabels: [String: String])
    -> Bool
  {
    switch (outer, inner) {
    case (.ipBlock(let o), .ipBlock(let i)):
      // i ⊆ o: inside o's cidr, and every address o excepts is excepted by i too.
      guard o.cidr.contains(i.cidr) else { return false }
      return o.except.allSatisfy { e in
        (!i.cidr.contains(e.network) && !e.contains(i.cidr)) || i.except.contains { $0.contains(e) }
      }
    case (.selectors(let oPods, let oNamespaces), .selectors(let iPods, let iNamespaces)):
      let namespaces: Bool
      switch (oNamespaces, iNamespaces) {
      case (nil, nil): namespaces = true
      case (nil, .some): namespaces = false
      case (.some(let o), nil): namespaces = o.matches(namespaceLabels)
      case (.some(let o), .some(let i)): namespaces = selector(o, covers: i)
      }
      guard namespaces else { return false }
      switch (oPods, iPods) {
      case (nil, _): return true
      case (.some(let o), nil): return o.isEmpty
      case (.some(let o), .some(let i)): return selector(o, covers: i)
      }
    default:
      return false
    }
  }

  /// Ports: none listed means all; numbers and ranges by set inclusion,
  /// names only by the same name (or the whole protocol).
  static func ports(_ outer: [PolicyPort], covers inner: [PolicyPort]) -> Bool {
    if outer.isEmpty { return true }
    if inner.isEmpty { return false }
    var numeric = PortSet.none
    var names: Set<String> = []
    for entry in outer {
      switch entry.port {
      case nil: numeric = numeric.union(PortSet(entry.proto, PortSet.full))
      case .number(let start)?:
        numeric = numeric.union(PortSet(entry.proto, start...(entry.endPort ?? start)))
      case .name(let name)?: names.insert("\(name)/\(entry.proto.rawValue)")
      }
    }
    return inner.allSatisfy { entry in
      switch entry.port {
      case nil: return numeric.contains(PortSet(entry.proto, PortSet.full))
      case .number(let start)?:
        return numeric.contains(PortSet(entry.proto, start...(entry.endPort ?? start)))
      case .name(let name)?:
        return names.contains("\(name)/\(entry.proto.rawValue)")
          || numeric.contains(PortSet(entry.proto, PortSet.full))
      }
    }
  }

  /// Whether the traffic of rule `inner` is all traffic of rule `outer`.
  static func rule(_ outer: PolicyRule, covers inner: PolicyRule, namespaceLabels: [String: String])
    -> Bool
  {
    peers(outer.peers, covers: inner.peers, namespaceLabels: namespaceLabels)
      && ports(outer.ports, covers: inner.ports)
  }
}

extension PortSet {
  func contains(_ other: PortSet) -> Bool { intersection(other) == other }
}
