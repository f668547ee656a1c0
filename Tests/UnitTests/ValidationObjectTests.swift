import PolicyModel
import XCTest

/// ValidateLabelSelector, label and name rules, policyTypes, strict decoding,
/// and that one load reports every error of every file.
final class ValidationObjectTests: XCTestCase {
  func podSelector(_ body: String) -> String {
    policy("podSelector:\n" + body.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
  }

  func expression(_ body: String) -> String {
    podSelector("matchExpressions:\n- " + body.replacingOccurrences(of: "\n", with: "\n  "))
  }

  let expr = "spec.podSelector.matchExpressions[0]"

  func testSelectorRequirements() {
    assertRejected([
      Rejection(
        label: "unknown operator",
        document: expression("key: app\noperator: ↓Equals\nvalues: [web]"),
        rule: RuleID.invalidSelector, message: "\"Equals\" is not a valid selector operator",
        path: "\(expr).operator"),
      Rejection(
        label: "In without values", document: expression("key: app\noperator: ↓In"),
        rule: RuleID.invalidSelector,
        message: "values must be non-empty when operator is In", path: "\(expr).values"),
      Rejection(
        label: "NotIn with empty values",
        document: expression("key: app\noperator: NotIn\nvalues: ↓[]"),
        rule: RuleID.invalidSelector, message: "values must be non-empty when operator is NotIn",
        path: "\(expr).values"),
      Rejection(
        label: "Exists with values",
        document: expression("key: app\noperator: Exists\nvalues: ↓[web]"),
        rule: RuleID.invalidSelector, message: "values must be empty when operator is Exists",
        path: "\(expr).values"),
      Rejection(
        label: "DoesNotExist with values",
        document: expression("key: app\noperator: DoesNotExist\nvalues: ↓[web]"),
        rule: RuleID.invalidSelector, message: "values must be empty when operator is DoesNotExist",
        path: "\(expr).values"),
      Rejection(
        label: "invalid key", document: expression("key: ↓-app\noperator: Exists"),
        rule: RuleID.invalidLabel,
        message: "invalid label key \"-app\"", path: "\(expr).key"),
      Rejection(
        label: "invalid value", document: expression("key: app\noperator: In\nvalues: [↓\"a b\"]"),
        rule: RuleID.invalidLabel,
        message: "invalid label value \"a b\"", path: "\(expr).values[0]"),
      Rejection(
        label: "unquoted yes in values",
        document: expression("key: tls\noperator: In\nvalues: [\"no\", ↓yes]"),
        rule: RuleID.invalidLabel, message: "selector value must be a string, found boolean",
        path: "\(expr).values[1]"),
    ])
  }

  func testLabels() {
    let long = String(repeating: "a", count: 64)
    assertRejected([
      Rejection(
        label: "key with leading dash", document: podSelector("matchLabels:\n  ↓-app: web"),
        rule: RuleID.invalidLabel,
        message: "invalid label key \"-app\"", path: "spec.podSelector.matchLabels.-app"),
      Rejection(
        label: "key with uppercase prefix",
        document: podSelector("matchLabels:\n  ↓Example.com/app: web"),
        rule: RuleID.invalidLabel, message: "invalid label key \"Example.com/app\": prefix part",
        path: "spec.podSelector.matchLabels[\"Example.com/app\"]"),
      Rejection(
        label: "key with two slashes", document: podSelector("matchLabels:\n  ↓a/b/c: web"),
        rule: RuleID.invalidLabel,
        message: "invalid label key \"a/b/c\"", path: "spec.podSelector.matchLabels[\"a/b/c\"]"),
      Rejection(
        label: "value with a space", document: podSelector("matchLabels:\n  app: ↓\"a b\""),
        rule: RuleID.invalidLabel,
        message: "invalid label value \"a b\"", path: "spec.podSelector.matchLabels.app"),
      Rejection(
        label: "value of 64 characters", document: podSelector("matchLabels:\n  app: ↓\(long)"),
        rule: RuleID.invalidLabel,
        message: "must be no more than 63 characters", path: "spec.podSelector.matchLabels.app"),
      Rejection(
        label: "unquoted yes in matchLabels", document: podSelector("matchLabels:\n  tls: ↓yes"),
        rule: RuleID.invalidLabel,
        message: "value of \"tls\" must be a string, found boolean (quote it: \"yes\")",
        path: "spec.podSelector.matchLabels.tls"),
      Rejection(
        label: "unquoted yes on a pod",
        document: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    tls: ↓yes\n",
        rule: RuleID.invalidLabel, message: "must be a string, found boolean",
        path: "metadata.labels.tls"),
      Rejection(
        label: "unquoted number on a namespace",
        document: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    v: ↓1\n",
        rule: RuleID.invalidLabel, message: "must be a string, found integer",
        path: "metadata.labels.v"),
    ])
  }

  func testPolicyTypesNamesAndUnknownFields() {
    assertRejected([
      Rejection(
        label: "policy type Both", document: policy("podSelector: {}\npolicyTypes: [↓Both]"),
        rule: RuleID.invalidPolicyType,
        message: "unsupported policy type \"Both\": must be Ingress or Egress",
        path: "spec.policyTypes[0]"),
      Rejection(
        label: "lowercase policy type",
        document: policy("podSelector: {}\npolicyTypes: [Ingress, ↓egress]"),
        rule: RuleID.invalidPolicyType, message: "unsupported policy type \"egress\"",
        path: "spec.policyTypes[1]"),
      Rejection(
        label: "three policy types",
        document: policy("podSelector: {}\npolicyTypes: ↓[Ingress, Egress, Ingress]"),
        rule: RuleID.invalidPolicyType, message: "too many policy types: 3",
        path: "spec.policyTypes"),
      Rejection(
        label: "invalid policy name", document: Manifest.policy("a", "↓Web_1", "podSelector: {}"),
        rule: RuleID.invalidName,
        message: "invalid name \"Web_1\"", path: "metadata.name"),
      Rejection(
        label: "invalid namespace", document: Manifest.policy("↓team.a", "p", "podSelector: {}"),
        rule: RuleID.invalidName,
        message: "invalid namespace \"team.a\"", path: "metadata.namespace"),
      Rejection(
        label: "unknown field in spec", document: policy("podSelector: {}\n↓ingres: []"),
        rule: RuleID.unknownField,
        message: "unknown field \"ingres\"", path: "spec.ingres"),
      Rejection(
        label: "unknown top-level field", document: policy("podSelector: {}") + "↓specs: {}\n",
        rule: RuleID.unknownField,
        message: "unknown field \"specs\"", path: "specs"),
      Rejection(
        label: "unknown field in a port",
        document: policy("podSelector: {}\ningress:\n- ports:\n  - ↓prot: TCP"),
        rule: RuleID.unknownField, message: "unknown field \"prot\"",
        path: "spec.ingress[0].ports[0].prot"),
      Rejection(
        label: "unknown field in a rule", document: policy("podSelector: {}\negress:\n- ↓from: []"),
        rule: RuleID.unknownField,
        message: "unknown field \"from\"", path: "spec.egress[0].from"),
      Rejection(
        label: "ingress not a list", document: policy("podSelector: {}\ningress: ↓yes"),
        rule: RuleID.invalidType,
        message: "expected a list, found boolean", path: "spec.ingress"),
    ])
  }

  /// The API server refuses the whole object, whatever part is wrong, so
  /// nothing downstream (lint, diff, matrix) may see it.
  func testPolicyWithInvalidMetadataIsDropped() {
    let cases = [
      ("invalid name", Manifest.policy("a", "Web_1", "podSelector: {}")),
      ("invalid namespace", Manifest.policy("team.a", "p", "podSelector: {}")),
      ("unknown top-level field", policy("podSelector: {}") + "specs: {}\n"),
      (
        "unknown metadata field",
        policy("podSelector: {}").replacingOccurrences(
          of: "  name: p\n", with: "  name: p\n  nme: q\n")
      ),
    ]
    for (label, document) in cases {
      let inventory = Load.inventory([document])
      XCTAssertEqual(inventory.errors.count, 1, label)
      XCTAssertEqual(
        inventory.policies.map(\.meta.name), [], "\(label): a rejected policy must not be used")
    }
  }

  func testValidSelectorsAreAccepted() {
    assertAccepted([
      ("In with values", expression("key: app\noperator: In\nvalues: [web, \"\"]")),
      ("Exists without values", expression("key: app\noperator: Exists")),
      (
        "DoesNotExist with empty values", expression("key: app\noperator: DoesNotExist\nvalues: []")
      ),
      ("prefixed key", podSelector("matchLabels:\n  example.com/app: web")),
      ("empty value", podSelector("matchLabels:\n  app: \"\"")),
      (
        "63-character value",
        podSelector("matchLabels:\n  app: \(String(repeating: "a", count: 63))")
      ),
      ("quoted yes", podSelector("matchLabels:\n  tls: \"yes\"")),
      ("both policy types", policy("podSelector: {}\npolicyTypes: [Ingress, Egress]")),
      ("dotted policy name", Manifest.policy("a", "allow.web-1", "podSelector: {}")),
    ])
  }

  func testOneLoadReportsEveryErrorOfEveryFileInOrder() {
    let a = Manifest.stream([
      Manifest.policy("a", "zero", "podSelector: {}\ningress:\n- ports:\n  - port: 0"),
      Manifest.policy("a", "fine", "podSelector: {}"),
    ])
    let b = Manifest.stream([
      Manifest.policy(
        "b", "cidr", "podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/33}"),
      Manifest.policy(
        "b", "op",
        "podSelector:\n  matchExpressions:\n  - {key: app, operator: Equals, values: [x]}"),
    ])
    // Given in reverse order: diagnostics come out sorted by file, then position.
    let inventory = Load.inventory([("b.yaml", b), ("a.yaml", a)])
    XCTAssertEqual(
      inventory.errors.map { "\($0.location.file):\($0.location.line) \($0.ruleID)" },
      ["a.yaml:11 invalid-port", "b.yaml:11 invalid-cidr", "b.yaml:21 invalid-selector"])
    XCTAssertEqual(inventory.policies.map(\.meta.name), ["fine"], "only the valid policy is kept")
    XCTAssertTrue(inventory.errors.allSatisfy { $0.object?.kind == "NetworkPolicy" })
  }

  func testObjectDefinedTwiceIsReportedAtTheSecondDefinition() {
    let inventory = Load.inventory([
      ("b.yaml", Manifest.policy("a", "p", "podSelector: {}")),
      (
        "a.yaml",
        Manifest.stream([
          Manifest.pod("a", "x", ip: "10.0.0.1"), Manifest.policy("a", "p", "podSelector: {}"),
        ])
      ),
    ])
    XCTAssertEqual(
      inventory.errors.map(\.formatted),
      [
        "b.yaml:1:1: error: networkpolicy a/p is defined twice (first at a.yaml:15:1) [duplicate-object]"
      ])
    XCTAssertEqual(inventory.policies.count, 1)
  }

  func testFormattedDiagnosticReadsLikeACompilerMessage() throws {
    let inventory = Load.inventory([
      ("x.yaml", policy("podSelector: {}\ningress:\n- ports:\n  - port: 0"))
    ])
    let error = try XCTUnwrap(inventory.errors.first)
    XCTAssertEqual(
      error.formatted,
      "x.yaml:10:13: error: spec.ingress[0].ports[0].port: 0 is out of range 1-65535 [invalid-port]"
    )
  }
}
