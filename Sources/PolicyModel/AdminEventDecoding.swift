import YAMLBridge

/// AdminNetworkPolicies and the BaselineAdminNetworkPolicy read from events
/// as `NodeReader.adminPolicy` reads them from nodes (AdminDecoding.swift):
/// the same lowering to NetworkPolicy peers and ports, the same locations.
/// Whatever the tree reports (errors and warnings), and every shape it
/// passes over in silence (a null `networks` list or entry, which drops the
/// rule), gives up here.
extension EventDecoder {
  struct AdminSpecFields {
    var priority: Int?
    var subject: AdminSubject?
    var ingress: [AdminRule] = []
    var egress: [AdminRule] = []
  }

  /// The rest of an admin policy item, after its apiVersion and kind; its
  /// mapping started at `start`, its keys are in `scope`.
  mutating func adminPolicy(start: Mark, scope: KeyScope, baseline: Bool) throws(Fallback) {
    var meta: ObjectMeta?
    var spec: AdminSpecFields?
    while try readKey(in: scope) {
      if events.isText("metadata") {
        meta = try policyMetadata(start: start, namespaced: false)
      } else if events.isText("spec") {
        spec = try adminSpec(baseline: baseline)
      } else if events.isText("status") {
        try skipValue(built: true)
      } else {
        // "A policy object's top level holds only apiVersion, kind, metadata, spec and status."
        throw Fallback()
      }
    }
    // The baseline is a singleton named "default"; an admin policy needs a priority.
    guard var meta, let spec, let subject = spec.subject, !baseline || meta.name == AdminPolicy.baselineName
    else { throw Fallback() }
    var tier = AdminTier.baseline
    if !baseline {
      guard let priority = spec.priority else { throw Fallback() }
      tier = .admin(priority: priority)
    }
    // Cluster-scoped: no namespace.
    meta.namespace = ""
    meta.location = location(from: start)
    inventory.adminPolicies.append(
      AdminPolicy(meta: meta, tier: tier, subject: subject, ingress: spec.ingress, egress: spec.egress))
  }

  /// `spec`: a mapping (a null spec is an error) of priority (0-1000, admin
  /// policies only), subject and the rules.
  mutating func adminSpec(baseline: Bool) throws(Fallback) -> AdminSpecFields {
    guard try next() == .mappingStart else { throw Fallback() }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var out = AdminSpecFields()
    while try readKey(in: scope) {
      if !baseline, events.isText("priority") {
        guard try next() == .scalar, case .integer(let n) = events.resolved, (0...1000).contains(n) else {
          throw Fallback()
        }
        out.priority = n
      } else if events.isText("subject") {
        guard try next() == .mappingStart else { throw Fallback() }
        switch try adminTarget(networks: false) {
        case .namespaces(let namespaces): out.subject = AdminSubject(namespaces: namespaces, pods: nil)
        case .pods(let namespaces, let pods): out.subject = AdminSubject(namespaces: namespaces, pods: pods)
        case .networks: throw Fallback()
        }
      } else if events.isText("ingress") {
        out.ingress = try adminRules(ingress: true, baseline: baseline)
      } else if events.isText("egress") {
        out.egress = try adminRules(ingress: false, baseline: baseline)
      } else {
        throw Fallback()
      }
    }
    return out
  }

  /// `ingress` or `egress`: at most 100 rules; null is none.
  mutating func adminRules(ingress: Bool, baseline: Bool) throws(Fallback) -> [AdminRule] {
    let rules = try mappings { decoder throws(Fallback) in try decoder.adminRule(ingress: ingress, baseline: baseline) }
    guard rules.count <= 100 else { throw Fallback() }
    return rules
  }

  /// One rule; its mapping start was just read. `action` and 1 to 100
  /// peers are required; a name has at most 100 characters; `ports`, when
  /// not null, holds 1 to 100 entries; networks peers exclude named ports.
  mutating func adminRule(ingress: Bool, baseline: Bool) throws(Fallback) -> AdminRule {
    let start = events.start
    let peerKey: StaticString = ingress ? "from" : "to"
    let scope = openKeys()
    defer { closeKeys(scope) }
    var name = ""
    var action: AdminAction?
    var peers: [Peer] = []
    var peerCount = 0
    var ports: [PolicyPort] = []
    while try readKey(in: scope) {
      if events.isText("name") {
        name = try string() ?? ""
        guard name.count <= 100 else { throw Fallback() }
      } else if events.isText("action") {
        guard let text = try string(), let parsed = AdminAction(rawValue: text), !baseline || parsed != .pass else {
          throw Fallback()
        }
        action = parsed
      } else if events.isText(peerKey) {
        try forEachMapping { decoder throws(Fallback) in
          peerCount += 1
          peers += try decoder.adminPeers(networks: !ingress)
        }
        guard (1...100).contains(peerCount) else { throw Fallback() }
      } else if events.isText("ports") {
        guard try open(.sequenceStart) else { continue }
        var count = 0
        try forEachItem { decoder throws(Fallback) in
          count += 1
          ports += try decoder.adminPort()
        }
        guard (1...100).contains(count) else { throw Fallback() }
      } else {
        throw Fallback()
      }
    }
    guard let action, peerCount > 0 else { throw Fallback() }
    let hasNetworks = peers.contains { if case .ipBlock = $0.kind { true } else { false } }
    let hasNamedPort = ports.contains { if case .name = $0.port { true } else { false } }
    guard !(hasNetworks && hasNamedPort) else { throw Fallback() }
    return AdminRule(
      name: name, action: action, match: PolicyRule(peers: peers, ports: ports, location: location(from: start)))
  }

