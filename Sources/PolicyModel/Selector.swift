import YAMLBridge

extension LabelSelector {
  /// apimachinery semantics: every matchLabels pair and every expression must
  /// hold. `NotIn` and `DoesNotExist` match objects without the key;
  /// `matchLabels {k: ""}` needs k present with the empty value.
  public func matches(_ labels: [String: String]) -> Bool {
    for (key, value) in matchLabels where labels[key] != value { return false }
    for requirement in expressions where !requirement.matches(labels) { return false }
    return true
  }
}

extension LabelSelector {
  /// One text per meaning: labels and expressions sorted, so selectors that
  /// say the same thing share sets and compare equal in diffs.
  public var canonicalText: String {
    let labels = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    let exprs = expressions.map { "\($0.key) \($0.op.rawValue) (\($0.values.sorted().joined(separator: ",")))" }
      .sorted()
    return "{" + (labels + exprs).joined(separator: ";") + "}"
  }
}

extension SelectorRequirement {
  public func matches(_ labels: [String: String]) -> Bool {
    let value = labels[key]
    switch op {
    case .in: return value.map { values.contains($0) } ?? false
    case .notIn: return value.map { !values.contains($0) } ?? true
    case .exists: return value != nil
    case .doesNotExist: return value == nil
    }
  }
}

extension NodeReader {
  /// ValidateLabelSelector: valid keys and values; In/NotIn need values,
  /// Exists/DoesNotExist must have none.
  mutating func selector(_ node: YAMLNode, path: String) -> LabelSelector? {
    let errorsBefore = diagnostics.count
    guard let f = fields(node, path: path, known: ["matchLabels", "matchExpressions"]) else {
      return Self.isNull(node) ? .everything : nil
    }
    var matchLabels: [String: String] = [:]
    if let p = f["matchLabels"] {
      matchLabels = stringMap(p.value, path: path + ".matchLabels", rule: RuleID.invalidLabel)
      validateLabels(p.value, matchLabels, path: path + ".matchLabels")
    }
    var expressions: [SelectorRequirement] = []
    if let p = f["matchExpressions"], let items = sequence(p.value, path: path + ".matchExpressions") {
      for (i, item) in items.enumerated() {
        if let r = requirement(item, path: Self.index(path + ".matchExpressions", i)) { expressions.append(r) }
      }
    }
    guard diagnostics.count == errorsBefore else { return nil }
    return LabelSelector(matchLabels: matchLabels, expressions: expressions)
  }

  mutating func requirement(_ node: YAMLNode, path: String) -> SelectorRequirement? {
    guard let f = fields(node, path: path, known: ["key", "operator", "values"]) else { return nil }
    guard let keyPair = f["key"], let key = string(keyPair.value, path: path + ".key") else {
      report(RuleID.invalidSelector, "selector requirement needs a key", at: node, path: path + ".key")
      return nil
    }
    if let problem = NameRules.qualifiedName(key) {
      report(
        RuleID.invalidLabel, "invalid label key \"\(Self.sanitize(key))\": \(problem)", at: keyPair.value,
        path: path + ".key")
    }
    guard let opPair = f["operator"], let opText = string(opPair.value, path: path + ".operator") else {
      report(RuleID.invalidSelector, "selector requirement needs an operator", at: node, path: path + ".operator")
      return nil
    }
    guard let op = SelectorOperator(rawValue: opText) else {
      report(
        RuleID.invalidSelector,
        "\"\(Self.sanitize(opText))\" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)",
        at: opPair.value, path: path + ".operator")
      return nil
    }
    var values: [String] = []
    if let p = f["values"], let items = sequence(p.value, path: path + ".values") {
      for (i, item) in items.enumerated() {
        let vpath = Self.index(path + ".values", i)
        guard case .string(let v)? = item.resolved else {
          report(
            RuleID.invalidLabel, "selector value must be a string, found \(item.kindName)", at: item, path: vpath)
          continue
        }
        if let problem = NameRules.labelValue(v) {
          report(RuleID.invalidLabel, "invalid label value \"\(Self.sanitize(v))\": \(problem)", at: item, path: vpath)
        }
        values.append(v)
      }
    }
    switch op {
    case .in where values.isEmpty, .notIn where values.isEmpty:
      report(
        RuleID.invalidSelector, "values must be non-empty when operator is \(op.rawValue)",
        at: f["values"]?.value ?? opPair.value, path: path + ".values")
      return nil
    case .exists where !values.isEmpty, .doesNotExist where !values.isEmpty:
      report(
        RuleID.invalidSelector, "values must be empty when operator is \(op.rawValue)", at: f["values"]!.value,
        path: path + ".values")
      return nil
    default:
      return SelectorRequirement(key: key, op: op, values: values)
    }
  }
}
