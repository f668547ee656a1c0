import PolicyModel
import XCTest

/// apimachinery label selector semantics.
final class SelectorTests: XCTestCase {
  func expr(_ key: String, _ op: SelectorOperator, _ values: [String] = []) -> SelectorRequirement {
    SelectorRequirement(key: key, op: op, values: values)
  }

  func testMatchingTable() {
    let web = ["app": "web", "tier": "front"]
    let bare: [String: String] = [:]
    let emptyValue = ["app": ""]
    let table: [(String, LabelSelector, [String: String], Bool)] = [
      ("empty selector, labelled pod", .everything, web, true),
      ("empty selector, pod without labels", .everything, bare, true),
      ("matchLabels equal", LabelSelector(matchLabels: ["app": "web"]), web, true),
      (
        "matchLabels all pairs", LabelSelector(matchLabels: ["app": "web", "tier": "back"]), web,
        false
      ),
      ("matchLabels other value", LabelSelector(matchLabels: ["app": "db"]), web, false),
      ("matchLabels key absent", LabelSelector(matchLabels: ["app": "web"]), bare, false),
      ("matchLabels k: \"\" with k absent", LabelSelector(matchLabels: ["app": ""]), bare, false),
      (
        "matchLabels k: \"\" with k empty", LabelSelector(matchLabels: ["app": ""]), emptyValue,
        true
      ),
      ("matchLabels k: \"\" with k set", LabelSelector(matchLabels: ["app": ""]), web, false),
      (
        "In, value listed", LabelSelector(expressions: [expr("app", .in, ["db", "web"])]), web, true
      ),
      ("In, value not listed", LabelSelector(expressions: [expr("app", .in, ["db"])]), web, false),
      ("In, key absent", LabelSelector(expressions: [expr("app", .in, ["web"])]), bare, false),
      (
        "In \"\", empty value", LabelSelector(expressions: [expr("app", .in, [""])]), emptyValue,
        true
      ),
      (
        "NotIn, value listed", LabelSelector(expressions: [expr("app", .notIn, ["web"])]), web,
        false
      ),
      (
        "NotIn, value not listed", LabelSelector(expressions: [expr("app", .notIn, ["db"])]), web,
        true
      ),
      ("NotIn, key absent", LabelSelector(expressions: [expr("app", .notIn, ["web"])]), bare, true),
      ("Exists, present", LabelSelector(expressions: [expr("app", .exists)]), web, true),
      (
        "Exists, present but empty", LabelSelector(expressions: [expr("app", .exists)]), emptyValue,
        true
      ),
      ("Exists, absent", LabelSelector(expressions: [expr("app", .exists)]), bare, false),
      (
        "DoesNotExist, absent", LabelSelector(expressions: [expr("app", .doesNotExist)]), bare, true
      ),
      (
        "DoesNotExist, present but empty", LabelSelector(expressions: [expr("app", .doesNotExist)]),
        emptyValue, false
      ),
      (
        "labels AND expressions",
        LabelSelector(matchLabels: ["tier": "front"], expressions: [expr("app", .in, ["web"])]),
        web, true
      ),
      (
        "labels hold, expression fails",
        LabelSelector(matchLabels: ["tier": "front"], expressions: [expr("app", .notIn, ["web"])]),
        web, false
      ),
      (
        "expression holds, labels fail",
        LabelSelector(matchLabels: ["tier": "back"], expressions: [expr("app", .exists)]), web,
        false
      ),
      (
        "two expressions on one key",
        LabelSelector(expressions: [expr("app", .in, ["web", "db"]), expr("app", .notIn, ["db"])]),
        web, true
      ),
      (
        "contradiction",
        LabelSelector(expressions: [expr("app", .exists), expr("app", .doesNotExist)]), web, false
      ),
    ]
    for (label, selector, labels, expected) in table {
      XCTAssertEqual(selector.matches(labels), expected, label)
    }
  }

  func testDecodedSelectorsTargetTheRightPods() throws {
    let pods = [
      Manifest.pod("a", "web", labels: ["app": "web"], ip: "10.0.0.1"),
      Manifest.pod("a", "db", labels: ["app": "db", "tier": "back"], ip: "10.0.0.2"),
      Manifest.pod("a", "bare", ip: "10.0.0.3"),
      Manifest.pod("a", "empty", labels: ["app": ""], ip: "10.0.0.4"),
      Manifest.pod("b", "web", labels: ["app": "web"], ip: "10.0.1.1"),
    ]
    let table: [(String, String, [String])] = [
      ("omitted selector", "policyTypes: [Ingress]", ["bare", "db", "empty", "web"]),
      ("empty selector", "podSelector: {}", ["bare", "db", "empty", "web"]),
      ("null selector", "podSelector: null", ["bare", "db", "empty", "web"]),
      ("matchLabels", "podSelector: {matchLabels: {app: web}}", ["web"]),
      ("matchLabels empty value", "podSelector: {matchLabels: {app: \"\"}}", ["empty"]),
      (
        "NotIn matches pods without the key",
        "podSelector:\n  matchExpressions: [{key: app, operator: NotIn, values: [web]}]",
        ["bare", "db", "empty"]
      ),
      (
        "DoesNotExist", "podSelector:\n  matchExpressions: [{key: tier, operator: DoesNotExist}]",
        ["bare", "empty", "web"]
      ),
      (
        "Exists", "podSelector:\n  matchExpressions: [{key: app, operator: Exists}]",
        ["db", "empty", "web"]
      ),
      (
        "labels AND expressions",
        "podSelector:\n  matchLabels: {app: db}\n  matchExpressions: [{key: tier, operator: In, values: [back]}]",
        ["db"]
      ),
    ]
    for (label, spec, names) in table {
      let cluster = Load.cluster(pods + [Manifest.policy("a", "p", spec)])
      let policy = try XCTUnwrap(cluster.policies.first, label)
      XCTAssertEqual(
        cluster.targets(of: policy).map { cluster.pods[$0].meta.name }.sorted(), names, label)
      XCTAssertTrue(
        cluster.targets(of: policy).allSatisfy { cluster.pods[$0].meta.namespace == "a" },
        "\(label): own namespace only")
    }
  }

  func testCanonicalTextIgnoresOrder() {
    let a = LabelSelector(
      matchLabels: ["b": "2", "a": "1"],
      expressions: [expr("x", .in, ["q", "p"]), expr("w", .exists)])
    let b = LabelSelector(
      matchLabels: ["a": "1", "b": "2"],
      expressions: [expr("w", .exists), expr("x", .in, ["p", "q"])])
    XCTAssertEqual(a.canonicalText, b.canonicalText)
    XCTAssertNotEqual(a.canonicalText, LabelSelector(matchLabels: ["a": "1"]).canonicalText)
  }
}
