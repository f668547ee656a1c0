import PolicyModel
import XCTest
import YAMLBridge

/// Limits, broken text and odd encodings: each ends in an error with a
/// mark (or a clean parse), never a crash or a hang.
final class YAMLHostileInputTests: XCTestCase {
  func parse(_ bytes: [UInt8], limits: YAMLLimits = .default) -> YAMLStream {
    YAMLParser.parse(bytes, limits: limits)
  }
  func parse(_ text: String, limits: YAMLLimits = .default) -> YAMLStream {
    parse(Array(text.utf8), limits: limits)
  }

  static let billionLaughs: String = {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
    var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    for i in 1..<names.count {
      text +=
        "\(names[i]): &\(names[i]) ["
        + Array(repeating: "*\(names[i - 1])", count: 9).joined(separator: ",") + "]\n"
    }
    return text
  }()

  func testAliasBombStopsWithAliasLimitQuickly() {
    let clock = ContinuousClock()
    var stream: YAMLStream?
    let elapsed = clock.measure { stream = parse(Self.billionLaughs) }
    XCTAssertEqual(stream?.errors.map(\.kind), [.aliasLimit])
    XCTAssertEqual(stream?.errors.last?.isFatal, true)
    XCTAssertLessThan(elapsed, .seconds(2))
  }

  func testAliasLimitCountsExpandedNodes() {
    // Each alias of a three-item list adds four nodes.
    let stream = parse("a: &a [1, 2, 3]\nb: *a\nc: *a\n", limits: YAMLLimits(maxAliasNodes: 5))
    XCTAssertEqual(stream.errors.map(\.kind), [.aliasLimit])
    XCTAssertEqual(stream.errors.first?.mark, Mark(line: 3, column: 4))
  }

  func testDeepNestingStopsWithDepthLimit() {
    for (label, text) in [
      ("flow sequences", String(repeating: "[", count: 100_000)),
      ("flow mappings", String(repeating: "{a: ", count: 100_000)),
    ] {
      let stream = parse(text)
      XCTAssertEqual(stream.errors.map(\.kind), [.depthLimit], label)
      XCTAssertEqual(stream.errors.first?.mark.line, 1, label)
    }
    let errors = parse(String(repeating: "[", count: 600)).errors
    XCTAssertEqual(errors.first?.mark, Mark(line: 1, column: 513), "the 513th '[' is one too deep")
  }

  func testScalarAndNodeLimits() {
    XCTAssertEqual(
      parse("a: 123456789\n", limits: YAMLLimits(maxScalarBytes: 8)).errors.map(\.kind),
      [.scalarLimit])
    XCTAssertEqual(
      parse("[1, 2, 3, 4, 5, 6]\n", limits: YAMLLimits(maxNodes: 5)).errors.map(\.kind),
      [.nodeLimit])
  }

  func testSyntaxErrorsCarryLibyamlsProblemAndAMark() {
    let cases: [(String, String, String)] = [
      ("unterminated flow sequence", "a: [1, 2\n", "did not find expected ',' or ']'"),
      ("tab indentation", "a:\n\tb: 1\n", "found character that cannot start any token"),
      ("unterminated quote", "a: \"web\n", "found unexpected end of stream"),
      ("bad indentation", "a:\n  b: 1\n c: 2\n", "did not find expected key"),
    ]
    for (label, text, problem) in cases {
      let errors = parse(text).errors
      XCTAssertEqual(errors.map(\.kind), [.syntax], label)
      guard let error = errors.first else { continue }
      XCTAssertTrue(error.message.contains(problem), "\(label): \(error.message)")
      XCTAssertTrue(error.isFatal, label)
      XCTAssertGreaterThanOrEqual(error.mark.line, 1, label)
      XCTAssertGreaterThanOrEqual(error.mark.column, 1, label)
    }
  }

  func testSyntaxErrorNamesWhereTheConstructStarted() throws {
    let error = try XCTUnwrap(parse("a: [1, 2\n").errors.first)
    XCTAssertTrue(
      error.message.hasSuffix("while parsing a flow sequence started at 1:4"), error.message)
  }

