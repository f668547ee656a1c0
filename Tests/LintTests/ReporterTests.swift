import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest
import YAMLBridge

/// The pieces of the reporters and the configuration, table-driven.
final class ReporterTests: XCTestCase {
  func testGitHubEscapingFollowsTheActionsToolkit() {
    XCTAssertEqual(GitHubReporter.escapeData("50% off\r\nnext: a,b"), "50%25 off%0D%0Anext: a,b")
    XCTAssertEqual(
      GitHubReporter.escapeProperty("50% off\r\nnext: a,b"), "50%25 off%0D%0Anext%3A a%2Cb")
  }

  func testGitHubAnnotationShape() {
    let finding = Finding(
      ruleID: "invalid-port", severity: .error, message: "bad port \"80\", really: 100%",
      location: SourceLocation(
        file: "a,b:c.yaml",
        span: SourceSpan(start: Mark(line: 3, column: 5), end: Mark(line: 3, column: 9))),
      fieldPath: "spec.ingress[0].ports[0].port")
    let result = LintResult(
      findings: [
        finding, Finding(ruleID: "x", severity: .note, message: "n", location: finding.location),
      ],
      summary: LintSummary(files: 1, objects: 1, errors: 1, warnings: 0, notes: 1, suppressed: 0),
      rules: LintRules.descriptions.map { ConfiguredRule(description: $0, severity: $0.severity) })
    XCTAssertEqual(
      GitHubReporter.render(result),
      "::error file=a%2Cb%3Ac.yaml,line=3,col=5,endLine=3,endColumn=9,title=invalid port%2C port name or endPort [invalid-port]::spec.ingress[0].ports[0].port: bad port \"80\", really: 100%25\n"
        + "::notice file=a%2Cb%3Ac.yaml,line=3,col=5,endLine=3,endColumn=9,title=[x]::n\n")
  }

  func testPathsAreMadeRelativeAndNormalised() {
    let cases: [(String, String?, String)] = [
      ("input/a.yaml", "/repo", "input/a.yaml"),
      ("./input/../b.yaml", "/repo", "b.yaml"),
      ("/repo/deploy/a.yaml", "/repo", "deploy/a.yaml"),
      ("/repo/deploy/a.yaml", "/repo/", "deploy/a.yaml"),
      ("/other/a.yaml", "/repo/sub", "../../other/a.yaml"),
      ("../x/a.yaml", "/repo", "../x/a.yaml"),
      ("/a.yaml", nil, "a.yaml"),
    ]
    for (path, base, expected) in cases {
      XCTAssertEqual(
        ReportPaths.relative(path, to: base), expected, "\(path) from \(base ?? "nil")")
    }
    XCTAssertEqual(ReportPaths.uri("<stdin>"), "%3Cstdin%3E")
    XCTAssertEqual(ReportPaths.uri("dir with space/ä:b.yaml"), "dir%20with%20space/%C3%A4%3Ab.yaml")
  }

  /// Moving a finding to another line keeps its fingerprint; another field does not.
  func testFingerprintsIgnoreLines() {
    func finding(line: Int, path: String = "spec.ingress[1]") -> Finding {
      Finding(
        ruleID: "redundant-rule", severity: .warning, message: "m",
        location: SourceLocation(file: "/repo/p.yaml", mark: Mark(line: line, column: 5)),
        fieldPath: path, object: ObjectRef(kind: "NetworkPolicy", namespace: "shop", name: "web"))
    }
    let a = Fingerprints.compute([finding(line: 10)], base: "/repo")
    XCTAssertEqual(a, Fingerprints.compute([finding(line: 42)], base: "/repo"))
    XCTAssertEqual(
      a,
      Fingerprints.compute(
        [
          Finding(
            ruleID: "redundant-rule", severity: .warning, message: "m",
            location: SourceLocation(file: "p.yaml", mark: Mark(line: 1, column: 1)),
            fieldPath: "spec.ingress[1]",
            object: ObjectRef(kind: "NetworkPolicy", namespace: "shop", name: "web"))
        ], base: "/repo"), "relative or absolute, same file")
    XCTAssertNotEqual(
      a, Fingerprints.compute([finding(line: 10, path: "spec.ingress[2]")], base: "/repo"))
    let twice = Fingerprints.compute([finding(line: 1), finding(line: 2)], base: "/repo")
    XCTAssertEqual(twice.map { $0.split(separator: ":").last! }, ["1", "2"])
    XCTAssertEqual(twice[0].split(separator: ":").first, twice[1].split(separator: ":").first)
  }

