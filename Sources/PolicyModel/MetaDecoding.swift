import YAMLBridge

extension NodeReader {
  static let metadataFields: Set<String> = [
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
  ]

  /// Reads `metadata`, validating the name (with `nameCheck`), namespace,
  /// labels and annotation keys as ValidateObjectMeta does.
  mutating func meta(
    _ root: Fields, rootNode: YAMLNode, kind: String, strict: Bool, namespaced: Bool,
    defaultNamespace: String, nameCheck: (String) -> String?
  ) -> ObjectMeta? {
    let location = location(rootNode)
    guard let metaPair = root["metadata"] else {
      report(RuleID.missingField, "\(kind) has no metadata", at: rootNode, path: "metadata")
      return nil
    }
    guard let fields = fields(metaPair.value, path: "metadata", known: strict ? Self.metadataFields : nil) else {
      if Self.isNull(metaPair.value) {
        report(RuleID.missingField, "\(kind) has no metadata", at: metaPair.value, path: "metadata")
      }
      return nil
    }
    var name: String?
    if let pair = fields["name"] { name = string(pair.value, path: "metadata.name") }
    guard let name, !name.isEmpty else {
      report(
        RuleID.missingField, "\(kind) has no metadata.name", at: fields["name"]?.value ?? metaPair.value,
        path: "metadata.name")
      return nil
    }
    var namespace = defaultNamespace
    var written: YAMLNode?
    // An empty namespace decodes like a missing one (Go's zero value), so it defaults.
    if namespaced, let pair = fields["namespace"], let ns = string(pair.value, path: "metadata.namespace"), !ns.isEmpty
    {
      namespace = ns
      written = pair.value
    }
    // Known before the name and namespace are checked, so their errors name
    // the object too.
    object = ObjectRef(kind: kind, namespace: namespaced ? namespace : nil, name: name)
    if let pair = fields["name"], let problem = nameCheck(name) {
      report(
        RuleID.invalidName, "invalid name \"\(Self.sanitize(name))\": \(problem)", at: pair.value, path: "metadata.name"
      )
    }
    if let written, let problem = NameRules.dns1123Label(namespace) {
      report(
        RuleID.invalidName, "invalid namespace \"\(Self.sanitize(namespace))\": \(problem)", at: written,
        path: "metadata.namespace")
    }
    var labels: [String: String] = [:]
    if let pair = fields["labels"] {
      labels = stringMap(pair.value, path: "metadata.labels", rule: RuleID.invalidLabel)
      validateLabels(pair.value, labels, path: "metadata.labels")
    }
    var annotations: [String: String] = [:]
    if let pair = fields["annotations"] {
      annotations = stringMap(pair.value, path: "metadata.annotations", rule: RuleID.invalidType)
      for p in pair.value.mappingPairs ?? [] {
        guard let key = p.key.scalarText, let problem = NameRules.qualifiedName(key) else { continue }
        report(
          RuleID.invalidName, "invalid annotation key \"\(Self.sanitize(key))\": \(problem)", at: p.key,
          path: Self.join("metadata.annotations", key))
      }
    }
    return ObjectMeta(
      name: name, namespace: namespace, namespaceWritten: written != nil, labels: labels, annotations: annotations,
      location: location, owners: fields["ownerReferences"].map { Self.owners($0.value) } ?? [])
  }

  /// Kind, name and controller of each well-formed owner reference. The
  /// API server fills these in itself, so a malformed entry is not the
  /// author's mistake to report: it is left out, and compile (which prunes
  /// the field) never sees it either way.
  static func owners(_ node: YAMLNode) -> [OwnerReference] {
    (node.sequenceItems ?? []).compactMap { item in
      guard case .string(let kind)? = item["kind"]?.resolved, case .string(let name)? = item["name"]?.resolved,
        !kind.isEmpty, !name.isEmpty
      else { return nil }
      var controller = false
      if case .bool(let b)? = item["controller"]?.resolved { controller = b }
      return OwnerReference(kind: kind, name: name, controller: controller)
    }
  }

  /// Label keys must be qualified names and values valid label values.
  mutating func validateLabels(_ node: YAMLNode, _ labels: [String: String], path: String) {
    for pair in node.mappingPairs ?? [] {
      guard let key = pair.key.scalarText else { continue }
      if let problem = NameRules.qualifiedName(key) {
        report(
          RuleID.invalidLabel, "invalid label key \"\(Self.sanitize(key))\": \(problem)", at: pair.key,
          path: Self.join(path, key))
      }
      if let value = labels[key], let problem = NameRules.labelValue(value) {
        report(
          RuleID.invalidLabel, "invalid label value \"\(Self.sanitize(value))\": \(problem)", at: pair.value,
          path: Self.join(path, key))
      }
    }
  }
}
