import Foundation
import XCTest

/// Counts, not times: the generated benchmark workloads (bench/gen.py,
/// seeded) compiled for one node must stay within these bounds, so a change
/// that multiplies the rule or set count fails CI even when it is fast.
final class WorkloadCountTests: XCTestCase {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  struct Counts {
    var rules: Int
    var chains: Int
    var sets: Int
    var entries: Int
  }

  func counts(shape: String, ipsets: Bool) throws -> Counts {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-counts-\(getpid())-\(shape)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("\(shape).yaml").path
    let root = Self.repository.path
    try Shell.run("python3 \(root)/bench/gen.py --shape \(shape) --seed 1 --out \(input)")
    let rules = dir.appendingPathComponent("rules").path
    let sets = dir.appendingPathComponent("sets").path
    let extra = ipsets ? "--ipset-out \(sets)" : ""
    try Shell.run("\(root)/.build/debug/policyc compile --node node-0000 -o \(rules) \(extra) \(input)")
    let text = try String(contentsOfFile: rules, encoding: .utf8).split(separator: "\n")
    let setText = ipsets ? try String(contentsOfFile: sets, encoding: .utf8).split(separator: "\n") : []
    return Counts(
      rules: text.count { $0.hasPrefix("-A ") || $0.hasPrefix("-I ") },
      chains: text.count { $0.hasPrefix(":") },
      sets: setText.count { $0.hasPrefix("create ") && !$0.contains("-T ") },
      entries: setText.count { $0.hasPrefix("add ") })
  }

  func testW1StaysSmall() throws {
    let rules = try counts(shape: "w1", ipsets: false)
    XCTAssertGreaterThan(rules.rules, 500, "the workload no longer exercises the emitter")
    XCTAssertLessThanOrEqual(rules.rules, 2_200)
    let sets = try counts(shape: "w1", ipsets: true)
    XCTAssertLessThanOrEqual(sets.rules, 1_000)
    XCTAssertGreaterThan(sets.sets, 20, "ipset mode no longer puts peers in sets")
    XCTAssertLessThanOrEqual(sets.sets, 80)
  }

  /// W2 is the realistic profile (5,400 pods, 13,700 policies, 50 nodes).
  func testW2InIPSetModeStaysBounded() throws {
    let c = try counts(shape: "w2", ipsets: true)
    XCTAssertGreaterThan(c.rules, 1_000, "the workload no longer exercises the emitter")
    XCTAssertLessThanOrEqual(c.rules, 9_000)
    XCTAssertLessThanOrEqual(c.chains, 2_000)
    XCTAssertLessThanOrEqual(c.sets, 2_250)
    XCTAssertLessThanOrEqual(c.entries, 110_000)
  }
}
