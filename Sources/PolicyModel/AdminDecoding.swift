import YAMLBridge

extension NodeReader {
  static let adminSpecFields: Set<String> = ["priority", "subject", "ingress", "egress"]
  static let baselineSpecFields: Set<String> = ["subject", "ingress", "egress"]
  /// Egress peers the API defines that policyc cannot enforce offline: node
  /// addresses and DNS names are not in the inputs.
  static let unenforceablePeers: Set<String> = ["nodes", "domainNames"]

  /// Decodes an AdminNetworkPolicy (`baseline` false) or the
  /// BaselineAdminNetworkPolicy strictly, validating it as the CRD's schema
  /// and CEL rules do. Anything invalid makes the whole object an error.
  mutating func adminPolicy(_ root: Fields, rootNode: YAMLNode, baseline: Bool) -> AdminPolicy? {
    let kind = baseline ? AdminPolicy.baselineKind : AdminPolicy.adminKind
    let errorsBefore = diagnostics.count { $0.severity == .error }
    reportUnknownTopLevelFields(rootNode)
    guard
      var meta = meta(
        root, rootNode: rootNode, kind: kind, strict: true, namespaced: false, defaultNamespace: "",
        nameCheck: NameRules.dns1123Subdomain)
    else { return nil }
    meta.namespace = ""
    if let ns = root["metadata"]?.value["namespace"], let text = ns.scalarText, !text.isEmpty {
      report(
        RuleID.invalidAdminPolicy,
        "\(kind) is cluster-scoped: metadata.namespace \"\(Self.sanitize(text))\" is ignored",
        at: ns, path: "metadata.namespace", severity: .warning)
    }
    if baseline, meta.name != AdminPolicy.baselineName, let node = root["metadata"]?.value["name"] {
      report(
        RuleID.invalidAdminPolicy,
        "only one BaselineAdminNetworkPolicy may exist and it must be named \"default\", not \"\(Self.sanitize(meta.name))\"",
        at: node, path: "metadata.name")
    }
    guard let specPair = root["spec"],
      let spec = fields(specPair.value, path: "spec", known: baseline ? Self.baselineSpecFields : Self.adminSpecFields)
    else {
      report(RuleID.missingField, "\(kind) has no spec", at: root["spec"]?.value ?? rootNode, path: "spec")
      return nil
    }
    var tier = AdminTier.baseline
    if !baseline {
      if let p = spec["priority"], !Self.isNull(p.value) {
        if let n = integer(p.value, path: "spec.priority", range: 0...1000, rule: RuleID.invalidAdminPolicy) {
          tier = .admin(priority: n)
        }
      } else {
        report(
          RuleID.missingField, "spec.priority is required (0-1000)", at: spec["priority"]?.value ?? specPair.value,
          path: "spec.priority")
      }
    }
    var subject: AdminSubject?
    if let p = spec["subject"], !Self.isNull(p.value) {
      subject = adminSubject(p.value, path: "spec.subject")
    } else {
      report(
        RuleID.missingField, "spec.subject is required", at: spec["subject"]?.value ?? specPair.value,
        path: "spec.subject")
    }
    let ingress = adminRules(spec["ingress"], path: "spec.ingress", baseline: baseline, ingress: true)
    let egress = adminRules(spec["egress"], path: "spec.egress", baseline: baseline, ingress: false)
    guard diagnostics.count(where: { $0.severity == .error }) == errorsBefore, let subject else { return nil }
    return AdminPolicy(meta: meta, tier: tier, subject: subject, ingress: ingress, egress: egress)
  }

