import PolicyAnalysis
import PolicyModel
import XCTest

/// Every rule's examples are its tests: a triggering example must produce
/// the rule's findings exactly at its `↓` markers, a non-triggering one none.
final class RuleExampleTests: XCTestCase {
  static func lint(_ text: String) -> LintResult {
    LintEngine.run(
      [InputSource(path: "example.yaml", bytes: Array(text.utf8))],
      options: LintOptions(inputPaths: ["example.yaml"]))
  }

  func testEveryRuleHasExamples() {
    for rule in LintRules.descriptions {
      XCTAssertFalse(rule.triggering.isEmpty, "\(rule.id): no triggering example")
      XCTAssertFalse(rule.nonTriggering.isEmpty, "\(rule.id): no non-triggering example")
      for example in rule.triggering {
        XCTAssertFalse(
          RuleDescription.strip(example).marks.isEmpty,
          "\(rule.id): triggering example without ↓ marker")
      }
      for example in rule.nonTriggering {
        XCTAssertTrue(
          RuleDescription.strip(example).marks.isEmpty,
          "\(rule.id): marker in a non-triggering example")
      }
    }
  }

  func testTriggeringExamplesFindExactlyAtTheMarkers() {
    for rule in LintRules.descriptions {
      for (n, example) in rule.triggering.enumerated() {
        let (text, marks) = RuleDescription.strip(example)
        let found = Self.lint(text).findings.filter { $0.ruleID == rule.id }
        let at = found.map { "\($0.location.line):\($0.location.column)" }
        XCTAssertEqual(
          at, marks.map(\.description),
          "\(rule.id) triggering[\(n)]: findings at \(at), markers at \(marks.map(\.description)):\n"
            + found.map { "  \($0.location.line):\($0.location.column) \($0.displayMessage)" }
            .joined(separator: "\n"))
        for finding in found {
          XCTAssertEqual(finding.severity, rule.severity, "\(rule.id): severity")
        }
      }
    }
  }

  func testNonTriggeringExamplesFindNothing() {
    for rule in LintRules.descriptions {
      for (n, example) in rule.nonTriggering.enumerated() {
        let found = Self.lint(example).findings.filter { $0.ruleID == rule.id }
        XCTAssertEqual(
          found.count, 0,
          "\(rule.id) nonTriggering[\(n)]: "
            + found.map { "\($0.location.line):\($0.location.column) \($0.displayMessage)" }.joined(
              separator: "; "))
      }
    }
  }
}
