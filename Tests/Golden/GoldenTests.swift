import Foundation
import IptablesEmitter
import PolicyModel
import XCTest

final class GoldenTests: XCTestCase {
  func testValidCasesMatchTheirGoldenRules() throws {
    let cases = try Golden.cases("cases")
    XCTAssertGreaterThan(cases.count, 10, "golden cases missing")
    for c in cases {
      let (rules, diagnostics) = try Golden.compile(c)
      guard let rules else {
        XCTFail("\(c.name): expected to compile, got:\n\(diagnostics)")
        continue
      }
      Golden.check(rules, c.directory.appendingPathComponent("expected.rules"), c.name)
    }
  }

  func testValidCasesMatchTheirGoldenNft() throws {
    var checked = 0
    for c in try Golden.cases("cases") where Golden.option(c.args, "--family") == nil {
      guard let text = try Golden.compileNft(c) else {
        XCTFail("\(c.name): expected to compile")
        continue
      }
      Golden.check(text, c.directory.appendingPathComponent("expected.nft"), c.name)
      checked += 1
    }
    XCTAssertGreaterThan(checked, 60)
  }

  /// Every nft golden passes `nft -c -f` (the kernel checks the transaction
  /// and rolls it back), and loads for real twice in a row in a namespace
  /// of our own: the second load replaces the table the first one made.
  func testGoldenNftLoadsInTheKernel() throws {
    XCTAssertEqual(getuid(), 0, "the kernel check needs root")
    let netns = "pcn-\(getpid())"
    try Shell.run("ip netns add \(netns)")
    defer { _ = try? Shell.run("ip netns del \(netns)") }
    var checked = 0
    for c in try Golden.cases("cases") {
      let file = c.directory.appendingPathComponent("expected.nft")
      guard FileManager.default.fileExists(atPath: file.path) else { continue }
      for command in ["nft -c -f", "nft -f", "nft -f"] {
        let result = try Shell.run("ip netns exec \(netns) \(command) '\(file.path)'", check: false)
        XCTAssertEqual(result.status, 0, "\(c.name): \(command) refused it: \(result.output)")
      }
      let tables = try Shell.run("ip netns exec \(netns) nft list tables").output
      XCTAssertEqual(tables, "table inet policyc\n", c.name)
      checked += 1
    }
    XCTAssertGreaterThan(checked, 60)
  }

  /// "The same objects give byte-identical output whatever the order of
  /// files, documents, list items": reversing the file order must not show.
  func testFileOrderDoesNotChangeOutput() throws {
    for c in try Golden.cases("cases") where c.sources.count > 1 {
      let forward = try Golden.compile(c).rules
      let backward = try Golden.compile(c, sources: c.sources.reversed()).rules
      XCTAssertEqual(forward, backward, "\(c.name): output depends on file order")
    }
  }

  func testInvalidCasesReportLocatedErrors() throws {
    let cases = try Golden.cases("invalid")
    XCTAssertGreaterThan(cases.count, 10, "invalid golden cases missing")
    for c in cases {
      let (rules, diagnostics) = try Golden.compile(c)
      XCTAssertNil(rules, "\(c.name): invalid input compiled")
      XCTAssertFalse(diagnostics.isEmpty, "\(c.name): no diagnostics")
      for line in diagnostics.split(separator: "\n") {
        XCTAssertNotNil(
          line.range(of: #"^[^:]+:\d+:\d+: (error|warning): .+ \[[a-z-]+\]$"#, options: .regularExpression),
          "\(c.name): unlocated: \(line)")
      }
      Golden.check(diagnostics, c.directory.appendingPathComponent("expected.stderr"), c.name)
    }
  }

  /// A file the kernel would refuse can never be golden: every golden loads
  /// with the real `iptables-restore --test` in a namespace of our own.
  func testGoldenRulesLoadInTheKernel() throws {
    XCTAssertEqual(getuid(), 0, "the kernel check needs root")
    let netns = "pcg-\(getpid())"
    try Shell.run("ip netns add \(netns)")
    defer { _ = try? Shell.run("ip netns del \(netns)") }
    var checked = 0
    for c in try Golden.cases("cases") {
      let file = c.directory.appendingPathComponent("expected.rules")
      guard FileManager.default.fileExists(atPath: file.path) else { continue }
      let tool = Golden.option(c.args, "--family") == "ipv6" ? "ip6tables-restore" : "iptables-restore"
      let result = try Shell.run(
        "ip netns exec \(netns) \(tool) --test --noflush < '\(file.path)'", check: false)
      XCTAssertEqual(result.status, 0, "\(c.name): iptables-restore refused it: \(result.output)")
      checked += 1
    }
    XCTAssertGreaterThan(checked, 10)
  }
}

enum Shell {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  @discardableResult
  static func run(_ command: String, check: Bool = true) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command + " 2>&1"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    if check, process.terminationStatus != 0 {
      throw Failure(description: "`\(command)` failed (\(process.terminationStatus)): \(output)")
    }
    return (process.terminationStatus, output)
  }
}
