import YAMLBridge

/// The rules of a NetworkPolicy read from events, as `NodeReader.rules`,
/// `peer`, `ipBlock` and `policyPort` read them from nodes; whatever would
/// be reported there gives up here.
extension EventDecoder {
  func location(from start: Mark) -> SourceLocation {
    SourceLocation(file: file, span: SourceSpan(start: start, end: events.end))
  }

  /// `ingress` (peers under `from`) or `egress` (under `to`).
  mutating func rules(peerKey: StaticString) throws(Fallback) -> [PolicyRule] {
    try mappings(nulls: .passed) { decoder throws(Fallback) in
      // `- {}` and a null item both mean "everything" (all peers, all ports).
      guard decoder.events.kind == .mappingStart else {
        return PolicyRule(peers: [], ports: [], location: decoder.location(from: decoder.events.start))
      }
      return try decoder.rule(peerKey: peerKey)
    }
  }

  mutating func rule(peerKey: StaticString) throws(Fallback) -> PolicyRule {
    let start = events.start
    let scope = openKeys()
    defer { closeKeys(scope) }
    var peers: [Peer] = []
    var ports: [PolicyPort] = []
    while try readKey(in: scope) {
      if events.isText(peerKey) {
        // A null peer is an error ("must specify a peer").
        peers = try mappings { decoder throws(Fallback) in try decoder.peer() }
      } else if events.isText("ports") {
        ports = try self.ports()
      } else {
        throw Fallback()
      }
    }
    return PolicyRule(peers: peers, ports: ports, location: location(from: start))
  }

  /// ValidateNetworkPolicyPeer: exactly one of ipBlock or the selectors;
  /// a null field counts as absent.
  mutating func peer() throws(Fallback) -> Peer {
    let start = events.start
    let scope = openKeys()
    defer { closeKeys(scope) }
    var pods: LabelSelector?
    var namespaces: LabelSelector?
    var block: IPBlock?
    while try readKey(in: scope) {
      if events.isText("podSelector") {
        pods = try selector()
      } else if events.isText("namespaceSelector") {
        namespaces = try selector()
      } else if events.isText("ipBlock") {
        block = try ipBlock()
      } else {
        throw Fallback()
      }
    }
    let location = location(from: start)
    if let block {
      guard pods == nil, namespaces == nil else { throw Fallback() }
      return Peer(kind: .ipBlock(block), location: location)
    }
    guard pods != nil || namespaces != nil else { throw Fallback() }
    return Peer(kind: .selectors(pods: pods, namespaces: namespaces), location: location)
  }

  /// ValidateIPBlock: a valid CIDR; each except a strict subset of it. Nil
  /// when the block is null.
  mutating func ipBlock() throws(Fallback) -> IPBlock? {
    guard try open(.mappingStart) else { return nil }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var cidr: CIDR?
    var excepts: [String] = []
    while try readKey(in: scope) {
      if events.isText("cidr") {
        guard let text = try string(), let parsed = CIDR(text) else { throw Fallback() }
        cidr = parsed
      } else if events.isText("except") {
        // A null entry drops the whole peer in the tree decoder, silently: its business.
        excepts =
          try scalars { decoder throws(Fallback) in
            guard case .string(let text) = decoder.events.resolved else { throw Fallback() }
            return text
          } ?? []
      } else {
        throw Fallback()
      }
    }
    guard let cidr else { throw Fallback() }
    var except: [CIDR] = []
    for text in excepts {
      guard let parsed = CIDR(text), cidr.strictlyContains(parsed) else { throw Fallback() }
      except.append(parsed)
    }
    return IPBlock(cidr: cidr, except: except)
  }

  mutating func ports() throws(Fallback) -> [PolicyPort] {
    try mappings(nulls: .passed) { decoder throws(Fallback) in
      // A null entry is every port of TCP.
      guard decoder.events.kind == .mappingStart else {
        return PolicyPort(
          proto: Defaults.portProtocol, port: nil, location: decoder.location(from: decoder.events.start))
      }
      return try decoder.port()
    }
  }

  /// A `protocol` field: TCP, UDP or SCTP, or nil when null (the default).
  mutating func protocolField() throws(Fallback) -> NetProtocol? {
    guard let text = try string() else { return nil }
    guard let parsed = NetProtocol(rawValue: text) else { throw Fallback() }
    return parsed
  }

  /// ValidateNetworkPolicyPort, with the TCP default applied. Numbers are
  /// taken as integers only (a float such as `80.0` goes to the tree).
  mutating func port() throws(Fallback) -> PolicyPort {
    let start = events.start
    let scope = openKeys()
    defer { closeKeys(scope) }
    var proto = Defaults.portProtocol
    var port: PortRef?
    var endPort: Int?
    while try readKey(in: scope) {
      if events.isText("protocol") {
        proto = try protocolField() ?? Defaults.portProtocol
      } else if events.isText("port") {
        guard try next() == .scalar else { throw Fallback() }
        switch events.resolved {
        case .null: port = nil
        case .integer(let n) where (1...65535).contains(n): port = .number(n)
        case .string(let name):
          guard NameRules.portName(name) == nil else { throw Fallback() }
          port = .name(name)
        default: throw Fallback()
        }
      } else if events.isText("endPort") {
        guard try next() == .scalar else { throw Fallback() }
        switch events.resolved {
        case .null: endPort = nil
        case .integer(let n) where (1...65535).contains(n): endPort = n
        default: throw Fallback()
        }
      } else {
        throw Fallback()
      }
    }
    if let endPort {
      // endPort needs a numeric port, and may not be below it.
      guard case .number(let first) = port, endPort >= first else { throw Fallback() }
    }
    return PolicyPort(proto: proto, port: port, endPort: endPort, location: location(from: start))
  }
}
