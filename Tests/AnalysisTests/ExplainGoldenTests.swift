import XCTest

/// `policyc explain` end to end: the verdict, the rules behind it, and the
/// exit codes (0 allowed, 1 denied, 2 trouble).
final class ExplainGoldenTests: XCTestCase {
  static let input = "inputs/shop-new"

  func testAllowedByRulesOnBothSides() throws {
    try AnalysisGolden.check(
      "explain-allowed",
      [
        "explain", "--from", "frontend/web-1", "--to", "backend/api-1", "--port", "8080",
        Self.input,
      ],
      status: 0)
  }

  func testDeniedOnBothSides() throws {
    try AnalysisGolden.check(
      "explain-denied",
      [
        "explain", "--from", "frontend/web-1", "--to", "backend/db-1", "--port", "5432/TCP",
        Self.input,
      ],
      status: 1)
  }

  func testDeniedByIngressOnlyWithAPodAddressAndLowercaseProtocol() throws {
    try AnalysisGolden.check(
      "explain-denied-ingress-udp",
      ["explain", "--from", "frontend/web-1", "--to", "10.0.2.10", "--port", "53/udp", Self.input],
      status: 1)
  }

  func testNotIsolatedEitherWay() throws {
    try AnalysisGolden.check(
      "explain-not-isolated",
      ["explain", "--from", "backend/api-1", "--to", "frontend/web-2", "--port", "80", Self.input],
      status: 0)
  }

  func testFromAnExternalAddressInTheAllowedBlock() throws {
    try AnalysisGolden.check(
      "explain-external-allowed",
      ["explain", "--from", "192.168.1.1", "--to", "backend/api-1", "--port", "8080", Self.input],
      status: 0)
  }

  func testFromAnExternalAddressOutsideTheBlock() throws {
    try AnalysisGolden.check(
      "explain-external-denied",
      ["explain", "--from", "203.0.113.9", "--to", "backend/api-1", "--port", "8080", Self.input],
      status: 1)
  }

  func testToAnExternalAddress() throws {
    try AnalysisGolden.check(
      "explain-to-external",
      ["explain", "--from", "frontend/web-1", "--to", "203.0.113.9", "--port", "443", Self.input],
      status: 0)
  }

  func testAPodToItself() throws {
    try AnalysisGolden.check(
      "explain-self",
      [
        "explain", "--from", "backend/db-1", "--to", "backend/db-1", "--port", "1/SCTP", Self.input,
      ], status: 0)
  }

  /// "whether the source is isolated for egress and by which policies, which
  /// rule allows it ..., and the same for the destination's ingress": an
  /// allowed verdict must still name every policy that isolates the pod
  /// (api-1 is isolated by default-deny-ingress AND allow-web-to-api).
  func testAllowedStillNamesTheIsolatingPolicies() throws {
    let run = try AnalysisGolden.policyc(
      [
        "explain", "--from", "frontend/web-1", "--to", "backend/api-1", "--port", "8080",
        Self.input,
      ])
    XCTAssertEqual(run.status, 0)
    let ingress =
      run.stdout.split(separator: "\n").first { $0.contains("ingress of backend/api-1") } ?? ""
    XCTAssertTrue(
      ingress.contains("isolated"), "ingress line does not say the pod is isolated: \(ingress)")
    XCTAssertTrue(
      ingress.contains("backend/default-deny-ingress"),
      "ingress line does not name default-deny-ingress: \(ingress)")
    let egress =
      run.stdout.split(separator: "\n").first { $0.contains("egress of frontend/web-1") } ?? ""
    XCTAssertTrue(
      egress.contains("isolated"), "egress line does not say the pod is isolated: \(egress)")
  }

  // Exit 2: trouble.

