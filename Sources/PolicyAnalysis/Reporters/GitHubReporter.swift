/// GitHub Actions workflow commands: an annotation per finding,
/// `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`.
public enum GitHubReporter {
  public static func render(_ result: LintResult, base: String? = nil) -> String {
    let titles = Dictionary(
      uniqueKeysWithValues: result.rules.map { ($0.description.id, $0.description.title) })
    return result.findings.map { finding in
      let command: String
      switch finding.severity {
      case .error: command = "error"
      case .warning: command = "warning"
      case .note: command = "notice"
      }
      let l = finding.location
      let title = (titles[finding.ruleID].map { "\($0) " } ?? "") + "[\(finding.ruleID)]"
      let properties = [
        ("file", ReportPaths.relative(l.file, to: base)), ("line", "\(l.line)"),
        ("col", "\(l.column)"),
        ("endLine", "\(l.span.end.line)"), ("endColumn", "\(l.span.end.column)"), ("title", title),
      ]
      let props = properties.map { "\($0.0)=\(escapeProperty($0.1))" }.joined(separator: ",")
      return "::\(command) \(props)::\(escapeData(finding.displayMessage))\n"
    }.joined()
  }

  /// As the Actions toolkit's `escapeData`: %, CR and LF.
  public static func escapeData(_ text: String) -> String { escape(text, property: false) }

  /// As the toolkit's `escapeProperty`: also `:` and `,`, which end a property.
  public static func escapeProperty(_ text: String) -> String { escape(text, property: true) }

  static func escape(_ text: String, property: Bool) -> String {
    var out = ""
    for c in text.unicodeScalars {
      switch c {
      case "%": out += "%25"
      case "\r": out += "%0D"
      case "\n": out += "%0A"
      case ":" where property: out += "%3A"
      case "," where property: out += "%2C"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }
}
