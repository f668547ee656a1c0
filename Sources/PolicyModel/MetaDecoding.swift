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
    if let pair = fields["name"] {
      name = string(pair.value, path: "metadata.name")
      if let n = name, let problem = nameCheck(n) {
        report(
          RuleID.invalidName, "invalid name \"\(Self.sanitize(n))\": \(problem)", at: pair.value, path: "metadata.name")
      }
    }
    guard let name, !name.isEmpty else {
      report(
        RuleID.missingField, "\(kind) has no metadata.name", at: fields["name"]?.value ?? metaPair.value,
        path: "metadata.name")
      return nil
    }
    var namespace = defaultNamespace
    var written = false
    // An empty namespace decodes like a missing one (Go's zero value), so it defaults.
    if namespaced, let pair = fields["namespace"], let ns = string(pair.value, path: "metadata.namespace"), !ns.isEmpty
    {
      if let problem = NameRules.dns1123Label(ns) {
        report(
          RuleID.invalidName, "invalid namespace \"\(Self.sanitize(ns))\": \(problem)", at: pair.value,
          path: "metadata.namespace")
      }
      namespace = ns
      written = true
    }
    object = ObjectRef(kind: kind, namespace: namespaced ? namespace : nil, name: name)
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
      name: name, namespace: namespace, namespaceWritten: written, labels: labels, annotations: annotations,
      location: location)
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
