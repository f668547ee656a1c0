import XCTest

/// `policyc matrix` end to end, one golden per format.
final class MatrixGoldenTests: XCTestCase {
  static let arguments = [
    "--port", "8080/TCP", "--port", "53/UDP", "--endpoint", "192.168.1.1", "--endpoint",
    "203.0.113.9", "inputs/shop-new",
  ]

  func testText() throws {
    try AnalysisGolden.check("matrix-text", ["matrix"] + Self.arguments, status: 0)
  }

  func testJSON() throws {
    let run = try AnalysisGolden.check(
      "matrix-json", ["matrix", "--format", "json"] + Self.arguments, status: 0)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  func testCSV() throws {
    try AnalysisGolden.check(
      "matrix-csv", ["matrix", "--format", "csv"] + Self.arguments, status: 0)
  }

  func testDot() throws {
    try AnalysisGolden.check(
      "matrix-dot", ["matrix", "--format", "dot"] + Self.arguments, status: 0)
  }

  func testOneNamespaceAndTheDefaultPort() throws {
    try AnalysisGolden.check(
      "matrix-only-namespace", ["matrix", "--only-namespace", "backend", "inputs/shop-new"],
      status: 0)
  }

  /// Every format says the same thing: the csv cells agree with the text
  /// table and with the JSON triples.
  func testFormatsAgree() throws {
    let csv = try AnalysisGolden.policyc(["matrix", "--format", "csv"] + Self.arguments).stdout
    let json = try AnalysisGolden.policyc(["matrix", "--format", "json"] + Self.arguments).stdout
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    let triples = Set((object?["allowed"] as? [[String]] ?? []).map { $0.joined(separator: " ") })
    var fromCSV = Set<String>()
    let rows = csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    let ports = rows[0].dropFirst(2)
    for row in rows.dropFirst() {
      for (port, cell) in zip(ports, row.dropFirst(2)) where cell == "allow" {
        fromCSV.insert("\(row[0]) \(row[1]) \(port)")
      }
    }
    XCTAssertEqual(fromCSV, triples)
    XCTAssertEqual(triples.count, 41)
  }

  func testUsageErrors() throws {
    for (arguments, message) in [
      (["matrix", "--port", "80/ICMP", "inputs/shop-new"], "invalid --port '80/ICMP'"),
      (["matrix", "--endpoint", "not-an-ip", "inputs/shop-new"], "invalid --endpoint 'not-an-ip'"),
      (
        ["matrix", "--format", "svg", "inputs/shop-new"], "--format must be text, json, csv or dot"
      ),
      (["matrix"], "no input"),
    ] {
      let run = try AnalysisGolden.policyc(arguments)
      XCTAssertEqual(run.status, 2, arguments.joined(separator: " "))
      XCTAssertEqual(run.stdout, "")
      XCTAssertTrue(run.stderr.contains(message), run.stderr)
    }
    let invalid = try AnalysisGolden.policyc(["matrix", "inputs/invalid-new"])
    XCTAssertEqual(invalid.status, 2)
    XCTAssertTrue(
      invalid.stderr.hasPrefix("inputs/invalid-new/policies.yaml:13:15: error: "), invalid.stderr)
  }

  /// Pod.workloadKind: a workload's pod template "takes part in
  /// selector-based analysis (lint, diff, matrix) when the inputs hold no
  /// real pods", as diff and explain already do. Today MatrixCommand builds
  /// `Cluster(inventory)` (real pods only) and prints an empty table.
  func testWorkloadsStandInForPods() throws {
    let run = try AnalysisGolden.policyc([
      "matrix", "--port", "5432/TCP", "--format", "csv", "inputs/workloads-new",
    ])
    XCTAssertEqual(run.status, 0)
    XCTAssertTrue(
      run.stdout.contains("backend/Deployment/api,backend/StatefulSet/db,allow\n"), run.stdout)
    XCTAssertTrue(
      run.stdout.contains("frontend/Deployment/web,backend/StatefulSet/db,deny\n"), run.stdout)
  }
}
