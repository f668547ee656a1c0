import Foundation
import XCTest

/// End to end through the built binary: `Tests/Golden/commands/<name>/`
/// holds `args` (one argument per line, run in that folder), an optional
/// `stdin`, any input files, and `expected.txt` with the exit status,
/// standard output and standard error. These pin the messages users see
/// when policyc refuses an input or an option. POLICYC_RECORD=1 re-records
/// (and fails on purpose).
final class CommandGoldenTests: XCTestCase {
  static let root = LintGolden.repository.appendingPathComponent("Tests/Golden/commands")

  func testEveryCommandMatchesItsGolden() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: Self.root.path).filter { !$0.hasPrefix(".") }
      .sorted()
    XCTAssertGreaterThan(names.count, 0, "no command goldens under \(Self.root.path)")
    for name in names {
      let directory = Self.root.appendingPathComponent(name)
      let args = try String(contentsOf: directory.appendingPathComponent("args"), encoding: .utf8)
        .split(separator: "\n").map(String.init)
      let stdin = try? String(contentsOf: directory.appendingPathComponent("stdin"), encoding: .utf8)
      // Outputs a case writes go to a scratch folder named by the case, removed after.
      let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-cmd-\(getpid())-\(name)")
      try? FileManager.default.removeItem(at: scratch)
      defer { try? FileManager.default.removeItem(at: scratch) }
      let expanded = args.map { $0.replacingOccurrences(of: "$SCRATCH", with: scratch.path) }
      let run = try PolicycBinary.policyc(expanded, in: directory, stdin: stdin)
      var actual = "status: \(run.status)\n--- stdout\n\(run.stdout)--- stderr\n\(run.stderr)"
      if args.contains(where: { $0.contains("$SCRATCH") }) {
        let written = (FileManager.default.enumerator(atPath: scratch.path)?.allObjects as? [String] ?? []).sorted()
        actual += "--- files written\n" + written.map { $0 + "\n" }.joined()
      }
      LintGolden.check(actual, directory.appendingPathComponent("expected.txt"), name)
    }
  }
}
