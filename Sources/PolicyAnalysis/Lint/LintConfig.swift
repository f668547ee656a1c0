public import PolicyModel
import YAMLBridge

/// A `--config` file that is not usable; the command exits 2 with it.
public struct LintConfigError: Error, Sendable, CustomStringConvertible {
  public var path: String
  public var mark: Mark
  public var message: String

  public init(path: String, mark: Mark, message: String) {
    self.path = path
    self.mark = mark
    self.message = message
  }

  public var description: String { "\(path):\(mark.line):\(mark.column): error: \(message)" }
}

/// Per-rule switches from `--config FILE`:
///
///     rules:
///       redundant-rule: off
///       ipblock-matches-pods: error
///
/// Each value is `off`, `note`, `warning` or `error`.
public struct LintConfig: Sendable, Hashable {
  /// Rule id to severity; `.some(nil)` switches the rule off.
  public var overrides: [String: Severity?]

  public init(overrides: [String: Severity?] = [:]) {
    self.overrides = overrides
  }

  /// The severity a rule runs at; nil when it is off.
  public func severity(of rule: RuleDescription) -> Severity? {
    if let override = overrides[rule.id] { return override }
    return rule.severity
  }

  /// Reads a configuration through YAMLBridge; every problem is fatal, since
  /// a half-read configuration would lint with rules the user switched off.
  public static func parse(_ bytes: [UInt8], path: String) throws(LintConfigError) -> LintConfig {
    let stream = YAMLParser.parse(bytes)
    if let error = stream.errors.first {
      throw LintConfigError(path: path, mark: error.mark, message: error.message)
    }
    guard stream.documents.count <= 1 else {
      throw LintConfigError(
        path: path, mark: stream.documents[1].start, message: "expected one YAML document")
    }
    guard let root = stream.documents.first?.root, root.resolved != .null else {
      return LintConfig()
    }
    guard let pairs = root.mappingPairs else {
      throw LintConfigError(
        path: path, mark: root.start, message: "expected a mapping with a \"rules\" key")
    }
    var config = LintConfig()
    for pair in pairs {
      guard pair.key.scalarText == "rules" else {
        let key = pair.key.scalarText ?? pair.key.kindName
        throw LintConfigError(
          path: path, mark: pair.key.start, message: "unknown key \"\(key)\" (expected \"rules\")")
      }
      if pair.value.resolved == .null { continue }
      guard let rules = pair.value.mappingPairs else {
        throw LintConfigError(
          path: path, mark: pair.value.start,
          message: "\"rules\" must map rule ids to off, note, warning or error")
      }
      let known = Set(LintRules.all.map(\.description.id))
      for rule in rules {
        guard let id = rule.key.scalarText, known.contains(id) else {
          throw LintConfigError(
            path: path, mark: rule.key.start,
            message: "unknown rule id \"\(rule.key.scalarText ?? "")\" (`policyc rules` lists them)"
          )
        }
        // Read the text, not the YAML 1.1 value: unquoted `off` is a boolean there.
        switch rule.value.scalarText {
        case "off"?: config.overrides[id] = .some(nil)
        case let text? where Severity(rawValue: text) != nil:
          config.overrides[id] = Severity(rawValue: text)!
        default:
          throw LintConfigError(
            path: path, mark: rule.value.start,
            message:
              "invalid setting \"\(rule.value.scalarText ?? rule.value.kindName)\" for \(id): expected off, note, warning or error"
          )
        }
      }
    }
    return config
  }
}
