import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

/// `rules/<id>.txt`: the full text output for each of a rule's examples,
/// so messages and exact locations (and any other rule's findings the
/// examples cause) are reviewed as golden diffs.
final class GoldenRuleTests: XCTestCase {
  static func render(_ rule: RuleDescription) -> String {
    var out = "# \(rule.id): \(rule.title)\n"
    let examples =
      rule.triggering.enumerated().map {
        ("triggering", $0.offset, RuleDescription.strip($0.element).text)
      }
      + rule.nonTriggering.enumerated().map { ("non-triggering", $0.offset, $0.element) }
    for (kind, n, text) in examples {
      let name = "\(rule.id)-\(kind == "triggering" ? "t" : "n")\(n).yaml"
      let result = LintEngine.run(
        [InputSource(path: name, bytes: Array(text.utf8))], options: LintOptions(inputPaths: [name])
      )
      out += "\n## \(kind) example \(n + 1)\n" + TextReporter.render(result)
    }
    return out
  }

  func testEveryRuleMatchesItsGolden() throws {
    for rule in LintRules.descriptions {
      LintGolden.check(
        Self.render(rule), LintGolden.root.appendingPathComponent("rules/\(rule.id).txt"), rule.id)
    }
  }

  func testNoGoldenForAnUnknownRule() throws {
    let ids = Set(LintRules.descriptions.map(\.id))
    let files = try FileManager.default.contentsOfDirectory(
      atPath: LintGolden.root.appendingPathComponent("rules").path)
    for file in files where file.hasSuffix(".txt") {
      XCTAssertTrue(ids.contains(String(file.dropLast(4))), "rules/\(file): no such rule")
    }
  }

  /// Every triggering example of a rule finds that rule and only at its
  /// markers; the golden text shows the messages.
  func testRuleGoldensNameTheirRule() throws {
    for rule in LintRules.descriptions {
      XCTAssertTrue(
        Self.render(rule).contains("[\(rule.id)]"), "\(rule.id): its golden shows no finding of it")
    }
  }
}