  func testJSONKeysAreSortedAndEscaped() {
    let value = JSONValue.object([
      "b": .int(1), "a": .array([]), "$schema": .string("q\"\n"), "c": .object([:]), "d": .null,
    ])
    XCTAssertEqual(
      value.pretty,
      "{\n  \"$schema\": \"q\\\"\\n\",\n  \"a\": [],\n  \"b\": 1,\n  \"c\": {},\n  \"d\": null\n}\n"
    )
  }

  func testConfigReadsOffSeveritiesAndNothing() throws {
    let config = try LintConfig.parse(
      Array("rules:\n  redundant-rule: off\n  cidr-host-bits: 'error'\n  no-objects: note\n".utf8),
      path: "c.yaml")
    let redundant = try XCTUnwrap(LintRules.rule("redundant-rule")).description
    XCTAssertNil(config.severity(of: redundant))
    XCTAssertEqual(
      config.severity(of: try XCTUnwrap(LintRules.rule("cidr-host-bits")).description), .error)
    XCTAssertEqual(
      config.severity(of: try XCTUnwrap(LintRules.rule("no-objects")).description), .note)
    XCTAssertEqual(
      config.severity(of: try XCTUnwrap(LintRules.rule("yaml-syntax")).description), .error)
    XCTAssertEqual(try LintConfig.parse([], path: "c.yaml"), LintConfig())
    XCTAssertEqual(try LintConfig.parse(Array("rules:\n".utf8), path: "c.yaml"), LintConfig())
  }

  func testConfigErrorsAreLocated() {
    let cases: [(String, String)] = [
      (
        "rules:\n  nope: off\n",
        "c.yaml:2:3: error: unknown rule id \"nope\" (`policyc rules` lists them)"
      ),
      (
        "rules:\n  redundant-rule: true\n",
        "c.yaml:2:19: error: invalid setting \"true\" for redundant-rule: expected off, note, warning or error"
      ),
      (
        "rules: [redundant-rule]\n",
        "c.yaml:1:8: error: \"rules\" must map rule ids to off, note, warning or error"
      ),
      ("- rules\n", "c.yaml:1:1: error: expected a mapping with a \"rules\" key"),
      ("rules: {}\n---\nrules: {}\n", "c.yaml:2:1: error: expected one YAML document"),
      (
        "rules:\n  redundant-rule: off\n  redundant-rule: error\n",
        "c.yaml:3:3: error: duplicate key 'redundant-rule' (first defined at 2:3)"
      ),
    ]
    for (text, expected) in cases {
      XCTAssertThrowsError(try LintConfig.parse(Array(text.utf8), path: "c.yaml"), text) { error in
        XCTAssertEqual("\(error)", expected)
      }
    }
  }

  /// A switched-off rule produces nothing, and shows as disabled in SARIF.
  func testDisabledRulesAreSilentAndMarkedInSARIF() throws {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web\n"
    let source = [InputSource(path: "p.yaml", bytes: Array(text.utf8))]
    XCTAssertEqual(LintEngine.run(source).findings.map(\.ruleID), ["invalid-name"])
    let off = LintEngine.run(
      source, options: LintOptions(config: LintConfig(overrides: ["invalid-name": Severity?.none])))
    XCTAssertTrue(off.findings.isEmpty)
    XCTAssertFalse(off.fails(.warning))
    let sarif = SARIFReporter.render(off)
    XCTAssertTrue(sarif.contains("\"enabled\": false"), sarif)
  }

  func testRuleListShowsEveryRule() {
    let text = RuleListReporter.text(LintRules.descriptions)
    XCTAssertEqual(text.split(separator: "\n").count, LintRules.all.count)
    let ids = LintRules.descriptions.map(\.id)
    XCTAssertEqual(ids, ids.sorted())
    XCTAssertEqual(Set(ids).count, ids.count, "rule ids must be unique")
    for id in ids {
      XCTAssertNotNil(id.range(of: "^[a-z0-9]+(-[a-z0-9]+)*$", options: .regularExpression), id)
    }
  }
}