  /// Exactly one of `namespaces` (a selector) or `pods` (namespaceSelector
  /// and podSelector, both required). Used for subjects and in-cluster peers.
  mutating func namespacedPods(_ node: YAMLNode, path: String, extra: Set<String> = [])
    -> (field: String, namespaces: LabelSelector, pods: LabelSelector?)?
  {
    let errorsBefore = diagnostics.count
    guard let f = fields(node, path: path, known: Set(["namespaces", "pods"]).union(extra)) else {
      if Self.isNull(node) { report(RuleID.missingField, "must not be empty", at: node, path: path) }
      return nil
    }
    let present = f.map(\.key)
    // Unknown fields alone were reported already.
    if present.isEmpty, diagnostics.count > errorsBefore { return nil }
    guard present.count == 1, let field = present.first else {
      let names = (["namespaces", "pods"] + extra.sorted()).joined(separator: ", ")
      report(
        RuleID.invalidAdminPolicy,
        present.isEmpty
          ? "exactly one of \(names) is required"
          : "exactly one of \(names) may be set, found \(present.joined(separator: " and "))",
        at: node, path: path)
      return nil
    }
    let value = f[field]!.value
    switch field {
    case "namespaces":
      guard let selector = selector(value, path: path + ".namespaces") else { return nil }
      return (field, selector, nil)
    case "pods":
      guard let pf = fields(value, path: path + ".pods", known: ["namespaceSelector", "podSelector"]) else {
        report(RuleID.missingField, "pods needs namespaceSelector and podSelector", at: value, path: path + ".pods")
        return nil
      }
      var out: [LabelSelector] = []
      for key in ["namespaceSelector", "podSelector"] {
        guard let p = pf[key] else {
          report(
            RuleID.missingField, "\(key) is required ({} selects everything)", at: value, path: path + ".pods.\(key)")
          continue
        }
        if let s = selector(p.value, path: path + ".pods.\(key)") { out.append(s) }
      }
      return out.count == 2 ? (field, out[0], out[1]) : nil
    default:
      return (field, .everything, nil)
    }
  }

  mutating func adminSubject(_ node: YAMLNode, path: String) -> AdminSubject? {
    namespacedPods(node, path: path).map { AdminSubject(namespaces: $0.namespaces, pods: $0.pods) }
  }

  /// The `ingress` or `egress` rules of an admin policy: each rule is
  /// decoded whole, and one with any error is left out (the error makes the
  /// whole policy invalid).
  mutating func adminRules(_ pair: YAMLPair?, path: String, baseline: Bool, ingress: Bool) -> [AdminRule] {
    guard let pair, let items = sequence(pair.value, path: path) else { return [] }
    if items.count > 100 {
      report(RuleID.invalidAdminPolicy, "too many rules: \(items.count), at most 100", at: pair.value, path: path)
    }
    return items.enumerated().compactMap { i, item in
      adminRule(item, path: Self.index(path, i), baseline: baseline, ingress: ingress)
    }
  }

  /// One rule: name, action, peers (`from` for ingress, `to` for egress)
  /// and ports. Every part is checked, so one pass reports all of a rule's
  /// problems; nil when any part is invalid.
  mutating func adminRule(_ item: YAMLNode, path: String, baseline: Bool, ingress: Bool) -> AdminRule? {
    let peerKey = ingress ? "from" : "to"
    guard let f = fields(item, path: path, known: ["name", "action", peerKey, "ports"]) else {
      if Self.isNull(item) {
        report(RuleID.missingField, "a rule needs an action and \(peerKey)", at: item, path: path)
      }
      return nil
    }
    var valid = true
    let name = adminRuleName(f, path: path, valid: &valid)
    let action = adminRuleAction(f, item: item, path: path, baseline: baseline, valid: &valid)
    let peers = adminRulePeers(f, item: item, path: path, ingress: ingress, valid: &valid)
    let ports = adminRulePorts(f, path: path, valid: &valid)
    let hasNetworks = peers.contains { if case .ipBlock = $0.kind { true } else { false } }
    let hasNamedPort = ports.contains { if case .name = $0.port { true } else { false } }
    if hasNetworks, hasNamedPort, let p = f["ports"] {
      report(
        RuleID.invalidAdminPolicy,
        "networks peers cannot be combined with namedPort: addresses outside the cluster have no named ports",
        at: p.value, path: path + ".ports")
      valid = false
    }
    guard valid, let action else { return nil }
    return AdminRule(
      name: name, action: action, match: PolicyRule(peers: peers, ports: ports, location: location(item)))
  }

  /// `name`: optional, at most 100 characters; "" when absent.
  mutating func adminRuleName(_ f: Fields, path: String, valid: inout Bool) -> String {
    guard let p = f["name"], let text = string(p.value, path: path + ".name") else { return "" }
    if text.count > 100 {
      report(RuleID.invalidAdminPolicy, "rule name is longer than 100 characters", at: p.value, path: path + ".name")
      valid = false
    }
    return text
  }

