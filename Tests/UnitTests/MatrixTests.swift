import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

/// `policyc matrix`: probe parsing, the JSON shape, and agreement with the
/// reference verdict cell by cell.
final class MatrixTests: XCTestCase {
  func testPortProbeParsing() {
    let table: [(String, PortProbe?)] = [
      ("80", PortProbe(port: 80, proto: .tcp)), ("80/TCP", PortProbe(port: 80, proto: .tcp)),
      ("53/udp", PortProbe(port: 53, proto: .udp)), ("9/SCTP", PortProbe(port: 9, proto: .sctp)),
      ("1", PortProbe(port: 1, proto: .tcp)), ("65535/UDP", PortProbe(port: 65535, proto: .udp)),
      ("0", nil), ("65536", nil), ("-1", nil), ("", nil), ("http", nil), ("80/ICMP", nil),
      ("80/", nil), ("/TCP", nil),
      ("80/TCP/x", nil), (" 80", nil), ("80.0", nil),
    ]
    for (text, expected) in table {
      XCTAssertEqual(PortProbe(parsing: text), expected, "'\(text)'")
    }
    XCTAssertEqual(PortProbe(port: 53, proto: .udp).description, "53/UDP")
  }

  let documents = [
    Manifest.pod("b", "z", labels: ["app": "z"], ip: "10.0.1.1"),
    Manifest.pod("a", "v", labels: ["app": "v"], ip: "10.0.0.2"),
    Manifest.pod("a", "x", labels: ["app": "x"], ip: "10.0.0.1"),
    Manifest.pod("a-b", "w", labels: ["app": "x"], ip: "10.0.2.1"),
    Manifest.policy(
      "a", "only-x",
      "podSelector: {matchLabels: {app: v}}\ningress:\n- from: [{podSelector: {matchLabels: {app: x}}}]\n  ports: [{port: 80}]"
    ),
  ]

  func testJSONShape() throws {
    let cluster = Load.cluster(documents)
    let probes = [PortProbe(port: 80, proto: .tcp), PortProbe(port: 53, proto: .udp)]
    let matrix = ConnectivityMatrix.compute(
      cluster: cluster, ports: probes, addresses: [IPAddress("203.0.113.9")!])
    let json = MatrixReporter.json(matrix)
    XCTAssertTrue(json.hasPrefix("{\"allowed\":["), "keys sorted: allowed, endpoints, ports")
    XCTAssertTrue(json.hasSuffix("}\n"))
    let object = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    XCTAssertEqual(object.keys.sorted(), ["allowed", "endpoints", "ports"])
    let endpoints = try XCTUnwrap(object["endpoints"] as? [String])
    XCTAssertEqual(
      endpoints, ["a/v", "a/x", "a-b/w", "b/z", "203.0.113.9"],
      "pods by (namespace, name), then addresses as given")
    XCTAssertEqual(object["ports"] as? [String], ["80/TCP", "53/UDP"])
    let allowed = try XCTUnwrap(object["allowed"] as? [[String]])
    XCTAssertFalse(allowed.contains { $0[0] == $0[1] }, "no self pairs")
    XCTAssertTrue(allowed.contains(["a/x", "a/v", "80/TCP"]))
    XCTAssertFalse(allowed.contains(["a/x", "a/v", "53/UDP"]))
    XCTAssertFalse(allowed.contains(["a-b/w", "a/v", "80/TCP"]), "same labels, other namespace")
    XCTAssertFalse(allowed.contains(["203.0.113.9", "a/v", "80/TCP"]))
    XCTAssertTrue(allowed.contains(["a/v", "203.0.113.9", "53/UDP"]))
    let order = { (t: [String]) in
      [
        endpoints.firstIndex(of: t[0])!, endpoints.firstIndex(of: t[1])!,
        probes.map(\.description).firstIndex(of: t[2])!,
      ]
    }
    XCTAssertEqual(
      allowed.map(order), allowed.map(order).sorted { $0.lexicographicallyPrecedes($1) },
      "triples in endpoint order")
    XCTAssertEqual(
      allowed.count, 5 * 4 * 2 - 7,
      "all but a/x into a/v on 53/UDP and the three others into a/v on both ports")
  }

  func testJSONEscapesStrings() {
    XCTAssertEqual(JSON.string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"")
  }

  /// The matrix asks one pod per class; every cell must still be the
  /// reference verdict for that very pair.
  func testEveryCellIsTheReferenceVerdict() {
    let cluster = Load.cluster(
      Sample.documents + documents + [
        Manifest.pod("shop", "web-3", labels: ["app": "web"], ip: "10.0.0.13")
      ])
    let probes =
      [80, 443, 5432, 8080, 8081].map { PortProbe(port: $0, proto: .tcp) } + [
        PortProbe(port: 53, proto: .udp)
      ]
    let addresses = ["10.0.1.9", "192.168.7.1", "192.168.8.1", "8.8.8.8"].map { IPAddress($0)! }
    let matrix = ConnectivityMatrix.compute(cluster: cluster, ports: probes, addresses: addresses)
    let verdict = ReferenceVerdict(cluster: cluster)
    let endpoints =
      cluster.pods.map { Endpoint.pod(namespace: $0.meta.namespace, name: $0.meta.name) }
      + addresses.map { Endpoint.address($0) }
    XCTAssertEqual(matrix.endpoints.count, endpoints.count)
    for (i, from) in endpoints.enumerated() {
      for (j, to) in endpoints.enumerated() where i != j {
        for (p, probe) in probes.enumerated() {
          let expected = verdict.allows(from: from, to: to, port: probe.port, proto: probe.proto)
          XCTAssertEqual(
            matrix.allowed[i][j][p], expected,
            "\(matrix.endpoints[i]) -> \(matrix.endpoints[j]) \(probe)")
        }
      }
    }
  }
}
