import YAMLBridge

extension NodeReader {
  static let policyFields: Set<String> = ["apiVersion", "kind", "metadata", "spec", "status"]
  static let specFields: Set<String> = ["podSelector", "ingress", "egress", "policyTypes"]
  static let peerFields: Set<String> = ["podSelector", "namespaceSelector", "ipBlock"]
  static let portFields: Set<String> = ["protocol", "port", "endPort"]

  /// Decodes a networking.k8s.io/v1 NetworkPolicy strictly (unknown fields are
  /// errors, as `kubectl --validate=strict`), defaults it and validates it as
  /// the API server does.
  mutating func networkPolicy(_ root: Fields, rootNode: YAMLNode, defaultNamespace: String)
    -> NetworkPolicy?
  {
    let errorsBefore = diagnostics.count { $0.severity == .error }
    reportUnknownTopLevelFields(rootNode)
    guard
      let meta = meta(
        root, rootNode: rootNode, kind: "NetworkPolicy", strict: true, namespaced: true,
        defaultNamespace: defaultNamespace, nameCheck: NameRules.dns1123Subdomain)
    else { return nil }
    guard let specPair = root["spec"], let spec = fields(specPair.value, path: "spec", known: Self.specFields) else {
      // A policy without spec selects every pod for ingress and allows nothing in.
      guard diagnostics.count(where: { $0.severity == .error }) == errorsBefore else { return nil }
      return NetworkPolicy(
        meta: meta, podSelector: .everything, policyTypes: [.ingress], policyTypesWritten: false, ingress: [],
        egress: [])
    }
    var podSelector = LabelSelector.everything
    if let p = spec["podSelector"] {
      podSelector = selector(p.value, path: "spec.podSelector") ?? .everything
    }
    let ingress = rules(spec["ingress"], path: "spec.ingress", peerKey: "from")
    let egress = rules(spec["egress"], path: "spec.egress", peerKey: "to")
    var written: [PolicyType]?
    if let p = spec["policyTypes"], let items = sequence(p.value, path: "spec.policyTypes") {
      var types: [PolicyType] = []
      for (i, item) in items.enumerated() {
        let path = Self.index("spec.policyTypes", i)
        guard let text = string(item, path: path) else { continue }
        guard let type = PolicyType(rawValue: text) else {
          report(
            RuleID.invalidPolicyType, "unsupported policy type \"\(Self.sanitize(text))\": must be Ingress or Egress",
            at: item, path: path)
          continue
        }
        types.append(type)
      }
      if items.count > 2 {
        report(
          RuleID.invalidPolicyType, "too many policy types: \(items.count), at most 2", at: p.value,
          path: "spec.policyTypes")
      }
      written = types
    }
    let policy = NetworkPolicy(
      meta: meta, podSelector: podSelector,
      policyTypes: Defaults.policyTypes(written: written, egressRuleCount: egress.count),
      policyTypesWritten: !(written ?? []).isEmpty, ingress: ingress, egress: egress)
    return diagnostics.count { $0.severity == .error } == errorsBefore ? policy : nil
  }

  /// A policy object's top level holds only apiVersion, kind, metadata, spec and status.
  mutating func reportUnknownTopLevelFields(_ rootNode: YAMLNode) {
    for pair in rootNode.mappingPairs ?? [] {
      guard let key = pair.key.scalarText, !Self.policyFields.contains(key) else { continue }
      report(
        RuleID.unknownField,
        "unknown field \"\(Self.sanitize(key))\"\(Wording.didYouMean(key, among: Self.policyFields))", at: pair.key,
        path: Self.join("", key))
    }
  }

  mutating func rules(_ pair: YAMLPair?, path: String, peerKey: String) -> [PolicyRule] {
    guard let pair, let items = sequence(pair.value, path: path) else { return [] }
    var out: [PolicyRule] = []
    for (i, item) in items.enumerated() {
      let rpath = Self.index(path, i)
      let location = location(item)
      guard let f = fields(item, path: rpath, known: [peerKey, "ports"]) else {
        // `- {}` and a null item both mean "everything" (all peers, all ports).
        if Self.isNull(item) { out.append(PolicyRule(peers: [], ports: [], location: location)) }
        continue
      }
      var peers: [Peer] = []
      if let p = f[peerKey], let list = sequence(p.value, path: "\(rpath).\(peerKey)") {
        for (j, peerNode) in list.enumerated() {
          if let peer = peer(peerNode, path: Self.index("\(rpath).\(peerKey)", j)) { peers.append(peer) }
        }
      }
      var ports: [PolicyPort] = []
      if let p = f["ports"], let list = sequence(p.value, path: "\(rpath).ports") {
        for (j, portNode) in list.enumerated() {
          if let port = policyPort(portNode, path: Self.index("\(rpath).ports", j)) { ports.append(port) }
        }
      }
      out.append(PolicyRule(peers: peers, ports: ports, location: location))
    }
    return out
  }