  /// `action`: required; Allow, Deny or Pass (a baseline has no Pass).
  mutating func adminRuleAction(_ f: Fields, item: YAMLNode, path: String, baseline: Bool, valid: inout Bool)
    -> AdminAction?
  {
    guard let p = f["action"], !Self.isNull(p.value) else {
      report(RuleID.missingField, "action is required", at: f["action"]?.value ?? item, path: path + ".action")
      valid = false
      return nil
    }
    guard let text = string(p.value, path: path + ".action") else { return nil }
    let allowed: [AdminAction] = baseline ? [.allow, .deny] : AdminAction.allCases
    if let action = AdminAction(rawValue: text), allowed.contains(action) { return action }
    report(
      RuleID.invalidAdminPolicy,
      "unsupported action \"\(Self.sanitize(text))\": must be \(baseline ? "Allow or Deny" : "Allow, Deny or Pass")",
      at: p.value, path: path + ".action")
    valid = false
    return nil
  }

  /// `from` or `to`: required, 1 to 100 peers; the peers decoded (all of
  /// them, for the networks-and-namedPort check, even when one is invalid).
  mutating func adminRulePeers(_ f: Fields, item: YAMLNode, path: String, ingress: Bool, valid: inout Bool)
    -> [Peer]
  {
    let peerKey = ingress ? "from" : "to"
    let peersPath = "\(path).\(peerKey)"
    guard let p = f[peerKey], let list = sequence(p.value, path: peersPath), !list.isEmpty else {
      report(
        RuleID.missingField, "\(peerKey) is required and needs at least one peer", at: f[peerKey]?.value ?? item,
        path: peersPath)
      valid = false
      return []
    }
    if list.count > 100 {
      report(RuleID.invalidAdminPolicy, "too many peers: \(list.count), at most 100", at: p.value, path: peersPath)
      valid = false
    }
    var peers: [Peer] = []
    for (j, node) in list.enumerated() {
      guard let found = adminPeers(node, path: Self.index(peersPath, j), ingress: ingress) else {
        valid = false
        continue
      }
      peers += found
    }
    return peers
  }

  /// `ports`: optional (absent or null: every port), 1 to 100 entries.
  mutating func adminRulePorts(_ f: Fields, path: String, valid: inout Bool) -> [PolicyPort] {
    guard let p = f["ports"], !Self.isNull(p.value), let list = sequence(p.value, path: path + ".ports") else {
      return []
    }
    if list.count > 100 {
      report(
        RuleID.invalidAdminPolicy, "too many ports: \(list.count), at most 100", at: p.value, path: path + ".ports")
      valid = false
    }
    if list.isEmpty {
      // An empty list is not "all ports" in this API: it would match nothing. Say so.
      report(
        RuleID.invalidAdminPolicy, "ports must not be empty (leave it out to match every port)", at: p.value,
        path: path + ".ports")
      valid = false
    }
    var ports: [PolicyPort] = []
    for (j, node) in list.enumerated() {
      guard let entries = adminPort(node, path: Self.index(path + ".ports", j)) else {
        valid = false
        continue
      }
      ports += entries
    }
    return ports
  }

  /// One peer as NetworkPolicy peers: `networks` gives one ipBlock per CIDR.
  mutating func adminPeers(_ node: YAMLNode, path: String, ingress: Bool) -> [Peer]? {
    let location = location(node)
    if !ingress, let pairs = node.mappingPairs {
      for pair in pairs {
        guard let key = pair.key.scalarText, Self.unenforceablePeers.contains(key) else { continue }
        report(
          RuleID.invalidAdminPolicy,
          "\(key) peers are not supported: policyc cannot know \(key == "nodes" ? "node addresses" : "the addresses of DNS names") offline",
          at: pair.key, path: Self.join(path, key))
        return nil
      }
    }
    guard let found = namespacedPods(node, path: path, extra: ingress ? [] : ["networks"]) else { return nil }
    if found.field != "networks" {
      return [Peer(kind: .selectors(pods: found.pods, namespaces: found.namespaces), location: location)]
    }
    guard let value = node["networks"], let items = sequence(value, path: path + ".networks") else { return nil }
    guard (1...25).contains(items.count) else {
      report(
        RuleID.invalidAdminPolicy, "networks needs 1 to 25 CIDRs, found \(items.count)", at: value,
        path: path + ".networks")
      return nil
    }
    var peers: [Peer] = []
    for (i, item) in items.enumerated() {
      let ipath = Self.index(path + ".networks", i)
      guard let text = string(item, path: ipath) else { return nil }
      guard let cidr = CIDR(text) else {
        report(
          RuleID.invalidCIDR, "invalid CIDR \"\(Self.sanitize(text))\": \(CIDR.problem(text) ?? "")", at: item,
          path: ipath)
        return nil
      }
      peers.append(Peer(kind: .ipBlock(IPBlock(cidr: cidr, except: [])), location: self.location(item)))
    }
    return peers
  }

