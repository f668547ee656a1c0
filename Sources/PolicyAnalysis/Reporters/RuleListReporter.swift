/// `policyc rules`: the rules as a table, one rule in full, or JSON.
public enum RuleListReporter {
  /// One line per rule: id, default severity, title.
  public static func text(_ rules: [RuleDescription]) -> String {
    let width = rules.map(\.id.count).max() ?? 0
    return rules.map { rule in
      let severity = rule.severity.rawValue
      return rule.id + String(repeating: " ", count: width - rule.id.count + 2) + severity
        + String(repeating: " ", count: 9 - severity.count) + rule.title + "\n"
    }.joined()
  }

  /// A rule's full description with its examples (`↓` marks where a finding points).
  public static func detail(_ rule: RuleDescription) -> String {
    func indent(_ example: String) -> String {
      example.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.isEmpty ? "" : "    " + $0
      }
      .joined(separator: "\n").trimmingTrailingNewlines() + "\n"
    }
    var out = "\(rule.id) (\(rule.severity.rawValue)): \(rule.title)\n\n\(wrap(rule.rationale))"
    out += "\nTriggers it (↓ marks where each finding points):\n"
    out += rule.triggering.map { "\n" + indent($0) }.joined()
    out += "\nDoes not trigger it:\n"
    out += rule.nonTriggering.map { "\n" + indent($0) }.joined()
    return out
  }

  /// Words filled into lines of at most `width` characters.
  static func wrap(_ text: String, width: Int = 78) -> String {
    var out = ""
    var line = ""
    for word in text.split(separator: " ") {
      if !line.isEmpty, line.count + 1 + word.count > width {
        out += line + "\n"
        line = ""
      }
      line += (line.isEmpty ? "" : " ") + word
    }
    return out + line + "\n"
  }

  /// `{"rules": [...], "version": 1}`; examples without markers, with the
  /// positions findings are expected at.
  public static func json(_ rules: [RuleDescription]) -> String {
    let items = rules.map { rule -> JSONValue in
      let triggering = rule.triggering.map { example -> JSONValue in
        let (text, marks) = RuleDescription.strip(example)
        return .object([
          "yaml": .string(text),
          "findings": .array(
            marks.map { .object(["line": .int($0.line), "column": .int($0.column)]) }),
        ])
      }
      return .object([
        "id": .string(rule.id), "title": .string(rule.title), "rationale": .string(rule.rationale),
        "severity": .string(rule.severity.rawValue),
        "examples": .object([
          "triggering": .array(triggering),
          "nonTriggering": .array(rule.nonTriggering.map(JSONValue.string)),
        ]),
      ])
    }
    return JSONValue.object(["rules": .array(items), "version": .int(1)]).pretty
  }
}

extension String {
  func trimmingTrailingNewlines() -> String {
    var out = self
    while out.hasSuffix("\n") { out.removeLast() }
    return out
  }
}
