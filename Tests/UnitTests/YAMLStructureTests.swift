import XCTest
import YAMLBridge

/// Duplicate keys, merge keys and aliases: what the Kubernetes decoder sees
/// after libyaml has accepted the text.
final class YAMLStructureTests: XCTestCase {
  func parse(_ text: String) -> YAMLStream { YAMLParser.parse(Array(text.utf8)) }

  func root(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> YAMLNode {
    let stream = parse(text)
    XCTAssertEqual(stream.errors, [], file: file, line: line)
    return try XCTUnwrap(stream.documents.first?.root, file: file, line: line)
  }

  // MARK: Duplicate keys

  func testDuplicateKeyIsANonFatalErrorWithBothMarks() {
    let stream = parse("a: 1\nb: 2\na: 3\n")
    XCTAssertEqual(
      stream.errors,
      [
        YAMLError(
          kind: .duplicateKey, message: "duplicate key 'a' (first defined at 1:1)",
          mark: Mark(line: 3, column: 1),
          related: Mark(line: 1, column: 1), isFatal: false)
      ])
    XCTAssertEqual(stream.documents.count, 1, "parsing goes on after a duplicate key")
  }

  func testDuplicateKeysInFlowAndNestedMappings() {
    let flow = parse("m: {a: 1, a: 2}\n").errors
    XCTAssertEqual(flow.map(\.mark), [Mark(line: 1, column: 11)])
    XCTAssertEqual(flow.map(\.related), [Mark(line: 1, column: 5)])
    let nested = parse("x:\n  y:\n    k: 1\n    k: 2\n").errors
    XCTAssertEqual(nested.map(\.mark), [Mark(line: 4, column: 5)])
  }

  func testSameKeyInSiblingMappingsIsNoDuplicate() {
    XCTAssertEqual(parse("a: {x: 1}\nb: {x: 2}\nc:\n- x: 1\n- x: 2\n").errors, [])
  }

  /// Large mappings switch to a hash table; duplicates must still be found,
  /// of keys written before and after the switch.
  func testDuplicateKeysInLargeMappings() {
    let keys = (0..<40).map { "k\($0): \($0)\n" }.joined()
    let stream = parse(keys + "k3: again\nk30: again\n")
    XCTAssertEqual(stream.errors.map(\.kind), [.duplicateKey, .duplicateKey])
    XCTAssertEqual(stream.errors.map(\.mark.line), [41, 42])
    XCTAssertEqual(stream.errors.map(\.related?.line), [4, 31])
  }

  // MARK: Merge keys

  func testMergeKeyWithAMappingAndExplicitKeysWin() throws {
    let root = try root("base: &base {a: 1, b: 2}\nm:\n  <<: *base\n  b: 3\n")
    let m = try XCTUnwrap(root["m"])
    XCTAssertEqual(m["a"]?.resolved, .integer(1))
    XCTAssertEqual(m["b"]?.resolved, .integer(3))
    XCTAssertNil(m["<<"], "the merge key itself is gone")
    XCTAssertEqual(m.mappingPairs?.count, 2)
  }

  func testExplicitKeyWinsWhenWrittenBeforeTheMerge() throws {
    let m = try XCTUnwrap(try root("base: &base {a: 1, b: 2}\nm: {b: 3, <<: *base}\n")["m"])
    XCTAssertEqual(m["b"]?.resolved, .integer(3))
    XCTAssertEqual(m["a"]?.resolved, .integer(1))
  }

  func testMergeKeyWithAListEarlierSourcesWin() throws {
    let m = try XCTUnwrap(
      try root("x: &x {a: 1}\ny: &y {a: 2, c: 3}\nm:\n  <<: [*x, *y]\n  d: 4\n")["m"])
    XCTAssertEqual(m["a"]?.resolved, .integer(1))
    XCTAssertEqual(m["c"]?.resolved, .integer(3))
    XCTAssertEqual(m["d"]?.resolved, .integer(4))
  }

  func testQuotedMergeKeyIsAnOrdinaryKey() throws {
    let m = try root("\"<<\": {a: 1}\n")
    XCTAssertEqual(m["<<"]?["a"]?.resolved, .integer(1))
    XCTAssertNil(m["a"])
  }

  func testMergeOfAScalarIsRefused() {
    let stream = parse("m:\n  <<: 5\n")
    XCTAssertEqual(stream.errors.map(\.kind), [.invalidMerge])
    XCTAssertEqual(stream.errors.first?.mark, Mark(line: 2, column: 7))
    XCTAssertEqual(stream.errors.first?.isFatal, true)
  }

  // MARK: Anchors and aliases

  func testAliasesExpandToTheAnchoredNode() throws {
    let root = try root("sel: &sel {app: web}\na: *sel\nb: *sel\nport: &p 80\nagain: *p\n")
    XCTAssertEqual(root["a"]?["app"]?.resolved, .string("web"))
    XCTAssertEqual(root["b"]?["app"]?.resolved, .string("web"))
    XCTAssertEqual(root["again"]?.resolved, .integer(80))
  }

  func testUndefinedAliasIsFatal() {
    let stream = parse("a: *nope\n")
    XCTAssertEqual(stream.errors.map(\.kind), [.undefinedAlias])
    XCTAssertEqual(stream.errors.first?.message, "unknown anchor 'nope' referenced")
    XCTAssertEqual(stream.errors.first?.mark, Mark(line: 1, column: 4))
  }

  func testAliasInsideItsOwnAnchorIsUndefinedNotALoop() {
    XCTAssertEqual(parse("a: &a [1, *a]\n").errors.map(\.kind), [.undefinedAlias])
  }

  func testAnchorsDoNotReachIntoTheNextDocument() {
    let stream = parse("a: &x 1\n---\nb: *x\n")
    XCTAssertEqual(stream.documents.count, 1, "the first document is kept")
    XCTAssertEqual(stream.errors.map(\.kind), [.undefinedAlias])
    XCTAssertEqual(stream.errors.first?.mark, Mark(line: 3, column: 4))
  }
}
