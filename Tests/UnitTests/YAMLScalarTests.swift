import XCTest

@testable import YAMLBridge

/// Scalars resolve as the Kubernetes decoder (go-yaml v2, YAML 1.1) types
/// them: the style and the tag decide before the text does.
final class YAMLScalarTests: XCTestCase {
  /// The value of `v` in the one-line document `v: <text>`.
  func value(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> YAMLNode? {
    let stream = YAMLParser.parse(Array("v: \(text)\n".utf8))
    XCTAssertEqual(stream.errors, [], text, file: file, line: line)
    return stream.documents.first?.root?["v"]
  }

  /// `letterWords` (which the event decoder compares keys against) is
  /// exactly the plain words starting with a letter that do not resolve to
  /// a string: every spelling in every case of the null and boolean words,
  /// and near misses.
  func testLetterWordsAreThePlainWordsThatAreNotStrings() {
    func spellings(_ word: String) -> [String] {
      word.reduce([""]) { prefixes, c in prefixes.flatMap { [$0 + c.lowercased(), $0 + c.uppercased()] } }
    }
    let words = Set(ScalarResolver.letterWords.map { "\($0)" })
    let bases = ["null", "true", "false", "yes", "no", "on", "off", "y", "n", "nul", "tru", "of"]
    var candidates = bases.flatMap(spellings)
    candidates += ["nulls", "yess", "o", "t", "f", "name", "type"]
    for word in candidates {
      var notString = true
      if case .string = ScalarResolver.plain(word) { notString = false }
      XCTAssertEqual(words.contains(word), notString, word)
    }
    XCTAssertEqual(words.count, 25)
  }

  func testResolutionTable() {
    let table: [(String, ResolvedScalar)] = [
      // YAML 1.1 booleans.
      ("yes", .bool(true)), ("Yes", .bool(true)), ("YES", .bool(true)), ("no", .bool(false)),
      ("on", .bool(true)), ("off", .bool(false)), ("On", .bool(true)), ("OFF", .bool(false)),
      ("y", .bool(true)), ("n", .bool(false)), ("Y", .bool(true)), ("N", .bool(false)),
      ("true", .bool(true)), ("False", .bool(false)), ("TRUE", .bool(true)),
      // Nulls.
      ("~", .null), ("null", .null), ("Null", .null), ("NULL", .null), ("", .null),
      // Integers.
      ("0", .integer(0)), ("80", .integer(80)), ("-42", .integer(-42)), ("+7", .integer(7)),
      ("0x1F", .integer(31)), ("0o17", .integer(15)), ("017", .integer(15)), ("0b101", .integer(5)),
      ("1_000", .integer(1000)), ("9223372036854775807", .integer(Int.max)),
      ("-9223372036854775808", .integer(Int.min)),
      ("99999999999999999999", .bigInteger("99999999999999999999")),
      ("9223372036854775808", .bigInteger("9223372036854775808")),
      // Floats.
      ("1e3", .float(1000)), (".5", .float(0.5)), ("-1.5", .float(-1.5)), ("80.0", .float(80)),
      (".inf", .float(.infinity)), ("-.inf", .float(-.infinity)), ("+.Inf", .float(.infinity)),
      // Strings: quoted, tagged, or not shaped like anything else.
      ("\"80\"", .string("80")), ("'true'", .string("true")), ("\"\"", .string("")),
      ("!!str 80", .string("80")),
      ("!!str yes", .string("yes")), ("! 80", .string("80")), ("web", .string("web")),
      ("yess", .string("yess")),
      ("nULL", .string("nULL")), ("1.2.3", .string("1.2.3")), ("10.0.0.0/8", .string("10.0.0.0/8")),
      ("0x", .string("0x")), ("1e", .string("1e")), (".", .string(".")),
      ("http-8080", .string("http-8080")), ("0xZZ", .string("0xZZ")),
      // Shaped like numbers at first sight only: addresses, ranges, times.
      ("10.0.0.5", .string("10.0.0.5")), ("1.5.", .string("1.5.")), ("1_0.5", .string("1_0.5")),
      ("2024-11-27T02:41:38Z", .string("2024-11-27T02:41:38Z")), ("80:90", .string("80:90")),
      ("-0x10", .integer(-16)), ("+.5", .float(0.5)), ("1.5e-3", .float(0.0015)), ("0o", .string("0o")),
      // Explicit standard tags convert; anything else is refused.
      ("!!int \"12\"", .integer(12)), ("!!float 1", .float(1)), ("!!bool yes", .bool(true)),
      ("!!int abc", .unsupportedTag("!!int")), ("!!bool maybe", .unsupportedTag("!!bool")),
      ("!!python/object:os.system x", .unsupportedTag("!!python/object:os.system")),
      ("!custom x", .unsupportedTag("!custom")),
    ]
    for (text, expected) in table {
      XCTAssertEqual(value(text)?.resolved, expected, "v: \(text)")
    }
  }

  func testNotANumberIsAFloat() throws {
    guard case .float(let f)? = value(".nan")?.resolved else { return XCTFail("not a float") }
    XCTAssertTrue(f.isNaN)
  }

  func testStylesAreRecorded() {
    let table: [(String, ScalarStyle, String)] = [
      ("web", .plain, "web"), ("'web'", .singleQuoted, "web"), ("\"web\"", .doubleQuoted, "web"),
      ("|\n  a\n  b", .literal, "a\nb\n"), (">\n  a\n  b", .folded, "a b\n"),
    ]
    for (text, style, content) in table {
      guard case .scalar(let got, let gotStyle)? = value(text)?.content else {
        XCTFail("\(text): not a scalar")
        continue
      }
      XCTAssertEqual(gotStyle, style, text)
      XCTAssertEqual(got, content, text)
    }
  }

  func testBlockScalarsAreStringsWhateverTheirText() {
    XCTAssertEqual(value("|\n  80")?.resolved, .string("80\n"))
    XCTAssertEqual(value(">-\n  yes")?.resolved, .string("yes"))
  }

  func testTagsAreResolvedToTheirFullForm() {
    XCTAssertEqual(value("!!str 80")?.tag, "tag:yaml.org,2002:str")
    XCTAssertEqual(value("!custom x")?.tag, "!custom")
    XCTAssertEqual(value("!<tag:example.com,2000:x> y")?.tag, "tag:example.com,2000:x")
    XCTAssertEqual(value("80")?.tag, nil)
  }

  func testKindNamesForMessages() {
    let table: [(String, String)] = [
      ("yes", "boolean"), ("80", "integer"), ("99999999999999999999", "integer"), ("1.5", "number"),
      ("~", "null"), ("web", "string"), ("!custom x", "value tagged !custom"), ("[1]", "sequence"),
      ("{a: 1}", "mapping"),
    ]
    for (text, kind) in table {
      XCTAssertEqual(value(text)?.kindName, kind, text)
    }
  }

  func testCollectionsHaveNoResolvedScalar() {
    XCTAssertNil(value("[1, 2]")?.resolved)
    XCTAssertNil(value("{a: 1}")?.scalarText)
  }
}