  func trouble(
    _ arguments: [String], _ firstLine: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let run = try AnalysisGolden.policyc(arguments)
    XCTAssertEqual(run.status, 2, arguments.joined(separator: " "), file: file, line: line)
    XCTAssertEqual(run.stdout, "", file: file, line: line)
    XCTAssertEqual(
      run.stderr.split(separator: "\n").first.map(String.init), firstLine, file: file, line: line)
  }

  func testUnknownPod() throws {
    try trouble(
      [
        "explain", "--from", "frontend/nope", "--to", "backend/api-1", "--port", "8080", Self.input,
      ],
      "policyc: error: --from 'frontend/nope': no such pod (NAMESPACE/NAME of a pod that is not finished and not host-network) or address"
    )
    try trouble(
      ["explain", "--from", "frontend/web-1", "--to", "backend", "--port", "8080", Self.input],
      "policyc: error: --to 'backend': no such pod (NAMESPACE/NAME of a pod that is not finished and not host-network) or address"
    )
  }

  /// Each bad --port says which part is wrong and what is valid.
  func testBadPort() throws {
    let reasons = [
      "80/ICMP": "protocol \"ICMP\" is not TCP, UDP or SCTP (the protocols a NetworkPolicy can name)",
      "0": "port 0 is out of range 1-65535",
      "65536": "port 65536 is out of range 1-65535",
      "70000": "port 70000 is out of range 1-65535",
      "http":
        "\"http\" is not a port number: give a number from 1 to 65535 (a named port means different numbers on different pods, so probe the number)",
      "80/": "no protocol after \"/\": give TCP, UDP or SCTP",
      "": "expected PORT[/PROTOCOL], such as 80 or 53/UDP",
      "80/TCP/x": "expected PORT[/PROTOCOL], such as 80 or 53/UDP",
    ]
    for (port, reason) in reasons.sorted(by: { $0.key < $1.key }) {
      try trouble(
        [
          "explain", "--from", "frontend/web-1", "--to", "backend/api-1", "--port", port,
          Self.input,
        ],
        "Error: invalid --port '\(port)': \(reason)")
    }
  }

  func testInvalidInput() throws {
    let run = try AnalysisGolden.policyc(
      [
        "explain", "--from", "frontend/web-1", "--to", "backend/api-1", "--port", "8080",
        "inputs/invalid-new",
      ])
    XCTAssertEqual(run.status, 2)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(
      run.stderr.hasPrefix("inputs/invalid-new/policies.yaml:13:15: error: "), run.stderr)
  }

  func testWorkloadsCanBeExplainedByName() throws {
    let run = try AnalysisGolden.policyc(
      [
        "explain", "--from", "backend/api", "--to", "backend/db", "--port", "5432",
        "inputs/workloads-new",
      ])
    XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
    XCTAssertTrue(
      run.stdout.contains("allowed by backend/allow-api-to-db ingress[0] from[0] ports[0]"),
      run.stdout)
  }

  /// Dual-stack pods: an IPv6 address makes it IPv6 traffic, matched by the
  /// IPv6 ipBlock (and its except) and the pods' IPv6 addresses.
  func testIPv6AddressesUseTheIPv6Blocks() throws {
    let input = "inputs/dual-stack"
    try AnalysisGolden.check(
      "explain-ipv6-block",
      ["explain", "--from", "2001:db8:2::5", "--to", "shop/web", "--port", "8080", input], status: 0)
    try AnalysisGolden.check(
      "explain-ipv6-except",
      ["explain", "--from", "2001:db8:1::5", "--to", "shop/web", "--port", "8080", input], status: 1)
    try AnalysisGolden.check(
      "explain-ipv6-pods",
      ["explain", "--family", "ipv6", "--from", "shop/v6only", "--to", "shop/web", "--port", "8080", input],
      status: 0)
    try AnalysisGolden.check(
      "matrix-ipv6",
      ["matrix", "--family", "ipv6", "--port", "8080/TCP", "--endpoint", "2001:db8:2::5", input], status: 0)
  }
}
