import PolicyModel

/// A rule whose findings the loader already makes while decoding: what the
/// API server (or kubectl's strict decoding) would reject. Lint surfaces the
/// loader's diagnostics under the same ids.
struct LoaderRule: LintRule {
  let description: RuleDescription
  /// Which of the rule's diagnostics it keeps (duplicate-object gives the
  /// NetworkPolicy ones to duplicate-policy).
  var accepts: @Sendable (Diagnostic, LintContext) -> Bool = { _, _ in true }

  func check(_ context: LintContext) -> [Finding] {
    context.inventory.diagnostics.filter { $0.ruleID == description.id && accepts($0, context) }.map {
      Finding(diagnostic: $0, severity: description.severity)
    }
  }
}

extension Finding {
  init(diagnostic d: Diagnostic, severity: Severity) {
    self.init(
      ruleID: d.ruleID, severity: severity, message: d.message, location: d.location,
      fieldPath: d.fieldPath,
      object: d.object)
  }
}

/// Loader diagnostics under ids no rule describes (a rule added to the model
/// before lint knows it) still reach the user, at the loader's severity.
struct UndescribedDiagnostics {
  static func findings(_ context: LintContext, known: Set<String>) -> [Finding] {
    context.inventory.diagnostics.filter { !known.contains($0.ruleID) }.map {
      Finding(diagnostic: $0, severity: $0.severity)
    }
  }
}

extension LoaderRule {
  static let yamlSyntax = LoaderRule(
    description: RuleDescription(
      id: RuleID.yamlSyntax, title: "YAML syntax error",
      rationale: """
        The text is not valid YAML (or uses an alias before its anchor, or a bad `<<` merge), so \
        kubectl cannot read it. The rest of the file after the error is not checked.
        """,
      severity: .error,
      triggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n↓\tapp: web\n",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop\n↓",
      ],
      nonTriggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: web\n"
      ]))

  static let yamlLimit = LoaderRule(
    description: RuleDescription(
      id: RuleID.yamlLimit, title: "YAML exceeds a safety limit",
      rationale: """
        Nesting deeper than 512 levels, aliases expanding to more than 100000 nodes (the "billion \
        laughs" attack, CVE-2019-11253) or huge scalars are refused before they exhaust memory.
        """,
      severity: .error,
      triggering: [
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: "
          + String(repeating: "[", count: 510)
          + "↓[" + String(repeating: "]", count: 511) + "\n"
      ],
      nonTriggering: [
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shallow\ndata:\n  x: "
          + String(repeating: "[", count: 20)
          + String(repeating: "]", count: 20) + "\n"
      ]))

  static let duplicateKey = LoaderRule(
    description: RuleDescription(
      id: RuleID.duplicateKey, title: "key given twice in one mapping",
      rationale: """
        YAML parsers keep one of the two values silently; kubectl refuses the object. Remove one.
        """,
      severity: .error,
      triggering: [
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web-ingress
          namespace: shop
          ↓name: web-ingress-v2
        spec:
          podSelector: {}
        """
      ],
      nonTriggering: [
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web-ingress
          namespace: shop
        spec:
          podSelector: {}
        """
      ]))
}