  /// Exactly one of portNumber, namedPort, portRange. A named port matches
  /// the destination's container port of that name whatever its protocol,
  /// so it becomes one named entry per protocol.
  mutating func adminPort(_ node: YAMLNode, path: String) -> [PolicyPort]? {
    let location = location(node)
    let errorsBefore = diagnostics.count
    guard let f = fields(node, path: path, known: ["portNumber", "namedPort", "portRange"]) else {
      if Self.isNull(node) {
        report(RuleID.invalidPort, "exactly one of portNumber, namedPort, portRange is required", at: node, path: path)
      }
      return nil
    }
    let present = f.map(\.key)
    if present.isEmpty, diagnostics.count > errorsBefore { return nil }
    guard present.count == 1, let field = present.first, let value = f[field]?.value else {
      report(
        RuleID.invalidPort,
        "exactly one of portNumber, namedPort, portRange is required"
          + (present.isEmpty ? "" : ", found \(present.joined(separator: " and "))"), at: node, path: path)
      return nil
    }
    let fpath = path + "." + field
    switch field {
    case "namedPort":
      guard let name = string(value, path: fpath) else {
        report(RuleID.invalidPort, "namedPort needs a port name", at: value, path: fpath)
        return nil
      }
      if let problem = NameRules.portName(name) {
        report(RuleID.invalidPort, "invalid port name \"\(Self.sanitize(name))\": \(problem)", at: value, path: fpath)
        return nil
      }
      return NetProtocol.allCases.map { PolicyPort(proto: $0, port: .name(name), location: location) }
    case "portNumber":
      guard let pf = fields(value, path: fpath, known: ["protocol", "port"]) else {
        report(RuleID.invalidPort, "portNumber needs a port", at: value, path: fpath)
        return nil
      }
      guard let proto = adminProtocol(pf, path: fpath) else { return nil }
      guard let p = pf["port"], !Self.isNull(p.value) else {
        report(RuleID.missingField, "port is required", at: value, path: fpath + ".port")
        return nil
      }
      guard let n = integer(p.value, path: fpath + ".port", range: 1...65535, rule: RuleID.invalidPort) else {
        return nil
      }
      return [PolicyPort(proto: proto, port: .number(n), location: location)]
    default:
      guard let pf = fields(value, path: fpath, known: ["protocol", "start", "end"]) else {
        report(RuleID.invalidPort, "portRange needs start and end", at: value, path: fpath)
        return nil
      }
      guard let proto = adminProtocol(pf, path: fpath) else { return nil }
      var bounds: [Int] = []
      for key in ["start", "end"] {
        guard let p = pf[key], !Self.isNull(p.value) else {
          report(RuleID.missingField, "\(key) is required", at: value, path: fpath + "." + key)
          return nil
        }
        guard let n = integer(p.value, path: fpath + "." + key, range: 1...65535, rule: RuleID.invalidPort) else {
          return nil
        }
        bounds.append(n)
      }
      guard bounds[0] < bounds[1] else {
        report(
          RuleID.invalidPort, "start \(bounds[0]) must be less than end \(bounds[1])", at: pf["end"]!.value,
          path: fpath + ".end")
        return nil
      }
      return [PolicyPort(proto: proto, port: .number(bounds[0]), endPort: bounds[1], location: location)]
    }
  }

  /// The protocol of a portNumber or portRange: TCP when absent.
  mutating func adminProtocol(_ f: Fields, path: String) -> NetProtocol? {
    guard let p = f["protocol"], !Self.isNull(p.value) else { return Defaults.portProtocol }
    guard let text = string(p.value, path: path + ".protocol") else { return nil }
    guard let proto = NetProtocol(rawValue: text) else {
      report(
        RuleID.invalidProtocol, "unsupported protocol \"\(Self.sanitize(text))\": must be TCP, UDP or SCTP",
        at: p.value, path: path + ".protocol")
      return nil
    }
    return proto
  }
}
