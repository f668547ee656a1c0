public import PolicyModel
public import YAMLBridge

/// What a lint rule is, in its own words. The examples are both the rule's
/// documentation (`policyc rules ID`) and its tests: every triggering example
/// must produce this rule's findings exactly where its `↓` markers stand, and
/// no non-triggering example may produce any.
public struct RuleDescription: Sendable, Hashable {
  /// Stable kebab-case id; used in output, annotations and configuration.
  public var id: String
  /// A short lowercase phrase: what is wrong.
  public var title: String
  /// Why it matters and what to do about it.
  public var rationale: String
  public var severity: Severity
  /// YAML manifests; `↓` marks where each finding starts.
  public var triggering: [String]
  public var nonTriggering: [String]

  public init(
    id: String, title: String, rationale: String, severity: Severity, triggering: [String],
    nonTriggering: [String]
  ) {
    self.id = id
    self.title = title
    self.rationale = rationale
    self.severity = severity
    self.triggering = triggering
    self.nonTriggering = nonTriggering
  }

  /// The marker examples use for "a finding starts here".
  public static let marker: Character = "↓"

  /// An example without its markers, and the positions (1-based line and
  /// column, in characters) the markers stood at.
  public static func strip(_ example: String) -> (text: String, marks: [Mark]) {
    var text = ""
    var marks: [Mark] = []
    var line = 1
    var column = 1
    for character in example {
      if character == marker {
        marks.append(Mark(line: line, column: column))
        continue
      }
      text.append(character)
      if character == "\n" {
        line += 1
        column = 1
      } else {
        column += character.unicodeScalars.count
      }
    }
    return (text, marks)
  }
}

/// A check over everything lint read. Rules are stateless; the engine runs
/// them all and applies suppressions and configuration afterwards.
public protocol LintRule: Sendable {
  var description: RuleDescription { get }
  /// Findings at the rule's default severity.
  func check(_ context: LintContext) -> [Finding]
}
