import PolicyModel
import XCTest
import YAMLBridge

/// One way the API server refuses a manifest: the document (with a `↓` at
/// the spot the error must point to), and what the error must say.
struct Rejection {
  var label: String
  var document: String
  var rule: String
  var message: String
  var path: String
}

extension XCTestCase {
  /// Loads the document alone and expects exactly one error: the rule, a
  /// message containing the fragment, the field path, and the marked spot.
  func assertRejected(_ cases: [Rejection], file: StaticString = #filePath, line: UInt = #line) {
    for expected in cases {
      let marked = Marked(expected.document)
      XCTAssertEqual(
        marked.marks.count, 1, "\(expected.label): mark the spot once", file: file, line: line)
      let inventory = Load.inventory([("input.yaml", marked.text)])
      let errors = inventory.errors
      guard errors.count == 1, let error = errors.first else {
        XCTFail(
          "\(expected.label): expected one error, got \(errors.map(\.formatted))", file: file,
          line: line)
        continue
      }
      XCTAssertEqual(error.ruleID, expected.rule, expected.label, file: file, line: line)
      XCTAssertTrue(
        error.message.contains(expected.message),
        "\(expected.label): \"\(error.message)\" lacks \"\(expected.message)\"",
        file: file, line: line)
      XCTAssertEqual(error.fieldPath, expected.path, expected.label, file: file, line: line)
      XCTAssertEqual(error.location.file, "input.yaml", expected.label, file: file, line: line)
      let at = Mark(line: error.location.line, column: error.location.column)
      XCTAssertEqual(
        at, marked.marks.first, "\(expected.label): located at", file: file, line: line)
    }
  }

  /// Documents that must load without any error.
  func assertAccepted(
    _ cases: [(label: String, document: String)], file: StaticString = #filePath, line: UInt = #line
  ) {
    for (label, document) in cases {
      let errors = Load.inventory([document]).errors.map(\.formatted)
      XCTAssertEqual(errors, [], label, file: file, line: line)
    }
  }
}

/// A policy in namespace `a` named `p` whose spec is `spec`.
func policy(_ spec: String) -> String { Manifest.policy("a", "p", spec) }
