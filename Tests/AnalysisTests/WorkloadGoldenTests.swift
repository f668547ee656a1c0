import XCTest

/// `--by workload` end to end over a kubectl dump of one namespace:
/// Deployment shop/web has three replicas from two ReplicaSets, one of them
/// a canary with another label and another number for its named port;
/// StatefulSet shop/db has two; shop/debug is a bare pod.
final class WorkloadGoldenTests: XCTestCase {
  static let ports = ["--port", "8080", "--port", "9090", "--port", "5432"]
  static let old = "inputs/replicas-old"
  static let new = "inputs/replicas-new"

  func testMatrixText() throws {
    let run = try AnalysisGolden.check(
      "matrix-workload-text", ["matrix", "--by", "workload"] + Self.ports + [Self.old], status: 0)
    XCTAssertTrue(run.stdout.contains("shop/Deployment/web: 3 pods ("), run.stdout)
    XCTAssertTrue(
      run.stdout.contains("replicas disagree: shop/Deployment/web: named port http: 8080/TCP on 2 pods, 9090/TCP on"),
      run.stdout)
  }

  func testMatrixJSON() throws {
    let run = try AnalysisGolden.check(
      "matrix-workload-json", ["matrix", "--by", "workload", "--format", "json"] + Self.ports + [Self.old],
      status: 0)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  /// Each grouped cell is allowed when every pod pair of it is in the pod
  /// matrix, mixed when some are: the csv of both views agree.
  func testGroupedCellsSumUpThePodCells() throws {
    func cells(_ arguments: [String]) throws -> [String: [String]] {
      let csv = try AnalysisGolden.policyc(["matrix", "--format", "csv"] + Self.ports + arguments + [Self.old]).stdout
      var out: [String: [String]] = [:]
      for line in csv.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: ",").map(String.init)
        out[fields[0] + " " + fields[1]] = Array(fields[2...])
      }
      return out
    }
    let pods = try cells([])
    let grouped = try cells(["--by", "workload"])
    let owner = [
      "shop/web-7d4b9c6f5-x2k9p": "shop/Deployment/web", "shop/web-7d4b9c6f5-q8f7z": "shop/Deployment/web",
      "shop/web-5f6d8b7c9-m4n2s": "shop/Deployment/web", "shop/db-0": "shop/StatefulSet/db",
      "shop/db-1": "shop/StatefulSet/db", "shop/debug": "shop/debug",
    ]
    var expected: [String: [Set<String>]] = [:]
    for (pair, answers) in pods {
      let ends = pair.split(separator: " ").map { owner[String($0)]! }
      let key = ends.joined(separator: " ")
      var sets = expected[key] ?? Array(repeating: [], count: answers.count)
      for (p, answer) in answers.enumerated() { sets[p].insert(answer) }
      expected[key] = sets
    }
    XCTAssertEqual(Set(grouped.keys), Set(expected.keys))
    for (key, sets) in expected {
      XCTAssertEqual(grouped[key], sets.map { $0.count > 1 ? "mixed" : $0.first! }, key)
    }
    XCTAssertTrue(grouped.values.contains { $0.contains("mixed") })
  }

  func testDiffText() throws {
    let run = try AnalysisGolden.check(
      "diff-workload-text", ["diff", "--by", "workload", Self.old, Self.new], status: 1)
    XCTAssertTrue(
      run.stdout.contains("changed: shop/debug -> shop/StatefulSet/db: none => TCP 5432 (by shop/db-from-web)\n"),
      run.stdout)
    XCTAssertTrue(
      run.stdout.contains(
        "changed: shop/Deployment/web -> shop/StatefulSet/db: TCP 5432 => TCP 5432 or none (by shop/canary-egress, shop/db-from-web) [replicas disagree]"
      ), run.stdout)
  }

  func testDiffMarkdown() throws {
    try AnalysisGolden.check(
      "diff-workload-markdown", ["diff", "--by", "workload", "--format", "markdown", Self.old, Self.new], status: 1)
  }

  func testDiffJSON() throws {
    let run = try AnalysisGolden.check(
      "diff-workload-json", ["diff", "--by", "workload", "--format", "json", Self.old, Self.new], status: 1)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  /// A rollout renames every stable pod: pod by pod that is every pair
  /// removed and added again; by workload it is no change.
  func testRolloutIsNoChange() throws {
    let run = try AnalysisGolden.check(
      "diff-workload-rollout", ["diff", "--by", "workload", Self.old, "inputs/replicas-rollout"], status: 0)
    XCTAssertTrue(run.stdout.hasPrefix("no connectivity change\n"), run.stdout)
    let pods = try AnalysisGolden.policyc(["diff", Self.old, "inputs/replicas-rollout"])
    XCTAssertEqual(pods.status, 1)
  }

  func testExplainAgreeing() throws {
    let run = try AnalysisGolden.check(
      "explain-workload-allowed",
      [
        "explain", "--by", "workload", "--from", "shop/Deployment/web", "--to", "shop/StatefulSet/db", "--port",
        "5432", Self.old,
      ],
      status: 0)
    XCTAssertTrue(
      run.stdout.hasPrefix(
        "shop/Deployment/web -> shop/StatefulSet/db on 5432/TCP: ALLOWED\n  from 3 pods of shop/Deployment/web to 2 pods of shop/StatefulSet/db; every pod pair"
      ), run.stdout)
  }

  func testExplainDisagreeing() throws {
    let run = try AnalysisGolden.check(
      "explain-workload-disagree",
      [
        "explain", "--by", "workload", "--from", "shop/debug", "--to", "shop/web-7d4b9c6f5-x2k9p", "--port", "8080",
        Self.old,
      ],
      status: 1)
    XCTAssertTrue(
      run.stdout.hasPrefix(
        "shop/debug -> shop/Deployment/web on 8080/TCP: REPLICAS DISAGREE (allowed for 2 of 3 pod pairs, denied for 1)\n"
      ),
      run.stdout)
  }

  func testExplainUnknownWorkload() throws {
    try AnalysisGolden.check(
      "explain-workload-unknown",
      ["explain", "--by", "workload", "--from", "shop/Deployment/wbe", "--to", "shop/debug", "--port", "80", Self.old],
      status: 2)
  }
}
