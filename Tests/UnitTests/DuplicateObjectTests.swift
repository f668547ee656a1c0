import XCTest
import YAMLBridge

@testable import PolicyModel

/// The loader finds objects defined twice by comparing `namespace/name`
/// keys; `sameName` answers that without building the keys.
final class DuplicateObjectTests: XCTestCase {
  static func meta(_ namespace: String, _ name: String) -> ObjectMeta {
    ObjectMeta(name: name, namespace: namespace, location: SourceLocation(file: "f", mark: Mark(line: 1, column: 1)))
  }

  func testSameNameIsEqualKeys() {
    let pairs: [((String, String), (String, String))] = [
      (("a", "b"), ("a", "b")), (("a", "b"), ("a", "c")), (("a", "b"), ("c", "b")),
      // Invalid names (reported, but kept) may hold the separator: the keys decide.
      (("a/b", "c"), ("a", "b/c")), (("a/b", "c"), ("a", "b/d")), (("a", "/"), ("a/", "")),
      // Canonically equal text is equal, as String equality has it.
      (("ns", "caf\u{e9}"), ("ns", "cafe\u{301}")), (("n\u{e9}", "x"), ("ne\u{301}", "x")),
      (("", ""), ("", "")), (("", "a"), ("a", "")),
    ]
    var equal = 0
    for ((ns1, n1), (ns2, n2)) in pairs {
      let want = "\(ns1)/\(n1)" == "\(ns2)/\(n2)"
      if want { equal += 1 }
      XCTAssertEqual(Loader.sameName(Self.meta(ns1, n1), Self.meta(ns2, n2)), want, "\(ns1)/\(n1) \(ns2)/\(n2)")
      XCTAssertEqual(Loader.sameName(Self.meta(ns2, n2), Self.meta(ns1, n1)), want, "\(ns2)/\(n2) \(ns1)/\(n1)")
    }
    XCTAssertEqual(equal, 6)
  }

  func testAPodDefinedTwiceIsReportedOnce() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n"
    let inventory = Loader.load([InputSource(path: "a.yaml", bytes: Array((pod + "---\n" + pod).utf8))])
    XCTAssertEqual(inventory.pods.count, 1)
    XCTAssertEqual(inventory.diagnostics.map(\.message), ["pod shop/web is defined twice (first at a.yaml:1:1)"])
  }
}
