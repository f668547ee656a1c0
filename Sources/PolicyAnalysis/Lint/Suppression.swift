import Foundation
import PolicyModel

/// `policyc.io/ignore: "rule-id[,rule-id...]"` on an object silences those
/// rules for findings inside that object; `policyc.io/ignore-reason` says why.
enum Suppression {
  static let ignoreKey = "policyc.io/ignore"
  static let reasonKey = "policyc.io/ignore-reason"
  static let ignorePath = "metadata.annotations[\"\(ignoreKey)\"]"

  /// The ids an annotation lists, trimmed, empty entries dropped.
  static func ids(_ annotation: String) -> [String] {
    annotation.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
      !$0.isEmpty
    }
  }

  /// Drops the findings their object asks to ignore; returns the rest and
  /// how many were dropped.
  static func apply(_ findings: [Finding], index: SourceIndex) -> (kept: [Finding], suppressed: Int) {
    var kept: [Finding] = []
    for finding in findings {
      guard index.mentions(finding.location.file, ignoreKey) else {
        kept.append(finding)
        continue
      }
      let object = index.object(in: finding.location.file, containing: finding.location.span.start)
      if let text = object?.annotations[ignoreKey], ids(text).contains(finding.ruleID) { continue }
      kept.append(finding)
    }
    return (kept, findings.count - kept.count)
  }
}

/// A rule id in `policyc.io/ignore` that no rule has: a typo that silences nothing.
struct UnknownSuppression: LintRule {
  let description = RuleDescription(
    id: "unknown-suppression", title: "unknown rule id in policyc.io/ignore",
    rationale: """
      `policyc.io/ignore` lists rule ids (`policyc rules` shows them). An id no rule has silences \
      nothing, so the finding it was meant to silence still shows, or a later rename went unnoticed.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: web
        annotations:
          policyc.io/ignore: ↓"redundant-rule,redundant-rules"
          policyc.io/ignore-reason: kept for the migration
      spec: {podSelector: {}}
      """
    ],
    nonTriggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: web
        annotations:
          policyc.io/ignore: "redundant-rule, egress-blocks-dns"
          policyc.io/ignore-reason: kept for the migration
      spec: {podSelector: {}}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    let known = Set(LintRules.all.map(\.description.id))
    var out: [Finding] = []
    for object in context.index.objects(annotatedWith: Suppression.ignoreKey) {
      guard let text = object.annotations[Suppression.ignoreKey] else { continue }
      let unknown = Suppression.ids(text).filter { !known.contains($0) }
      guard !unknown.isEmpty else { continue }
      let node = context.index.node(object, path: Suppression.ignorePath).value
      let list = unknown.map { "\"\($0)\"" }.joined(separator: ", ")
      out.append(
        Finding(
          ruleID: description.id, severity: description.severity,
          message:
            "unknown rule id\(unknown.count > 1 ? "s" : "") \(list) in \(Suppression.ignoreKey)",
          location: SourceLocation(file: object.file, span: node.span),
          fieldPath: Suppression.ignorePath,
          object: object.ref))
    }
    return out
  }
}

/// `policyc.io/ignore` without `policyc.io/ignore-reason`.
struct SuppressionWithoutReason: LintRule {
  let description = RuleDescription(
    id: "suppression-without-reason", title: "policyc.io/ignore without a reason",
    rationale: """
      A silenced finding should say why, for the next reviewer: add \
      `policyc.io/ignore-reason: "<why>"` beside `policyc.io/ignore`. The rules are silenced anyway.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: web
        annotations:
          ↓policyc.io/ignore: redundant-rule
      spec: {podSelector: {}}
      """
    ],
    nonTriggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: web
        annotations:
          policyc.io/ignore: redundant-rule
          policyc.io/ignore-reason: the second rule documents the port range
      spec: {podSelector: {}}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    context.index.objects(annotatedWith: Suppression.ignoreKey).compactMap { object in
      guard object.annotations[Suppression.ignoreKey] != nil,
        (object.annotations[Suppression.reasonKey] ?? "").trimmingCharacters(in: .whitespaces)
          .isEmpty
      else { return nil }
      let found = context.index.node(object, path: Suppression.ignorePath)
      return Finding(
        ruleID: description.id, severity: description.severity,
        message: "\(Suppression.ignoreKey) has no \(Suppression.reasonKey) annotation saying why",
        location: SourceLocation(file: object.file, span: (found.key ?? found.value).span),
        fieldPath: Suppression.ignorePath, object: object.ref)
    }
  }
}
