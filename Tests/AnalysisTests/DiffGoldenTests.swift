import XCTest

/// `policyc diff` end to end: every format, the markdown cap, the rules
/// view, the equivalences that must give an empty diff, workloads instead of
/// pods, and the exit codes of diff(1).
final class DiffGoldenTests: XCTestCase {
  static let old = "inputs/shop-old"
  static let new = "inputs/shop-new"

  // The shop change: allow-web-to-api gains an ipBlock rule, allow-api-to-db
  // is removed, and pod frontend/web-2 appears.

  func testTextShowsChangedAndAddedPairsWithCauses() throws {
    try AnalysisGolden.check("diff-text", ["diff", Self.old, Self.new], status: 1)
  }

  func testTextIsTheDefaultFormat() throws {
    let implicit = try AnalysisGolden.policyc(["diff", Self.old, Self.new])
    let explicit = try AnalysisGolden.policyc(["diff", "--format", "text", Self.old, Self.new])
    XCTAssertEqual(implicit, explicit)
  }

  func testMarkdown() throws {
    try AnalysisGolden.check(
      "diff-markdown", ["diff", "--format", "markdown", Self.old, Self.new], status: 1)
  }

  func testMarkdownCapsTheTableAndCountsTheRest() throws {
    let run = try AnalysisGolden.check(
      "diff-markdown-limit", ["diff", "--format", "markdown", "--limit", "2", Self.old, Self.new],
      status: 1)
    XCTAssertEqual(run.stdout.split(separator: "\n").filter { $0.hasPrefix("| `") }.count, 2)
    XCTAssertTrue(run.stdout.contains("… and 12 more pairs not shown."))
  }

