public import YAMLBridge

/// Where something stands in the user's files.
public struct SourceLocation: Sendable, Hashable, Comparable {
  /// The path as the user gave it (`<stdin>` for standard input).
  public var file: String
  public var span: SourceSpan

  public init(file: String, span: SourceSpan) {
    self.file = file
    self.span = span
  }

  public init(file: String, mark: Mark) {
    self.init(file: file, span: SourceSpan(start: mark, end: mark))
  }

  public var line: Int { span.start.line }
  public var column: Int { span.start.column }

  public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
    (lhs.file, lhs.span.start, lhs.span.end) < (rhs.file, rhs.span.start, rhs.span.end)
  }
}

public enum Severity: String, Sendable, Hashable, Comparable, CaseIterable {
  case note, warning, error

  var rank: Int {
    switch self {
    case .note: return 0
    case .warning: return 1
    case .error: return 2
    }
  }

  public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// The identity of a Kubernetes object, for messages and reports.
public struct ObjectRef: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var kind: String
  public var namespace: String?
  public var name: String

  public init(kind: String, namespace: String?, name: String) {
    self.kind = kind
    self.namespace = namespace
    self.name = name
  }

  public var description: String { namespace.map { "\($0)/\(name)" } ?? name }

  public static func < (lhs: ObjectRef, rhs: ObjectRef) -> Bool {
    (lhs.kind, lhs.namespace ?? "", lhs.name) < (rhs.kind, rhs.namespace ?? "", rhs.name)
  }
}

/// One problem found in the input: what the API server (or a careful
/// reviewer) would say, and exactly where.
public struct Diagnostic: Sendable, Hashable {
  /// Stable kebab-case id (`invalid-port`), shared with `policyc lint`.
  public var ruleID: String
  public var severity: Severity
  /// Lowercase, carrying the offending value.
  public var message: String
  public var location: SourceLocation
  /// `spec.ingress[0].from[1].ipBlock.except[0]`; empty when not about a field.
  public var fieldPath: String
  public var object: ObjectRef?

  public init(
    ruleID: String, severity: Severity = .error, message: String, location: SourceLocation,
    fieldPath: String = "", object: ObjectRef? = nil
  ) {
    self.ruleID = ruleID
    self.severity = severity
    self.message = message
    self.location = location
    self.fieldPath = fieldPath
    self.object = object
  }

  /// `path:line:col: error: message [rule-id]`, as compilers print it.
  public var formatted: String {
    var text = "\(location.file):\(location.line):\(location.column): \(severity.rawValue): "
    if !fieldPath.isEmpty { text += "\(fieldPath): " }
    text += "\(message) [\(ruleID)]"
    return text
  }

  /// Total order for stable output: by file, position, then rule and text.
  public static func ordered(_ a: Diagnostic, _ b: Diagnostic) -> Bool {
    if a.location != b.location { return a.location < b.location }
    if a.ruleID != b.ruleID { return a.ruleID < b.ruleID }
    return a.message < b.message
  }
}

/// Rule ids for problems the API server would reject; lint adds its own warnings.
public enum RuleID {
  public static let yamlSyntax = "yaml-syntax"
  public static let yamlLimit = "yaml-limit"
  public static let duplicateKey = "duplicate-key"
  public static let unknownField = "unknown-field"
  public static let invalidType = "invalid-type"
  public static let missingField = "missing-field"
  public static let invalidName = "invalid-name"
  public static let invalidLabel = "invalid-label"
  public static let invalidSelector = "invalid-selector"
  public static let invalidCIDR = "invalid-cidr"
  public static let invalidPort = "invalid-port"
  public static let invalidProtocol = "invalid-protocol"
  public static let invalidPeer = "invalid-peer"
  public static let invalidPolicyType = "invalid-policy-type"
  public static let invalidAddress = "invalid-address"
  public static let duplicateObject = "duplicate-object"
  public static let unreadable = "unreadable-file"
  public static let invalidAdminPolicy = "invalid-admin-policy"
}
