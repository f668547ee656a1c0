import Foundation
import NodeApply
import PolicyModel
import TestSupport
import XCTest

@testable import IptablesEmitter

/// `compile` spells a large node's rules on several threads, as pieces
/// written with one writev: the file must be the one-thread text, byte for
/// byte, whatever the number of threads and pieces.
final class RestoreWriterPiecesTests: XCTestCase {
  func testRunsCoverEveryChainInOrder() {
    var generator = SeededGenerator(seed: 19)
    for round in 0..<500 {
      let counts = (0..<Int.random(in: 0...60, using: &generator)).map { _ in
        Int.random(in: 0...40, using: &generator)
      }
      let jobs = Int.random(in: 1...6, using: &generator)
      let minimum = Int.random(in: 1...50, using: &generator)
      let runs = RestoreWriter.chainRuns(counts, jobs: jobs, minimumRules: minimum)
      XCTAssertEqual(
        runs.flatMap { Array($0) }, Array(counts.indices), "round \(round): runs in order, each chain once")
      XCTAssertFalse(runs.contains { $0.isEmpty }, "round \(round): no empty run")
      if jobs == 1 { XCTAssertLessThanOrEqual(runs.count, 1, "round \(round): one thread, one run") }
      // Every run but the last reaches the size.
      let size = max(minimum, counts.reduce(0, +) / (4 * jobs))
      if runs.count > 1 {
        for run in runs.dropLast() {
          XCTAssertGreaterThanOrEqual(run.map { counts[$0] }.reduce(0, +), size, "round \(round)")
        }
      }
    }
    XCTAssertEqual(RestoreWriter.chainRuns([], jobs: 4, minimumRules: 1), [])
    XCTAssertEqual(RestoreWriter.chainRuns([100_000], jobs: 4, minimumRules: 1), [0..<1])
  }

  func testPiecesAreTheRenderedText() throws {
    let inventory = Load.inventory([("all.yaml", Manifest.stream(Sample.documents))])
    XCTAssertEqual(inventory.errors.map(\.formatted), [])
    let cluster = Cluster(inventory)
    for (node, ipsets) in [("node-a", false), ("node-a", true)] as [(String?, Bool)] + [(nil, false)] {
      let rules = try XCTUnwrap(Compile.ruleSet(cluster, node: node, ipsets: ipsets))
      XCTAssertGreaterThan(rules.chains.count, 5, "enough chains to split")
      let whole = RestoreWriter.render(rules)
      for jobs in 1...5 {
        for minimum in [1, 3, 20, 8192] {
          let pieces = RestoreWriter.pieces(rules, jobs: jobs, minimumRules: minimum)
          XCTAssertEqual(pieces.joined(), whole, "node \(node ?? "all"), jobs \(jobs), minimum \(minimum)")
          if jobs == 1 || minimum == 8192 { XCTAssertEqual(pieces, [whole]) }
          if jobs > 1 && minimum == 1 { XCTAssertGreaterThan(pieces.count, 3, "split into runs") }
        }
      }
      let noHooks = RestoreWriter.render(rules, includeHooks: false)
      XCTAssertEqual(RestoreWriter.pieces(rules, includeHooks: false, jobs: 3, minimumRules: 1).joined(), noHooks)
    }
  }

  func testPiecesWrittenAsOneFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pieces-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("sub/rules.v4").path
    // Empty pieces, pieces not ASCII, a bridged (not native) string.
    let bridged = NSString(string: "bridged caf\u{e9}\n") as String
    let pieces = ["head\n", "", "caf\u{e9} \u{1F600}\n", bridged, String(repeating: "x", count: 100_000), ""]
    try AtomicFile.write(pieces: pieces, to: path)
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), pieces.joined())
    try AtomicFile.write(pieces: [], to: path)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)).count, 0, "no pieces, an empty file")
    try AtomicFile.write("one\n", to: path)
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "one\n")
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sub").path), ["rules.v4"],
      "no temporary file left")
  }

  func testParallelMapKeepsTheOrder() {
    for jobs in 1...5 {
      for count in [0, 1, 2, 7, 100] {
        XCTAssertEqual(ParallelMap.map(count, jobs: jobs) { $0 * $0 }, (0..<count).map { $0 * $0 })
      }
    }
  }
}
