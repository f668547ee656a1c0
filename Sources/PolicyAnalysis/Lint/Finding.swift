public import PolicyModel

/// One problem `policyc lint` reports: data only, so every reporter can
/// render it without knowing where it came from.
public struct Finding: Sendable, Hashable {
  /// Stable kebab-case rule id (`redundant-rule`).
  public var ruleID: String
  /// After the configuration's overrides.
  public var severity: Severity
  /// Lowercase, carrying the offending value; without the field path.
  public var message: String
  public var location: SourceLocation
  /// `spec.ingress[0].from[1]`; empty when the finding is about no field.
  public var fieldPath: String
  /// The object the finding is about, when it lies inside one.
  public var object: ObjectRef?
  /// The chart template a `helm template` document came from (its
  /// `# Source:` comment), so a finding in rendered output can be traced back.
  public var helmSource: String?

  public init(
    ruleID: String, severity: Severity, message: String, location: SourceLocation,
    fieldPath: String = "",
    object: ObjectRef? = nil, helmSource: String? = nil
  ) {
    self.ruleID = ruleID
    self.severity = severity
    self.message = message
    self.location = location
    self.fieldPath = fieldPath
    self.object = object
    self.helmSource = helmSource
  }

  /// The message with its field path in front, as compile prints diagnostics.
  public var displayMessage: String { fieldPath.isEmpty ? message : "\(fieldPath): \(message)" }

  /// Total order for output: path, position, then rule and text.
  public static func ordered(_ a: Finding, _ b: Finding) -> Bool {
    if a.location != b.location { return a.location < b.location }
    if a.ruleID != b.ruleID { return a.ruleID < b.ruleID }
    if a.fieldPath != b.fieldPath { return a.fieldPath < b.fieldPath }
    return a.message < b.message
  }
}

/// Counts for the summary line and the JSON `summary` object.
public struct LintSummary: Sendable, Hashable {
  public var files: Int
  /// Kubernetes objects read (of any kind, skipped ones included).
  public var objects: Int
  public var errors: Int
  public var warnings: Int
  public var notes: Int
  /// Findings silenced by `policyc.io/ignore` annotations.
  public var suppressed: Int

  public init(files: Int, objects: Int, errors: Int, warnings: Int, notes: Int, suppressed: Int) {
    self.files = files
    self.objects = objects
    self.errors = errors
    self.warnings = warnings
    self.notes = notes
    self.suppressed = suppressed
  }
}

/// The lowest severity that makes `policyc lint` exit 1.
public enum FailOn: String, Sendable, CaseIterable {
  case error, warning, never

  /// True when a finding of `severity` is at or above the threshold.
  public func fails(_ severity: Severity) -> Bool {
    switch self {
    case .error: return severity >= .error
    case .warning: return severity >= .warning
    case .never: return false
    }
  }
}

/// What a lint run found, sorted (see `Finding.ordered`).
public struct LintResult: Sendable {
  public var findings: [Finding]
  public var summary: LintSummary
  /// The rules as configured for this run (disabled ones included), sorted by id.
  public var rules: [ConfiguredRule]

  public init(findings: [Finding], summary: LintSummary, rules: [ConfiguredRule]) {
    self.findings = findings
    self.summary = summary
    self.rules = rules
  }

  public func fails(_ threshold: FailOn) -> Bool {
    findings.contains { threshold.fails($0.severity) }
  }
}

/// A rule with the severity this run gives it; nil when switched off.
public struct ConfiguredRule: Sendable {
  public var description: RuleDescription
  public var severity: Severity?

  public init(description: RuleDescription, severity: Severity?) {
    self.description = description
    self.severity = severity
  }
}