  /// ValidateNetworkPolicyPeer: exactly one of ipBlock or the selectors.
  mutating func peer(_ node: YAMLNode, path: String) -> Peer? {
    let location = location(node)
    guard let f = fields(node, path: path, known: Self.peerFields) else {
      if Self.isNull(node) { report(RuleID.invalidPeer, "must specify a peer", at: node, path: path) }
      return nil
    }
    let pods = f["podSelector"].flatMap { Self.isNull($0.value) ? nil : $0 }
    let namespaces = f["namespaceSelector"].flatMap { Self.isNull($0.value) ? nil : $0 }
    let block = f["ipBlock"].flatMap { Self.isNull($0.value) ? nil : $0 }
    if pods == nil, namespaces == nil, block == nil {
      report(
        RuleID.invalidPeer, "must specify a peer (podSelector, namespaceSelector or ipBlock)", at: node, path: path)
      return nil
    }
    if let block {
      if pods != nil || namespaces != nil {
        report(
          RuleID.invalidPeer, "may not specify both ipBlock and another peer", at: block.key, path: path)
        return nil
      }
      return ipBlock(block.value, path: path + ".ipBlock").map { Peer(kind: .ipBlock($0), location: location) }
    }
    let podSel = pods.map { selector($0.value, path: path + ".podSelector") }
    let nsSel = namespaces.map { selector($0.value, path: path + ".namespaceSelector") }
    if podSel == .some(nil) || nsSel == .some(nil) { return nil }
    return Peer(kind: .selectors(pods: podSel ?? nil, namespaces: nsSel ?? nil), location: location)
  }

  /// ValidateIPBlock: a valid CIDR; each except a strict subset of it.
  mutating func ipBlock(_ node: YAMLNode, path: String) -> IPBlock? {
    guard let f = fields(node, path: path, known: ["cidr", "except"]) else { return nil }
    guard let cidrPair = f["cidr"], let text = string(cidrPair.value, path: path + ".cidr"), !text.isEmpty else {
      report(RuleID.invalidCIDR, "ipBlock needs a cidr", at: f["cidr"]?.value ?? node, path: path + ".cidr")
      return nil
    }
    guard let cidr = CIDR(text) else {
      report(
        RuleID.invalidCIDR, "invalid CIDR \"\(Self.sanitize(text))\": \(CIDR.problem(text) ?? "")", at: cidrPair.value,
        path: path + ".cidr")
      return nil
    }
    var excepts: [CIDR] = []
    var ok = true
    if let p = f["except"], let items = sequence(p.value, path: path + ".except") {
      for (i, item) in items.enumerated() {
        let epath = Self.index(path + ".except", i)
        guard let etext = string(item, path: epath) else {
          ok = false
          continue
        }
        guard let except = CIDR(etext) else {
          report(
            RuleID.invalidCIDR, "invalid CIDR \"\(Self.sanitize(etext))\": \(CIDR.problem(etext) ?? "")", at: item,
            path: epath)
          ok = false
          continue
        }
        guard cidr.strictlyContains(except) else {
          let why = except.family != cidr.family ? " (different address family)" : ""
          report(
            RuleID.invalidCIDR,
            "except \"\(Self.sanitize(etext))\" must be a strict subset of cidr \"\(Self.sanitize(text))\"\(why)",
            at: item, path: epath)
          ok = false
          continue
        }
        excepts.append(except)
      }
    }
    return ok ? IPBlock(cidr: cidr, except: excepts) : nil
  }

  /// ValidateNetworkPolicyPort, with the TCP default applied.
  mutating func policyPort(_ node: YAMLNode, path: String) -> PolicyPort? {
    let location = location(node)
    guard let f = fields(node, path: path, known: Self.portFields) else {
      return Self.isNull(node) ? PolicyPort(proto: Defaults.portProtocol, port: nil, location: location) : nil
    }
    var ok = true
    var proto = Defaults.portProtocol
    if let p = f["protocol"], let text = string(p.value, path: path + ".protocol") {
      if let parsed = NetProtocol(rawValue: text) {
        proto = parsed
      } else {
        report(
          RuleID.invalidProtocol, "unsupported protocol \"\(Self.sanitize(text))\": must be TCP, UDP or SCTP",
          at: p.value, path: path + ".protocol")
        ok = false
      }
    } else if let p = f["protocol"], !Self.isNull(p.value) {
      ok = false
    }
    var port: PortRef?
    if let p = f["port"], !Self.isNull(p.value) {
      switch p.value.resolved {
      case .string(let name)?:
        if let problem = NameRules.portName(name) {
          let hint = Int(name) != nil ? " (a quoted number is a port name; write the number unquoted)" : ""
          report(
            RuleID.invalidPort, "invalid port name \"\(Self.sanitize(name))\": \(problem)\(hint)", at: p.value,
            path: path + ".port")
          ok = false
        } else {
          port = .name(name)
        }
      default:
        if let n = integer(p.value, path: path + ".port", range: 1...65535, rule: RuleID.invalidPort) {
          port = .number(n)
        } else {
          ok = false
        }
      }
    }
    var endPort: Int?
    if let p = f["endPort"], !Self.isNull(p.value) {
      if let n = integer(p.value, path: path + ".endPort", range: 1...65535, rule: RuleID.invalidPort) {
        switch port {
        case .number(let start)? where n < start:
          report(
            RuleID.invalidPort, "endPort \(n) must be greater than or equal to port \(start)", at: p.value,
            path: path + ".endPort")
          ok = false
        case .name?:
          report(
            RuleID.invalidPort, "endPort may not be specified when port is non-numeric", at: p.value,
            path: path + ".endPort")
          ok = false
        case nil where f["port"].map({ !Self.isNull($0.value) }) != true:
          report(
            RuleID.invalidPort, "endPort may not be specified when port is not specified", at: p.value,
            path: path + ".endPort")
          ok = false
        default:
          endPort = n
        }
      } else {
        ok = false
      }
    }
    return ok ? PolicyPort(proto: proto, port: port, endPort: endPort, location: location) : nil
  }
}
