import PolicyModel

/// `path:line:col: severity: message [rule-id]`, one line per finding, in
/// the order of `LintResult.findings` (path, then position).
public enum TextReporter {
  public static func render(_ result: LintResult) -> String {
    result.findings.map {
      "\($0.location.file):\($0.location.line):\($0.location.column): \($0.severity.rawValue): \($0.displayMessage) [\($0.ruleID)]\n"
    }.joined()
  }

  /// The one line for standard error: `policyc: 1 error, 2 warnings in 3 files, 12 objects`.
  public static func summary(_ result: LintResult) -> String {
    let s = result.summary
    var parts = [count(s.errors, "error"), count(s.warnings, "warning")]
    if s.notes > 0 { parts.append(count(s.notes, "note")) }
    var line =
      "policyc: " + parts.joined(separator: ", ")
      + " in \(count(s.files, "file")), \(count(s.objects, "object"))"
    if s.suppressed > 0 { line += " (\(s.suppressed) suppressed)" }
    return line + "\n"
  }

  static func count(_ n: Int, _ word: String) -> String { Wording.count(n, word) }
}
