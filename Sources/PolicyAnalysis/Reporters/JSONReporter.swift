/// `policyc lint --format json`: one object, keys sorted, version 1.
///
///     {
///       "findings": [{
///         "column": 7, "endColumn": 11, "endLine": 12, "line": 12,
///         "fieldPath": "spec.ingress[0].ports[0].port",   // "" when about no field
///         "fingerprint": "…:1",      // stable across line moves (see Fingerprints)
///         "helmSource": null,        // `# Source:` template of helm output
///         "message": "…",            // lowercase, without the field path
///         "object": {"kind": "NetworkPolicy", "name": "web", "namespace": "shop"},  // or null
///         "path": "policies/web.yaml",   // as given on the command line
///         "ruleId": "invalid-port", "severity": "error"      // error, warning or note
///       }],
///       "summary": {"errors": 1, "files": 1, "notes": 0, "objects": 3, "suppressed": 0, "warnings": 0},
///       "version": 1
///     }
///
/// Lines and columns are 1-based; columns count Unicode code points;
/// `endLine`/`endColumn` stand just past the end. A new field may appear
/// without a version change; a changed or removed one bumps `version`.
public enum JSONReporter {
  public static let version = 1

  public static func render(_ result: LintResult, base: String? = nil) -> String {
    let fingerprints = Fingerprints.compute(result.findings, base: base)
    let findings = zip(result.findings, fingerprints).map { finding, fingerprint -> JSONValue in
      let l = finding.location
      let object: JSONValue =
        finding.object.map {
          .object([
            "kind": .string($0.kind), "name": .string($0.name),
            "namespace": .optional($0.namespace),
          ])
        } ?? .null
      return .object([
        "column": .int(l.column), "endColumn": .int(l.span.end.column),
        "endLine": .int(l.span.end.line),
        "fieldPath": .string(finding.fieldPath), "fingerprint": .string(fingerprint),
        "helmSource": .optional(finding.helmSource), "line": .int(l.line),
        "message": .string(finding.message),
        "object": object, "path": .string(l.file), "ruleId": .string(finding.ruleID),
        "severity": .string(finding.severity.rawValue),
      ])
    }
    let s = result.summary
    let summary: JSONValue = .object([
      "errors": .int(s.errors), "files": .int(s.files), "notes": .int(s.notes),
      "objects": .int(s.objects),
      "suppressed": .int(s.suppressed), "warnings": .int(s.warnings),
    ])
    return JSONValue.object([
      "findings": .array(findings), "summary": summary, "version": .int(version),
    ]).pretty
  }
}
