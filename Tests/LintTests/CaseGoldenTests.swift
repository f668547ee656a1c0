import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

/// `cases/<name>/`: realistic inputs (helm output, workloads, suppressions,
/// configuration, broken YAML) and their text output.
final class CaseGoldenTests: XCTestCase {
  func testCasesMatchTheirGoldens() throws {
    let cases = try LintGolden.subdirectories("cases")
    XCTAssertGreaterThanOrEqual(cases.count, 6, "lint golden cases missing")
    for directory in cases {
      let result = try LintGolden.lint(directory)
      let actual = TextReporter.render(result) + "-- stderr\n" + TextReporter.summary(result)
      LintGolden.check(
        actual, directory.appendingPathComponent("expected.txt"), directory.lastPathComponent)
    }
  }

  /// The same inputs in another file order give the same findings.
  func testFileOrderDoesNotChangeFindings() throws {
    for directory in try LintGolden.subdirectories("cases") {
      let sources = try LintGolden.sources(in: directory)
      guard sources.count > 1 else { continue }
      let options = LintOptions(config: try LintGolden.config(in: directory), inputPaths: ["input"])
      XCTAssertEqual(
        TextReporter.render(LintEngine.run(sources, options: options)),
        TextReporter.render(LintEngine.run(sources.reversed(), options: options)),
        directory.lastPathComponent)
    }
  }
}
