import Foundation
import XCTest

/// `--help` is the product's front door: each command shows only the flags
/// it uses, and no example is broken across lines on an 80-column terminal.
final class HelpTests: XCTestCase {
  static let commands = ["compile", "apply", "matrix", "explain", "diff", "lint", "rules"]

  func help(_ command: String, columns: Int) throws -> String {
    let run = try PolicycBinary.policyc(["help", command], environment: ["COLUMNS": "\(columns)"])
    XCTAssertEqual(run.status, 0, run.stderr)
    return run.stdout
  }

  /// The discussion (examples included) is written to fit 80 columns, so a
  /// narrow and a very wide terminal show it line for line the same.
  func testDiscussionIsNotWrappedAt80Columns() throws {
    for command in Self.commands {
      func discussion(_ text: String) -> String {
        let beforeUsage = text.components(separatedBy: "\nUSAGE:")[0]
        // The first paragraph is the one-line abstract, which may wrap.
        return beforeUsage.components(separatedBy: "\n\n").dropFirst().joined(separator: "\n\n")
      }
      let narrow = discussion(try help(command, columns: 80))
      let wide = discussion(try help(command, columns: 400))
      XCTAssertEqual(narrow, wide, "\(command): the help text is wrapped at 80 columns")
      for line in narrow.split(separator: "\n") {
        XCTAssertLessThan(line.count, 80, "\(command): \(line)")
      }
    }
  }

  func testEachCommandListsOnlyTheFlagsItUses() throws {
    let compileOnly = [
      "--deny", "--mark-bit", "--log-denied", "--log-rate", "--log-target", "--log-group", "--backend",
      "--allow-empty",
    ]
    for command in ["diff", "explain", "matrix", "lint", "rules"] {
      let text = try help(command, columns: 200)
      for flag in compileOnly {
        XCTAssertFalse(text.contains(flag + " "), "\(command) --help shows \(flag), which it does not use")
      }
    }
    for command in ["compile", "apply"] {
      let text = try help(command, columns: 200)
      for flag in compileOnly { XCTAssertTrue(text.contains(flag), "\(command) --help lacks \(flag)") }
    }
  }
}
