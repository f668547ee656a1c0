import PolicyModel

/// SARIF 2.1.0 for GitHub code scanning and other viewers: one run, every
/// rule in `tool.driver.rules` (so `ruleIndex` is stable whatever is found),
/// repository-relative URIs, and fingerprints that survive line moves.
public enum SARIFReporter {
  public static let schema = "https://json.schemastore.org/sarif-2.1.0.json"

  /// `base`: the directory lint ran in; absolute paths are made relative to it.
  /// `toolVersion`: `tool.driver.version`, what `policyc --version` prints
  /// after the name (with the commit); `semanticVersion` is the bare number.
  public static func render(
    _ result: LintResult, base: String? = nil, toolVersion: String = PolicycVersion.number
  ) -> String {
    let index = Dictionary(
      uniqueKeysWithValues: result.rules.enumerated().map { ($1.description.id, $0) })
    let fingerprints = Fingerprints.compute(result.findings, base: base)
    let results = zip(result.findings, fingerprints).map { finding, fingerprint in
      self.result(finding, ruleIndex: index[finding.ruleID], fingerprint: fingerprint, base: base)
    }
    let driver: JSONValue = .object([
      "name": .string("policyc"),
      "version": .string(toolVersion),
      "semanticVersion": .string(PolicycVersion.number),
      "rules": .array(result.rules.map(rule)),
    ])
    let run: JSONValue = .object([
      "tool": .object(["driver": driver]),
      "columnKind": .string("unicodeCodePoints"),
      "results": .array(results),
    ])
    return JSONValue.object([
      "$schema": .string(schema), "version": .string("2.1.0"), "runs": .array([run]),
    ]).pretty
  }

  static func level(_ severity: Severity) -> String { severity.rawValue }

  static func rule(_ configured: ConfiguredRule) -> JSONValue {
    let rule = configured.description
    var configuration: [String: JSONValue] = [
      "level": .string(level(configured.severity ?? rule.severity))
    ]
    if configured.severity == nil { configuration["enabled"] = .bool(false) }
    let example = rule.triggering.first.map { RuleDescription.strip($0).text }
    var markdown = rule.rationale
    var text = rule.rationale
    if let example {
      markdown +=
        "\n\nFor example, this triggers it:\n\n```yaml\n\(example.hasSuffix("\n") ? example : example + "\n")```\n"
      text += "\n\nFor example, this triggers it:\n\n\(example)"
    }
    return .object([
      "id": .string(rule.id),
      "name": .string(pascalCase(rule.id)),
      "shortDescription": .object(["text": .string(rule.title)]),
      "fullDescription": .object(["text": .string(rule.rationale)]),
      "help": .object(["text": .string(text), "markdown": .string(markdown)]),
      "defaultConfiguration": .object(configuration),
      "properties": .object(["tags": .array(["kubernetes", "networkpolicy"].map(JSONValue.string))]
      ),
    ])
  }

  static func result(_ finding: Finding, ruleIndex: Int?, fingerprint: String, base: String?)
    -> JSONValue
  {
    let l = finding.location
    // A region ends where it starts at the earliest (zero width at a point).
    let end = max(l.span.end, l.span.start)
    let physical: JSONValue = .object([
      "artifactLocation": .object([
        "uri": .string(ReportPaths.uri(ReportPaths.relative(l.file, to: base)))
      ]),
      "region": .object([
        "startLine": .int(l.line), "startColumn": .int(l.column), "endLine": .int(end.line),
        "endColumn": .int(end.column),
      ]),
    ])
    var location: [String: JSONValue] = ["physicalLocation": physical]
    if let object = finding.object {
      let qualified = [object.kind, object.namespace, object.name].compactMap { $0 }.joined(
        separator: "/")
      location["logicalLocations"] = .array([
        .object([
          "name": .string(object.name), "fullyQualifiedName": .string(qualified),
          "kind": .string("resource"),
        ])
      ])
    }
    var out: [String: JSONValue] = [
      "ruleId": .string(finding.ruleID),
      "level": .string(level(finding.severity)),
      "message": .object(["text": .string(finding.displayMessage)]),
      "locations": .array([.object(location)]),
      "partialFingerprints": .object(["policycFindingHash/v1": .string(fingerprint)]),
    ]
    if let ruleIndex { out["ruleIndex"] = .int(ruleIndex) }
    var properties: [String: JSONValue] = [:]
    if !finding.fieldPath.isEmpty { properties["fieldPath"] = .string(finding.fieldPath) }
    if let helm = finding.helmSource { properties["helmSource"] = .string(helm) }
    if !properties.isEmpty { out["properties"] = .object(properties) }
    return .object(out)
  }

  /// `selector-matches-nothing` -> `SelectorMatchesNothing`.
  static func pascalCase(_ id: String) -> String {
    id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
  }
}