  func testDocumentsBeforeASyntaxErrorAreKept() {
    let stream = parse("a: 1\n---\nb: [\n")
    XCTAssertEqual(stream.documents.count, 1)
    XCTAssertEqual(stream.errors.map(\.kind), [.syntax])
  }

  func testNearlyEmptyInputs() {
    for (label, text) in [
      ("empty", ""), ("only comments", "# one\n# two\n"), ("only blank lines", "\n\n\n"),
    ] {
      let stream = parse(text)
      XCTAssertEqual(stream.errors, [], label)
      XCTAssertEqual(stream.documents.count, 0, label)
    }
    let marker = parse("---\n")
    XCTAssertEqual(marker.errors, [])
    XCTAssertEqual(marker.documents.count, 1)
    XCTAssertEqual(
      marker.documents.first?.root?.resolved ?? .null, .null, "an empty document holds nothing")
  }

  func testCRLFLineEndings() throws {
    let stream = parse("a: 1\r\nb: two\r\n")
    XCTAssertEqual(stream.errors, [])
    let root = try XCTUnwrap(stream.documents.first?.root)
    XCTAssertEqual(root["b"]?.resolved, .string("two"))
    XCTAssertEqual(root["b"]?.start, Mark(line: 2, column: 4))
  }

  func testUTF16WithByteOrderMark() throws {
    let text = "a: b\nc: é\n"
    let little: [UInt8] = [0xff, 0xfe] + text.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
    let big: [UInt8] = [0xfe, 0xff] + text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    for (label, bytes) in [
      ("UTF-16LE", little), ("UTF-16BE", big),
      ("UTF-8 BOM", [0xef, 0xbb, 0xbf] + Array(text.utf8)),
    ] {
      let stream = parse(bytes)
      XCTAssertEqual(stream.errors, [], label)
      let root = try XCTUnwrap(stream.documents.first?.root, label)
      XCTAssertEqual(root["a"]?.resolved, .string("b"), label)
      XCTAssertEqual(root["c"]?.resolved, .string("é"), label)
      XCTAssertEqual(root["c"]?.start.line, 2, label)
    }
  }

  func testInvalidUTF8IsAnErrorNotACrash() throws {
    let error = try XCTUnwrap(parse([0x61, 0x3a, 0x20, 0xff, 0x0a]).errors.first)
    XCTAssertEqual(error.kind, .syntax)
    XCTAssertTrue(error.message.contains("invalid leading UTF-8 octet"), error.message)
    XCTAssertTrue(error.message.contains("byte offset 3"), error.message)
  }

  func testNULByteIsAnErrorNotACrash() throws {
    let error = try XCTUnwrap(parse([0x61, 0x3a, 0x20, 0x62, 0x00, 0x63, 0x0a]).errors.first)
    XCTAssertEqual(error.kind, .syntax)
    XCTAssertTrue(error.message.contains("control characters are not allowed"), error.message)
  }

  /// The loader turns YAML problems into located diagnostics with rule ids.
  func testLoaderMapsYAMLProblemsToRuleIDs() {
    let cases: [(String, String, String)] = [
      (
        "duplicate key", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n",
        "duplicate-key at 5:3"
      ),
      ("syntax", "a: [1\n", "yaml-syntax"),
      ("undefined alias", "a: *x\n", "yaml-syntax at 1:4"),
      ("alias bomb", Self.billionLaughs, "yaml-limit"),
      ("deep nesting", String(repeating: "[", count: 10_000), "yaml-limit at 1:513"),
    ]
    for (label, text, expected) in cases {
      let inventory = Loader.load([InputSource(path: "in.yaml", bytes: Array(text.utf8))])
      let found = inventory.errors.map { d in
        expected.contains(" at ")
          ? "\(d.ruleID) at \(d.location.line):\(d.location.column)" : d.ruleID
      }
      XCTAssertEqual(found, [expected], label)
      XCTAssertEqual(inventory.errors.first?.location.file, "in.yaml", label)
    }
  }
}
