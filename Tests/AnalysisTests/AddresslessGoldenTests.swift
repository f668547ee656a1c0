import Foundation
import XCTest

/// Manifests as kept in a repository, without any pod status: pods without
/// an address are endpoints by identity in explain, matrix and diff, no
/// ipBlock matches them, and answers that depend on an address say so.
final class AddresslessGoldenTests: XCTestCase {
  static let old = "inputs/repo-old"
  static let new = "inputs/repo-new"
  static let ports = ["--port", "8080", "--port", "8081", "--port", "9090", "--port", "5432"]

  func testExplainResolvesANamedPortOnAPodWithoutStatus() throws {
    try AnalysisGolden.check(
      "explain-no-status-named-port",
      ["explain", "--from", "web/frontend-1", "--to", "api/api-2", "--port", "8081", Self.old], status: 0)
  }

  /// A Pending pod (phase, no podIP) is an endpoint too.
  func testExplainAPendingPod() throws {
    try AnalysisGolden.check(
      "explain-no-status-pending",
      ["explain", "--from", "web/frontend-2", "--to", "api/api-1", "--port", "8080", Self.new], status: 0)
  }

  /// The ipBlock cannot match a pod without an address, and explain names
  /// the block an address would have to be in to turn the answer.
  func testExplainSaysTheAnswerDependsOnTheAddress() throws {
    try AnalysisGolden.check(
      "explain-no-status-ipblock",
      ["explain", "--from", "monitoring/prom-1", "--to", "api/api-1", "--port", "9090", Self.old], status: 1)
  }

  /// Finished and host-network pods stay left out, as on the node.
  func testFinishedAndHostNetworkPodsAreNotEndpoints() throws {
    for pod in ["api/job-1", "monitoring/node-exporter"] {
      let run = try AnalysisGolden.policyc(
        ["explain", "--from", pod, "--to", "api/api-1", "--port", "8080", Self.old])
      XCTAssertEqual(run.status, 2, pod)
      XCTAssertTrue(run.stderr.contains("--from '\(pod)': no such pod"), run.stderr)
    }
  }

  func testMatrixText() throws {
    let run = try AnalysisGolden.check("matrix-no-status-text", ["matrix"] + Self.ports + [Self.old], status: 0)
    XCTAssertTrue(run.stdout.contains(" X?"), "the 9090 cells behind the ipBlock depend on an address")
    XCTAssertFalse(run.stdout.contains("node-exporter") || run.stdout.contains("job-1"))
  }

  func testMatrixJSON() throws {
    let run = try AnalysisGolden.check(
      "matrix-no-status-json", ["matrix", "--format", "json"] + Self.ports + [Self.old], status: 0)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  func testDiffText() throws {
    try AnalysisGolden.check("diff-no-status-text", ["diff", Self.old, Self.new], status: 1)
  }

  func testDiffMarkdown() throws {
    try AnalysisGolden.check(
      "diff-no-status-markdown", ["diff", "--format", "markdown", Self.old, Self.new], status: 1)
  }

  func testDiffJSON() throws {
    let run = try AnalysisGolden.check(
      "diff-no-status-json", ["diff", "--format", "json", Self.old, Self.new], status: 1)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  /// A change of allowed ports between pods without addresses shows; before,
  /// such inputs always gave "no connectivity change".
  func testDiffSeesPortChangesBetweenPodsWithoutAddresses() throws {
    let run = try AnalysisGolden.policyc(["diff", Self.old, Self.new])
    XCTAssertTrue(run.stdout.contains("changed: web/frontend-1 -> api/api-2: TCP 8081 => TCP 8000-8100"), run.stdout)
  }

  /// compile enforces only pods with an address and says how many it left out.
  func testCompileVerboseCountsPodsWithoutAnAddress() throws {
    let run = try AnalysisGolden.policyc(["compile", "--verbose", "--allow-empty", Self.old])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stderr.contains("policyc: 6 pods without an address left out"), run.stderr)
    let quiet = try AnalysisGolden.policyc(["compile", "inputs/shop-old"])
    let loud = try AnalysisGolden.policyc(["compile", "--verbose", "inputs/shop-old"])
    XCTAssertEqual(quiet.stdout, loud.stdout)
    XCTAssertFalse(loud.stderr.contains("without an address"))
  }
}
