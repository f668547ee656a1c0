import PolicyAnalysis
import PolicyModel
import TestSupport
import XCTest

final class PortSetTests: XCTestCase {
  typealias P = PortSet

  func set(_ parts: (NetProtocol, ClosedRange<Int>)...) -> PortSet {
    parts.reduce(PortSet.none) { $0.union(PortSet($1.0, $1.1)) }
  }

  func testCanonicalDescription() {
    let cases: [(PortSet, String)] = [
      (.none, "none"),
      (.all, "all"),
      (set((.tcp, 80...80)), "TCP 80"),
      (set((.tcp, 8080...8090), (.udp, 53...53), (.tcp, 80...80)), "TCP 80,8080-8090; UDP 53"),
      (set((.udp, 53...53), (.sctp, 9...9), (.tcp, 443...443)), "SCTP 9; TCP 443; UDP 53"),
      (set((.tcp, P.full)), "TCP all"),
      (set((.tcp, P.full), (.udp, 53...53)), "TCP all; UDP 53"),
      (set((.tcp, 1...65534)), "TCP 1-65534"),
      // Adjacent and overlapping ranges merge, whatever the order written.
      (set((.tcp, 81...90), (.tcp, 80...80), (.tcp, 91...100)), "TCP 80-100"),
      (set((.tcp, 100...200), (.tcp, 150...160), (.tcp, 50...120)), "TCP 50-200"),
      (set((.tcp, 10...20), (.tcp, 22...30)), "TCP 10-20,22-30"),
      (set((.tcp, P.full), (.udp, P.full), (.sctp, P.full)), "all"),
    ]
    for (portSet, text) in cases { XCTAssertEqual(portSet.description, text) }
  }

  func testEqualSetsCompareEqualHoweverWritten() {
    let a = set((.tcp, 80...80), (.tcp, 81...81), (.udp, 53...53))
    let b = set((.udp, 53...53), (.tcp, 80...81))
    XCTAssertEqual(a, b)
    XCTAssertEqual(a.hashValue, b.hashValue)
    XCTAssertEqual(set((.tcp, P.full), (.udp, P.full), (.sctp, P.full)), .all)
    XCTAssertNotEqual(set((.tcp, P.full), (.udp, P.full)), .all)
  }

  func testUnion() {
    let web = set((.tcp, 80...80), (.tcp, 443...443))
    let dns = set((.udp, 53...53), (.tcp, 53...53))
    XCTAssertEqual(web.union(dns).description, "TCP 53,80,443; UDP 53")
    XCTAssertEqual(web.union(dns), dns.union(web))
    XCTAssertEqual(web.union(.none), web)
    XCTAssertEqual(PortSet.none.union(web), web)
    XCTAssertEqual(web.union(.all), .all)
    XCTAssertEqual(web.union(web), web)
  }

  func testIntersection() {
    let cases: [(PortSet, PortSet, String)] = [
      (set((.tcp, 1...100), (.tcp, 200...300)), set((.tcp, 50...250)), "TCP 50-100,200-250"),
      (set((.tcp, 1...10), (.tcp, 20...30)), set((.tcp, 5...25)), "TCP 5-10,20-25"),
      (set((.tcp, 80...80)), set((.udp, 80...80)), "none"),
      (set((.tcp, 80...80)), set((.tcp, 81...90)), "none"),
      (set((.tcp, 10...20)), set((.tcp, 20...30)), "TCP 20"),
      (
        set((.tcp, 1...5), (.tcp, 7...9), (.tcp, 11...13)), set((.tcp, 2...12)), "TCP 2-5,7-9,11-12"
      ),
      (
        set((.tcp, 2...12)), set((.tcp, 1...5), (.tcp, 7...9), (.tcp, 11...13)), "TCP 2-5,7-9,11-12"
      ),
      (.all, set((.sctp, 9...9), (.udp, 53...53)), "SCTP 9; UDP 53"),
      (set((.tcp, 8080...8090), (.udp, 53...53)), .all, "TCP 8080-8090; UDP 53"),
      (.all, .all, "all"),
      (.all, .none, "none"),
      (.none, .none, "none"),
    ]
    for (a, b, text) in cases {
      XCTAssertEqual(a.intersection(b).description, text, "\(a) ∩ \(b)")
      XCTAssertEqual(a.intersection(b), b.intersection(a), "\(a) ∩ \(b) commutes")
    }
  }

  func testEmptinessAndMembership() {
    XCTAssertTrue(PortSet.none.isEmpty)
    XCTAssertFalse(PortSet.all.isEmpty)
    XCTAssertTrue(set((.tcp, 80...80)).intersection(set((.tcp, 81...81))).isEmpty)
    let s = set((.tcp, 8080...8090), (.udp, 53...53))
    XCTAssertTrue(s.contains(8080, .tcp))
    XCTAssertTrue(s.contains(8090, .tcp))
    XCTAssertFalse(s.contains(8091, .tcp))
    XCTAssertFalse(s.contains(53, .tcp))
    XCTAssertTrue(s.contains(53, .udp))
    XCTAssertFalse(s.contains(53, .sctp))
    for proto in NetProtocol.allCases {
      XCTAssertTrue(PortSet.all.contains(1, proto))
      XCTAssertTrue(PortSet.all.contains(65535, proto))
      XCTAssertFalse(PortSet.none.contains(1, proto))
    }
  }

  /// Union and intersection agree with plain sets of ports (small universe).
  func testAgreesWithPlainSets() {
    var g = SeededGenerator(seed: 5)
    func random() -> (PortSet, Set<Int>) {
      var portSet = PortSet.none
      var plain = Set<Int>()
      for _ in 0..<Int.random(in: 0...4, using: &g) {
        let low = Int.random(in: 1...40, using: &g)
        let high = min(40, low + Int.random(in: 0...6, using: &g))
        portSet = portSet.union(PortSet(.tcp, low...high))
        plain.formUnion(low...high)
      }
      return (portSet, plain)
    }
    for _ in 0..<500 {
      let (a, pa) = random()
      let (b, pb) = random()
      for port in 1...41 {
        XCTAssertEqual(a.union(b).contains(port, .tcp), pa.union(pb).contains(port))
        XCTAssertEqual(a.intersection(b).contains(port, .tcp), pa.intersection(pb).contains(port))
      }
      // Canonical: the same plain set always gives the same value.
      XCTAssertEqual(a.union(b), b.union(a))
      XCTAssertEqual(a.union(b).isEmpty, pa.union(pb).isEmpty)
    }
  }
}
