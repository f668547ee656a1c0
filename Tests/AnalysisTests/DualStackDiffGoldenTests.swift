import XCTest

/// diff with dual-stack pods: ipBlocks match pods by their address of each
/// family, so moving an IPv6 block over IPv6 pod addresses shows, marked as
/// an IPv6 change where the IPv4 answer stays.
final class DualStackDiffGoldenTests: XCTestCase {
  static let old = "inputs/dual-stack-old"
  static let new = "inputs/dual-stack-new"

  func testText() throws {
    let run = try AnalysisGolden.check("diff-dual-stack-text", ["diff", Self.old, Self.new], status: 1)
    XCTAssertTrue(run.stdout.contains("changed (IPv6): shop/client -> shop/web: TCP 8080 => none"), run.stdout)
    XCTAssertTrue(run.stdout.contains("changed (IPv6): shop/v6only -> shop/web: none => TCP 8080"), run.stdout)
  }

  func testJSON() throws {
    let run = try AnalysisGolden.check(
      "diff-dual-stack-json", ["diff", "--format", "json", Self.old, Self.new], status: 1)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  func testMarkdown() throws {
    try AnalysisGolden.check(
      "diff-dual-stack-markdown", ["diff", "--format", "markdown", Self.old, Self.new], status: 1)
  }

  /// Comparing a version with itself gives nothing, in either family.
  func testNoChangeAgainstItself() throws {
    let run = try AnalysisGolden.policyc(["diff", Self.old, Self.old])
    XCTAssertEqual(run.status, 0)
    XCTAssertEqual(run.stdout, "no connectivity change\n")
  }
}
