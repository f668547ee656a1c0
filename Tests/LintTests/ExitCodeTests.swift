import Foundation
import XCTest

/// End to end: the built binary's exit code, stdout and stderr for every
/// case the command promises (0 clean or below --fail-on, 1 findings at or
/// above it, 2 usage error, unreadable path or unusable config).
final class ExitCodeTests: XCTestCase {
  let cases = LintGolden.root.appendingPathComponent("cases")

  func lint(_ arguments: [String], in directory: String? = nil, stdin: String? = nil) throws
    -> PolicycBinary.Run
  {
    try PolicycBinary.policyc(
      ["lint"] + arguments, in: directory.map { cases.appendingPathComponent($0) }, stdin: stdin)
  }

  func testCleanInputExitsZeroWithOnlyTheSummary() throws {
    let run = try lint(["input"], in: "clean")
    XCTAssertEqual(run.status, 0)
    XCTAssertEqual(run.stdout, "")
    XCTAssertEqual(run.stderr, "policyc: 0 errors, 0 warnings in 1 file, 4 objects\n")
  }

  func testWarningsBelowTheDefaultThresholdExitZero() throws {
    let run = try lint(["input"], in: "warnings-only")
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.contains(": warning: "), run.stdout)
  }

  func testWarningsFailWithFailOnWarning() throws {
    XCTAssertEqual(try lint(["--fail-on", "warning", "input"], in: "warnings-only").status, 1)
    XCTAssertEqual(try lint(["--fail-on", "warning", "input"], in: "clean").status, 0)
  }

  func testErrorsExitOne() throws {
    let run = try lint(["input"], in: "api-rejections")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stdout.contains(
        "input/policies.yaml:4:9: error: metadata.name: invalid name \"Bad_Name\""), run.stdout)
  }

  func testFailOnNeverExitsZeroEvenWithErrors() throws {
    let run = try lint(["--fail-on", "never", "input"], in: "api-rejections")
    XCTAssertEqual(run.status, 0)
    XCTAssertFalse(run.stdout.isEmpty)
  }

  func testYAMLSyntaxErrorIsAFindingNotACrash() throws {
    let run = try lint(["input"], in: "yaml-syntax-after-valid-document")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(run.stdout.contains("input/tabs.yaml:4:1: error: "), run.stdout)
    XCTAssertTrue(run.stdout.hasSuffix("[yaml-syntax]\n"), run.stdout)
  }

  func testUnreadablePathExitsTwo() throws {
    let run = try lint(["input", "no-such-file.yaml"], in: "clean")
    XCTAssertEqual(run.status, 2)
    XCTAssertEqual(run.stdout, "")
    XCTAssertEqual(run.stderr, "no-such-file.yaml: error: no such file or directory\n")
  }

  func testUsageErrorsExitTwo() throws {
    for arguments in [
      ["--format", "xml", "input"], ["--fail-on", "note", "input"], [],
      ["--namespace", "Bad_NS", "input"], ["--bogus", "input"],
    ] {
      let run = try lint(arguments, in: "clean")
      XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
      XCTAssertEqual(run.stdout, "", "\(arguments)")
      XCTAssertFalse(run.stderr.isEmpty, "\(arguments)")
    }
  }

  func testUnusableConfigExitsTwo() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "policyc-lint-config-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let input = cases.appendingPathComponent("clean/input").path
    let configs = [
      (
        "unknown-rule.yaml", "rules:\n  redundant-rules: off\n",
        "unknown-rule.yaml:2:3: error: unknown rule id \"redundant-rules\""
      ),
      (
        "bad-value.yaml", "rules:\n  redundant-rule: loud\n",
        "bad-value.yaml:2:19: error: invalid setting \"loud\" for redundant-rule"
      ),
      (
        "bad-key.yaml", "rule:\n  redundant-rule: off\n",
        "bad-key.yaml:1:1: error: unknown key \"rule\""
      ),
      ("bad-yaml.yaml", "rules: {redundant-rule: off\n", "bad-yaml.yaml:2:1: error: "),
    ]
    for (name, text, expected) in configs {
      try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
      let run = try PolicycBinary.policyc(["lint", "--config", name, input], in: directory)
      XCTAssertEqual(run.status, 2, name)
      XCTAssertTrue(run.stderr.hasPrefix(expected), "\(name): \(run.stderr)")
    }
    let missing = try PolicycBinary.policyc(
      ["lint", "--config", "absent.yaml", input], in: directory)
    XCTAssertEqual(missing.status, 2)
    XCTAssertEqual(missing.stderr, "absent.yaml: error: --config: cannot read file (No such file or directory)\n")
  }

  func testConfigChangesSeveritiesAndExitCode() throws {
    let plain = try lint(["input"], in: "config")
    XCTAssertEqual(plain.status, 0, "ipblock-matches-pods is a warning by default")
    let configured = try lint(["--config", "config.yaml", "input"], in: "config")
    XCTAssertEqual(configured.status, 1)
    XCTAssertTrue(
      configured.stdout.contains(": error: spec.ingress[0].from[0].ipBlock.cidr: ipBlock"),
      configured.stdout)
    XCTAssertFalse(configured.stdout.contains("[redundant-rule]"), configured.stdout)
  }

  func testStandardInputUsesTheStdinFilename() throws {
    let text = try String(
      contentsOf: cases.appendingPathComponent("warnings-only/input/policy.yaml"), encoding: .utf8)
    let named = try lint(["--stdin-filename", "deploy/policy.yaml", "-"], stdin: text)
    XCTAssertEqual(named.status, 0)
    XCTAssertTrue(named.stdout.hasPrefix("deploy/policy.yaml:13:15: warning: "), named.stdout)
    let unnamed = try lint(["-"], stdin: "kind: [\n")
    XCTAssertEqual(unnamed.status, 1)
    XCTAssertTrue(unnamed.stdout.hasPrefix("<stdin>:2:1: error: "), unnamed.stdout)
  }

  /// Standard input arrives in pipe-sized reads; a stream far larger than
  /// one read must compile to the rules the same bytes give from a file.
  func testLargeStandardInputReadsLikeAFile() throws {
    var text = ""
    for i in 0..<3000 {
      text +=
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p\(i), namespace: ns, labels: {app: a\(i % 7)}}\n"
        + "spec: {nodeName: n1, containers: [{name: c}]}\nstatus: {podIP: 10.2.\(i / 250).\(i % 250 + 1)}\n"
    }
    text += "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: ns}\n"
    text +=
      "spec: {podSelector: {matchLabels: {app: a1}}, ingress: [{from: [{podSelector: {matchLabels: {app: a2}}}]}]}\n"
    XCTAssertGreaterThan(text.utf8.count, 300_000)
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-stdin-\(getpid()).yaml")
    try Data(text.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let fromFile = try PolicycBinary.policyc(["compile", "--node", "n1", file.path])
    let fromStdin = try PolicycBinary.policyc(["compile", "--node", "n1", "-"], stdin: text)
    XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
    XCTAssertEqual(fromStdin.status, 0, fromStdin.stderr)
    XCTAssertTrue(fromFile.stdout.contains("-A POLICYC-"), fromFile.stdout)
    XCTAssertEqual(fromStdin.stdout, fromFile.stdout)
  }

  /// `--family ipv6` writes the ip6tables file the golden case holds;
  /// a family policyc does not know is a usage error.
  func testCompileFamilyFlag() throws {
    let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../Golden/cases/dual-stack-ipv6").standardized
    let run = try PolicycBinary.policyc(
      ["compile", "--node", "node-a", "--family", "ipv6", golden.appendingPathComponent("input.yaml").path])
    XCTAssertEqual(run.status, 0, run.stderr)
    let expected = try String(contentsOf: golden.appendingPathComponent("expected.rules"), encoding: .utf8)
    XCTAssertEqual(run.stdout, expected)
    let bad = try PolicycBinary.policyc(["compile", "--family", "ipv5", golden.path])
    XCTAssertEqual(bad.status, 2)
    XCTAssertTrue(
      bad.stderr.contains(
        "The value 'ipv5' is invalid for '--family <family>'. Please provide one of 'ipv4', 'ipv6' or 'both'."),
      bad.stderr)
    let both = try PolicycBinary.policyc(["compile", "--family", "both", golden.path])
    XCTAssertEqual(both.status, 2)
    XCTAssertTrue(both.stderr.contains("compile writes one file per family"), both.stderr)
  }

  /// explain, matrix and diff take one family of traffic: ipv4 or ipv6,
  /// never `both`; a bad value is a usage error that lists the two.
  func testAnalysisFamilyFlags() throws {
    let input = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../Golden/cases/dual-stack-ipv6/input.yaml").standardized.path
    let explain = ["explain", "--from", "shop/client", "--to", "shop/web", "--port", "8080", input]
    let v6 = try PolicycBinary.policyc(explain + ["--family", "ipv6"])
    XCTAssertEqual(v6.status, 0, v6.stderr)
    XCTAssertTrue(v6.stdout.hasPrefix("shop/client (fd00:10:244:1::b) -> shop/web (fd00:10:244:1::a)"), v6.stdout)
    let v4 = try PolicycBinary.policyc(explain)
    XCTAssertTrue(v4.stdout.hasPrefix("shop/client (10.244.1.11) -> shop/web (10.244.1.10)"), v4.stdout)
    XCTAssertEqual(try PolicycBinary.policyc(["matrix", "--family", "ipv6", input]).status, 0)
    XCTAssertEqual(try PolicycBinary.policyc(["diff", "--rules", "--family", "ipv6", input, input]).status, 0)
    for command in [explain, ["matrix", input], ["diff", "--rules", input, input]] {
      for value in ["ipv5", "both"] {
        let bad = try PolicycBinary.policyc(command + ["--family", value])
        XCTAssertEqual(bad.status, 2, "\(command[0]) --family \(value)")
        XCTAssertTrue(
          bad.stderr.hasPrefix(
            "Error: The value '\(value)' is invalid for '--family <family>'. Please provide one of 'ipv4' and 'ipv6'."),
          bad.stderr)
      }
    }
  }

  func testNoObjectsIsAWarning() throws {
    let run = try lint(["input"], in: "empty-input")
    XCTAssertEqual(run.status, 0)
    XCTAssertEqual(
      run.stdout,
      "input/comments.yml:1:1: warning: no Kubernetes objects in the input [no-objects]\n")
    XCTAssertEqual(try lint(["--fail-on", "warning", "input"], in: "empty-input").status, 1)
    XCTAssertEqual(try lint(["--fail-on", "warning", "-"], stdin: "").status, 1)
  }

  /// The binary's SARIF `tool.driver.version` is what `policyc --version`
  /// prints after the name, `0.2.0 (commit 1a2b3c4d5e6f)`; the goldens hold
  /// the number only, so they do not change with every commit. Checks the
  /// commit is there, then leaves it out.
  static func withoutCommit(
    _ sarif: String, file: StaticString = #filePath, line: UInt = #line
  ) -> String {
    let version = /"version": "([0-9]+\.[0-9]+\.[0-9]+) \(commit ([0-9a-f]{12}(, modified)?|unknown)\)"/
    XCTAssertNotNil(
      sarif.firstMatch(of: version), "no tool.driver.version with the commit", file: file, line: line)
    return sarif.replacing(version) { "\"version\": \"\($0.1)\"" }
  }

  /// The binary prints exactly what the library goldens hold, in every format.
  func testBinaryOutputMatchesTheFormatGoldens() throws {
    let directory = LintGolden.root.appendingPathComponent("formats")
    for (format, file) in [
      ("text", "expected.txt"), ("json", "expected.json"), ("sarif", "expected.sarif"),
      ("github", "expected.github"),
    ] {
      let run = try PolicycBinary.policyc(["lint", "--format", format, "input"], in: directory)
      XCTAssertEqual(run.status, 1, format)
      XCTAssertEqual(
        format == "sarif" ? Self.withoutCommit(run.stdout) : run.stdout,
        try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8),
        format)
      XCTAssertEqual(
        run.stderr,
        try String(
          contentsOf: directory.appendingPathComponent("expected.summary"), encoding: .utf8), format
      )
    }
  }

  /// Absolute PATH arguments still give repository-relative locations in SARIF.
  func testSARIFHasNoAbsolutePaths() throws {
    let directory = LintGolden.root.appendingPathComponent("formats")
    let absolute = try PolicycBinary.policyc(
      ["lint", "--format", "sarif", directory.appendingPathComponent("input").path], in: directory)
    XCTAssertEqual(
      Self.withoutCommit(absolute.stdout),
      try String(contentsOf: directory.appendingPathComponent("expected.sarif"), encoding: .utf8))
    XCTAssertFalse(absolute.stdout.contains(LintGolden.repository.path))
  }

  func testRulesCommand() throws {
    let list = try PolicycBinary.policyc(["rules"])
    XCTAssertEqual(list.status, 0)
    XCTAssertTrue(list.stdout.contains("redundant-rule"), list.stdout)
    let json = try PolicycBinary.policyc(["rules", "--format", "json"])
    XCTAssertEqual(json.status, 0)
    XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)))
    let one = try PolicycBinary.policyc(["rules", "egress-blocks-dns"])
    XCTAssertEqual(one.status, 0)
    XCTAssertTrue(
      one.stdout.hasPrefix("egress-blocks-dns (warning): egress isolation blocks DNS\n"), one.stdout
    )
    let unknown = try PolicycBinary.policyc(["rules", "no-such-rule"])
    XCTAssertEqual(unknown.status, 2)
    XCTAssertTrue(unknown.stderr.contains("unknown rule id 'no-such-rule'"), unknown.stderr)
  }
}
