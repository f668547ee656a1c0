import YAMLBridge

/// NetworkPolicies read from events as `NodeReader.networkPolicy` reads
/// them from nodes (PolicyDecoding.swift, MetaDecoding.swift,
/// Selector.swift), with the same defaults; every check that would report
/// there, and every shape the tree decoder passes over in silence (a null
/// `except` entry, a null selector requirement), gives up here.
extension EventDecoder {
  /// The metadata keys the strict decoder knows and compile does not read.
  static let otherMetadataFields: [StaticString] = [
    "generateName", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "finalizers", "managedFields",
  ]

  struct PolicySpecFields {
    var podSelector = LabelSelector.everything
    var ingress: [PolicyRule] = []
    var egress: [PolicyRule] = []
    var written: [PolicyType]?
  }

  /// The rest of a NetworkPolicy item, after its apiVersion and kind; its
  /// mapping started at `start`, its keys are in `scope`.
  mutating func networkPolicy(start: Mark, scope: KeyScope) throws(Fallback) {
    var meta: ObjectMeta?
    var spec: PolicySpecFields?
    while try readKey(in: scope) {
      if events.isText("metadata") {
        meta = try policyMetadata(start: start)
      } else if events.isText("spec") {
        spec = try policySpec()
      } else if events.isText("status") {
        try skipValue(built: true)
      } else {
        // "A policy object's top level holds only apiVersion, kind, metadata, spec and status."
        throw Fallback()
      }
    }
    guard var meta else { throw Fallback() }
    meta.location = SourceLocation(file: file, span: SourceSpan(start: start, end: events.end))
    guard let spec else {
      // A policy without spec selects every pod for ingress and allows nothing in.
      inventory.policies.append(
        NetworkPolicy(
          meta: meta, podSelector: .everything, policyTypes: [.ingress], policyTypesWritten: false, ingress: [],
          egress: []))
      return
    }
    inventory.policies.append(
      NetworkPolicy(
        meta: meta, podSelector: spec.podSelector,
        policyTypes: Defaults.policyTypes(written: spec.written, egressRuleCount: spec.egress.count),
        policyTypesWritten: !(spec.written ?? []).isEmpty, ingress: spec.ingress, egress: spec.egress))
  }

  /// Strict `metadata`: name (a DNS-1123 subdomain), namespace, labels and
  /// annotations; owner references only when null (the tree's lenient
  /// reading of them is left to the tree). A cluster-scoped object's
  /// (`namespaced` false) namespace may only be empty: the tree warns of
  /// any other.
  mutating func policyMetadata(start: Mark, namespaced: Bool = true) throws(Fallback) -> ObjectMeta {
    guard try next() == .mappingStart else { throw Fallback() }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var name: String?
    var namespace: String?
    var labels: [String: String] = [:]
    var annotations: [String: String] = [:]
    keys: while try readKey(in: scope) {
      if events.isText("name") {
        name = try string()
      } else if events.isText("namespace") {
        if namespaced {
          namespace = try string()
        } else {
          guard try next() == .scalar, events.bytes.isEmpty else { throw Fallback() }
        }
      } else if events.isText("labels") {
        labels = try labelMap()
      } else if events.isText("annotations") {
        annotations = try stringMap { key, _ in NameRules.qualifiedName(key) == nil }
      } else if events.isText("ownerReferences") {
        guard try !open(.sequenceStart) else { throw Fallback() }
      } else {
        for known in Self.otherMetadataFields where events.isText(known) {
          try skipValue(built: true)
          continue keys
        }
        throw Fallback()
      }
    }
    guard let name, !name.isEmpty, NameRules.dns1123Subdomain(name) == nil else { throw Fallback() }
    var written = false
    var resolved = defaultNamespace
    // An empty namespace decodes like a missing one (Go's zero value), so it defaults.
    if let namespace, !namespace.isEmpty {
      guard NameRules.dns1123Label(namespace) == nil else { throw Fallback() }
      resolved = namespace
      written = true
    }
    return ObjectMeta(
      name: name, namespace: resolved, namespaceWritten: written, labels: labels, annotations: annotations,
      location: SourceLocation(file: file, mark: start))
  }

  /// `spec`, or nil when it is null.
  mutating func policySpec() throws(Fallback) -> PolicySpecFields? {
    guard try open(.mappingStart) else { return nil }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var out = PolicySpecFields()
    while try readKey(in: scope) {
      if events.isText("podSelector") {
        out.podSelector = try selector() ?? .everything
      } else if events.isText("ingress") {
        out.ingress = try rules(peerKey: "from")
      } else if events.isText("egress") {
        out.egress = try rules(peerKey: "to")
      } else if events.isText("policyTypes") {
        out.written = try policyTypes()
      } else {
        throw Fallback()
      }
    }
    return out
  }

  /// `policyTypes` as written (null entries are passed over, as the tree
  /// decoder does), or nil when the list is null.
  mutating func policyTypes() throws(Fallback) -> [PolicyType]? {
    var count = 0
    let types = try scalars { decoder throws(Fallback) -> PolicyType? in
      count += 1
      switch decoder.events.resolved {
      case .null: return nil
      case .string(let text):
        guard let type = PolicyType(rawValue: text) else { throw Fallback() }
        return type
      default: throw Fallback()
      }
    }
    // "too many policy types": at most 2, null entries counted.
    guard count <= 2 else { throw Fallback() }
    return types
  }

  /// A label selector, or nil when it is null.
  mutating func selector() throws(Fallback) -> LabelSelector? {
    guard try open(.mappingStart) else { return nil }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var out = LabelSelector()
    while try readKey(in: scope) {
      if events.isText("matchLabels") {
        out.matchLabels = try labelMap()
      } else if events.isText("matchExpressions") {
        out.expressions = try mappings { decoder throws(Fallback) in try decoder.requirement() }
      } else {
        throw Fallback()
      }
    }
    return out
  }

  /// ValidateLabelSelectorRequirement: In and NotIn need values, Exists
  /// and DoesNotExist must have none.
  mutating func requirement() throws(Fallback) -> SelectorRequirement {
    let scope = openKeys()
    defer { closeKeys(scope) }
    var key: String?
    var op: SelectorOperator?
    var values: [String] = []
    while try readKey(in: scope) {
      if events.isText("key") {
        key = try string()
      } else if events.isText("operator") {
        op = try string().flatMap(SelectorOperator.init(rawValue:))
        guard op != nil else { throw Fallback() }
      } else if events.isText("values") {
        values = try labelValues()
      } else {
        throw Fallback()
      }
    }
    guard let key, NameRules.qualifiedName(key) == nil, let op else { throw Fallback() }
    switch op {
    case .in, .notIn: guard !values.isEmpty else { throw Fallback() }
    case .exists, .doesNotExist: guard values.isEmpty else { throw Fallback() }
    }
    return SelectorRequirement(key: key, op: op, values: values)
  }

  mutating func labelValues() throws(Fallback) -> [String] {
    try scalars { decoder throws(Fallback) in
      guard case .string(let value) = decoder.events.resolved, NameRules.labelValue(value) == nil else {
        throw Fallback()
      }
      return value
    } ?? []
  }
}