  /// What a subject or peer names: exactly one of these.
  enum AdminTarget {
    case namespaces(LabelSelector)
    case pods(namespaces: LabelSelector, pods: LabelSelector)
    /// One ipBlock peer per CIDR, each located at its CIDR.
    case networks([Peer])
  }

  /// A subject or peer whose mapping start was just read: `namespaces` (a
  /// selector, null for everything), `pods` (namespaceSelector and
  /// podSelector, both required) or, for egress peers, `networks` (1 to 25
  /// CIDRs). Unenforceable peers (`nodes`, `domainNames`) are the tree's
  /// errors to report.
  mutating func adminTarget(networks: Bool) throws(Fallback) -> AdminTarget {
    let scope = openKeys()
    defer { closeKeys(scope) }
    var found: AdminTarget?
    while try readKey(in: scope) {
      guard found == nil else { throw Fallback() }
      if events.isText("namespaces") {
        found = .namespaces(try selector() ?? .everything)
      } else if events.isText("pods") {
        found = try adminPods()
      } else if networks, events.isText("networks") {
        let peers = try scalars { decoder throws(Fallback) -> Peer in
          guard case .string(let text) = decoder.events.resolved, let cidr = CIDR(text) else { throw Fallback() }
          return Peer(
            kind: .ipBlock(IPBlock(cidr: cidr, except: [])), location: decoder.location(from: decoder.events.start))
        }
        guard let peers, (1...25).contains(peers.count) else { throw Fallback() }
        found = .networks(peers)
      } else {
        throw Fallback()
      }
    }
    guard let found else { throw Fallback() }
    return found
  }

  /// `pods`: a mapping with both selectors (null ones select everything).
  mutating func adminPods() throws(Fallback) -> AdminTarget {
    guard try next() == .mappingStart else { throw Fallback() }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var namespaces: LabelSelector?
    var pods: LabelSelector?
    while try readKey(in: scope) {
      if events.isText("namespaceSelector") {
        namespaces = try selector() ?? .everything
      } else if events.isText("podSelector") {
        pods = try selector() ?? .everything
      } else {
        throw Fallback()
      }
    }
    guard let namespaces, let pods else { throw Fallback() }
    return .pods(namespaces: namespaces, pods: pods)
  }

  /// One peer (its mapping start just read) as NetworkPolicy peers: a
  /// selector peer located at the peer, or one ipBlock per network.
  mutating func adminPeers(networks: Bool) throws(Fallback) -> [Peer] {
    let start = events.start
    switch try adminTarget(networks: networks) {
    case .namespaces(let namespaces):
      return [Peer(kind: .selectors(pods: nil, namespaces: namespaces), location: location(from: start))]
    case .pods(let namespaces, let pods):
      return [Peer(kind: .selectors(pods: pods, namespaces: namespaces), location: location(from: start))]
    case .networks(let peers):
      return peers
    }
  }

  /// One port entry (its mapping start just read): exactly one of
  /// portNumber, namedPort (one entry per protocol) or portRange, all
  /// located at the entry.
  mutating func adminPort() throws(Fallback) -> [PolicyPort] {
    let start = events.start
    let scope = openKeys()
    defer { closeKeys(scope) }
    var found: (proto: NetProtocol?, port: PortRef, endPort: Int?)?
    while try readKey(in: scope) {
      guard found == nil else { throw Fallback() }
      if events.isText("namedPort") {
        guard let name = try string(), NameRules.portName(name) == nil else { throw Fallback() }
        found = (nil, .name(name), nil)
      } else if events.isText("portNumber") {
        let fields = try adminPortFields(range: false)
        found = (fields.proto, .number(fields.first), nil)
      } else if events.isText("portRange") {
        let fields = try adminPortFields(range: true)
        // "start must be less than end".
        guard let end = fields.end, fields.first < end else { throw Fallback() }
        found = (fields.proto, .number(fields.first), end)
      } else {
        throw Fallback()
      }
    }
    guard let found else { throw Fallback() }
    let location = location(from: start)
    guard let proto = found.proto else {
      return NetProtocol.allCases.map { PolicyPort(proto: $0, port: found.port, location: location) }
    }
    return [PolicyPort(proto: proto, port: found.port, endPort: found.endPort, location: location)]
  }

  /// A portNumber (`protocol`, `port`) or portRange (`protocol`, `start`,
  /// `end`) mapping: the protocol (TCP when absent or null) and the
  /// required numbers, 1-65535 (integers only: a float goes to the tree).
  mutating func adminPortFields(range: Bool) throws(Fallback) -> (proto: NetProtocol, first: Int, end: Int?) {
    guard try next() == .mappingStart else { throw Fallback() }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var proto = Defaults.portProtocol
    var first: Int?
    var end: Int?
    while try readKey(in: scope) {
      if events.isText("protocol") {
        proto = try protocolField() ?? Defaults.portProtocol
      } else if range ? events.isText("start") : events.isText("port") {
        first = try portNumber()
      } else if range, events.isText("end") {
        end = try portNumber()
      } else {
        throw Fallback()
      }
    }
    guard let first, !range || end != nil else { throw Fallback() }
    return (proto, first, end)
  }

  /// A required port number, 1-65535.
  mutating func portNumber() throws(Fallback) -> Int {
    guard try next() == .scalar, case .integer(let n) = events.resolved, (1...65535).contains(n) else {
      throw Fallback()
    }
    return n
  }
}
