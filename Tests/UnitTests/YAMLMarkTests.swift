import XCTest
import YAMLBridge

/// Marks are 1-based lines and columns (columns in characters), on keys,
/// values and collections alike, and count through a multi-document stream.
final class YAMLMarkTests: XCTestCase {
  static let pod = """
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      labels:
        app: "web"
    spec:
      containers:
      - name: main
        ports: [{containerPort: 80}]

    """

  func root(_ text: String, firstLine: Int = 1) throws -> YAMLNode {
    let stream = YAMLParser.parse(Array(text.utf8), firstLine: firstLine)
    XCTAssertEqual(stream.errors, [])
    return try XCTUnwrap(stream.documents.first?.root)
  }

  func testMarksOfScalarsKeysAndCollections() throws {
    let root = try root(Self.pod)
    let metadata = try XCTUnwrap(root["metadata"])
    let container = try XCTUnwrap(root["spec"]?["containers"]?.sequenceItems?.first)
    let flowList = try XCTUnwrap(container["ports"])
    let flowMap = try XCTUnwrap(flowList.sequenceItems?.first)
    let cases: [(String, YAMLNode?, Mark)] = [
      ("root mapping", root, Mark(line: 1, column: 1)),
      ("plain scalar value", root["kind"], Mark(line: 2, column: 7)),
      ("block mapping", metadata, Mark(line: 4, column: 3)),
      ("nested scalar", metadata["name"], Mark(line: 4, column: 9)),
      ("labels mapping", metadata["labels"], Mark(line: 6, column: 5)),
      ("quoted scalar starts at its quote", metadata["labels"]?["app"], Mark(line: 6, column: 10)),
      ("block sequence starts at its dash", root["spec"]?["containers"], Mark(line: 9, column: 3)),
      ("mapping in a sequence", container, Mark(line: 9, column: 5)),
      ("flow sequence", flowList, Mark(line: 10, column: 12)),
      ("flow mapping", flowMap, Mark(line: 10, column: 13)),
      ("scalar in flow mapping", flowMap["containerPort"], Mark(line: 10, column: 29)),
    ]
    for (label, node, mark) in cases {
      XCTAssertEqual(node?.start, mark, label)
    }
  }

  func testKeysKeepTheirOwnMarks() throws {
    let metadata = try XCTUnwrap(try root(Self.pod)["metadata"]?.mappingPairs)
    XCTAssertEqual(metadata.map { $0.key.scalarText }, ["name", "labels"])
    XCTAssertEqual(metadata.map(\.key.start), [Mark(line: 4, column: 3), Mark(line: 5, column: 3)])
  }

  func testEndMarkIsJustPastTheLastCharacter() throws {
    let app = try XCTUnwrap(try root(Self.pod)["metadata"]?["labels"]?["app"])
    XCTAssertEqual(
      app.span, SourceSpan(start: Mark(line: 6, column: 10), end: Mark(line: 6, column: 15)))
  }

  func testColumnsCountCharactersNotBytes() throws {
    let root = try root("{é: 1, b: 2}\n")
    let keys = try XCTUnwrap(root.mappingPairs).map(\.key.start)
    XCTAssertEqual(keys, [Mark(line: 1, column: 2), Mark(line: 1, column: 8)])
  }

  func testFirstLineShiftsEveryMark() throws {
    let root = try root("a:\n  b: 1\n", firstLine: 40)
    XCTAssertEqual(root.start, Mark(line: 40, column: 1))
    XCTAssertEqual(root["a"]?["b"]?.start, Mark(line: 41, column: 6))
  }

  func testMultiDocumentStreamCountsLinesAcrossDocumentsAndIndexesThem() throws {
    let text = "a: 1\n---\nb: 2\n---\n# nothing here\n---\nc: 3\n"
    let stream = YAMLParser.parse(Array(text.utf8))
    XCTAssertEqual(stream.errors, [])
    XCTAssertEqual(stream.documents.map(\.index), [0, 1, 2, 3])
    XCTAssertEqual(stream.documents.map(\.start.line), [1, 2, 4, 6])
    XCTAssertEqual(stream.documents[0].root?["a"]?.start, Mark(line: 1, column: 4))
    XCTAssertEqual(stream.documents[1].root?["b"]?.start, Mark(line: 3, column: 4))
    XCTAssertEqual(stream.documents[3].root?["c"]?.start, Mark(line: 7, column: 4))
    // The document holding only a comment has no content.
    XCTAssertEqual(stream.documents[2].root?.resolved ?? .null, .null)
  }

  func testMarkPrintsAsLineColonColumnAndOrdersByLineThenColumn() {
    XCTAssertEqual(Mark(line: 3, column: 14).description, "3:14")
    XCTAssertLessThan(Mark(line: 2, column: 40), Mark(line: 3, column: 1))
    XCTAssertLessThan(Mark(line: 3, column: 1), Mark(line: 3, column: 2))
  }
}