  func testJSON() throws {
    let run = try AnalysisGolden.check(
      "diff-json", ["diff", "--format", "json", Self.old, Self.new], status: 1)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  func testNoChangeWhenBothSidesAreTheSame() throws {
    for format in ["text", "markdown", "json"] {
      let run = try AnalysisGolden.policyc(["diff", "--format", format, Self.new, Self.new])
      XCTAssertEqual(run.status, 0, format)
      XCTAssertEqual(run.stderr, "", format)
      if format == "json" {
        XCTAssertEqual(
          run.stdout,
          #"{"changes":[],"summary":{"added":0,"changed":0,"changedPolicies":[],"endpointsAfter":7,"endpointsBefore":7,"removed":0},"version":1}"#
            + "\n")
      } else {
        XCTAssertTrue(run.stdout.lowercased().contains("no connectivity change"), run.stdout)
      }
    }
  }

  // Rules for one node.

  func testRulesTextForTheNodeThatGainsAPod() throws {
    try AnalysisGolden.check(
      "diff-rules-node-a-text", ["diff", "--rules", "--node", "node-a", Self.old, Self.new],
      status: 1)
  }

  func testRulesTextForTheNodeThatLosesAPolicy() throws {
    try AnalysisGolden.check(
      "diff-rules-node-b-text", ["diff", "--rules", "--node", "node-b", Self.old, Self.new],
      status: 1)
  }

  func testRulesMarkdown() throws {
    try AnalysisGolden.check(
      "diff-rules-node-a-markdown",
      ["diff", "--rules", "--node", "node-a", "--format", "markdown", Self.old, Self.new],
      status: 1)
  }

  func testRulesJSON() throws {
    let run = try AnalysisGolden.check(
      "diff-rules-node-b-json",
      ["diff", "--rules", "--node", "node-b", "--format", "json", Self.old, Self.new], status: 1)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  func testRulesNoChange() throws {
    let run = try AnalysisGolden.policyc([
      "diff", "--rules", "--node", "node-a", Self.new, Self.new,
    ])
    XCTAssertEqual(run, AnalysisGolden.Run(status: 0, stdout: "no rule change\n", stderr: ""))
  }

  // Equivalent policies give an empty diff (issue 5).

  func equivalence(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let arguments = ["diff", "inputs/equivalence/\(name)-old", "inputs/equivalence/\(name)-new"]
    let run = try AnalysisGolden.policyc(arguments)
    XCTAssertEqual(
      run, AnalysisGolden.Run(status: 0, stdout: "no connectivity change\n", stderr: ""), name,
      file: file, line: line)
  }

  func testEquivalentExceptOneSlash8OrTwoSlash9() throws { try equivalence("except") }
  func testEquivalentNamedPortOrItsNumber() throws { try equivalence("named-port") }
  func testEquivalentOneRuleOrTwoRules() throws { try equivalence("split-rule") }
  func testEquivalentReorderedRulesPeersPortsAndKeys() throws { try equivalence("rule-order") }
  func testEquivalentReorderedDocumentsAndFiles() throws { try equivalence("document-order") }

  /// The equivalent inputs really differ in text: each old side compared
  /// with a cluster without policies is a change.
  func testEquivalenceInputsAreNotVacuous() throws {
    for name in ["except", "named-port", "split-rule", "rule-order"] {
      let run = try AnalysisGolden.policyc(
        ["diff", "inputs/equivalence/\(name)-old/cluster.yaml", "inputs/equivalence/\(name)-old"])
      XCTAssertEqual(run.status, 1, name)
    }
  }

  // Workloads instead of pods.

  func testWorkloadsStandInForPods() throws {
    let run = try AnalysisGolden.check(
      "diff-workloads", ["diff", "inputs/workloads-old", "inputs/workloads-new"], status: 1)
    XCTAssertTrue(
      run.stdout.contains("backend/Deployment/api -> backend/StatefulSet/db: none => TCP 5432"))
  }

  // Exit 2: trouble, with located errors.

  func testInvalidInputIsLocated() throws {
    let run = try AnalysisGolden.check(
      "diff-invalid", ["diff", Self.old, "inputs/invalid-new"], status: 2)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(
      run.stderr.hasPrefix("inputs/invalid-new/policies.yaml:13:15: error: "), run.stderr)
  }

  func testInvalidOldSideIsTroubleToo() throws {
    let run = try AnalysisGolden.policyc(["diff", "inputs/invalid-new", Self.old])
    XCTAssertEqual(run.status, 2)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(
      run.stderr.contains("inputs/invalid-new/policies.yaml:13:15: error: "), run.stderr)
  }

  func testUnreadablePath() throws {
    let run = try AnalysisGolden.check(
      "diff-unreadable", ["diff", Self.old, "inputs/no-such-directory"], status: 2)
    XCTAssertEqual(run.stdout, "")
  }

  func testUsageErrorsExit2() throws {
    let cases: [([String], String)] = [
      (["diff", Self.old], "give OLD and NEW"),
      (["diff", Self.old, Self.new, Self.new], "give OLD and NEW"),
      (
        ["diff", "--format", "yaml", Self.old, Self.new], "--format must be text, markdown or json"
      ),
      (["diff", "--format", "csv", Self.old, Self.new], "--format must be text, markdown or json"),
    ]
    for (arguments, message) in cases {
      let run = try AnalysisGolden.policyc(arguments)
      XCTAssertEqual(run.status, 2, arguments.joined(separator: " "))
      XCTAssertEqual(run.stdout, "")
      XCTAssertTrue(run.stderr.contains(message), run.stderr)
    }
  }

  /// A negative --limit is bad user input: exit 2 with a message, never a
  /// crash (today: "Fatal error: Can't take a prefix of negative length",
  /// SIGILL).
  func testNegativeLimitIsAUsageError() throws {
    let run = try AnalysisGolden.policyc([
      "diff", "--format", "markdown", "--limit=-1", Self.old, Self.new,
    ])
    XCTAssertEqual(run.status, 2, "crashed?\n\(run.stderr.prefix(300))")
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(run.stderr.contains("--limit"), String(run.stderr.prefix(300)))
  }
}
