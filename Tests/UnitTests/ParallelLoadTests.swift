import Foundation
import PolicyModel
import XCTest
import YAMLBridge

/// Large inputs are cut into pieces and parsed on several threads; the
/// result must be the one-thread result, to the diagnostic.
final class ParallelLoadTests: XCTestCase {
  /// Enough pods to pass the 64 KiB threshold, with one invalid port late
  /// in the file so diagnostics must carry file lines, not piece lines.
  static let pods = (0..<400).map { i in
    Manifest.pod(
      "ns\(i % 7)", "pod-\(i)", labels: ["app": "a\(i % 5)"], ip: "10.1.\(i / 250).\(i % 250 + 1)",
      ports: [.init(8000 + i, "http")])
  }
  static let broken = Manifest.policy(
    "ns1", "broken", "podSelector: {}\ningress:\n- ports: [{port: 0}]")
  static let fine = Manifest.policy(
    "ns2", "fine", "podSelector: {}\ningress:\n- from: [{podSelector: {}}]")

  func summary(_ inventory: Inventory) -> [String] {
    inventory.pods.map {
      "pod \($0.meta.namespace)/\($0.meta.name) \($0.meta.location.line):\($0.meta.location.column) \($0.ports.map(\.number))"
    }
      + inventory.policies.map {
        "policy \($0.meta.namespace)/\($0.meta.name) \($0.meta.location.line)"
      }
      + inventory.diagnostics.map(\.formatted) + ["documents \(inventory.documentCount)"]
  }

  func assertSameOnOneAndManyThreads(
    _ text: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertGreaterThan(text.utf8.count, 1 << 16, "big enough to be cut", file: file, line: line)
    let one = Load.inventory([("big.yaml", text)], options: LoadOptions(jobs: 1))
    let many = Load.inventory([("big.yaml", text)], options: LoadOptions(jobs: 4))
    XCTAssertEqual(one.pods.count, 400, file: file, line: line)
    let (expected, found) = (summary(one), summary(many))
    let missing = expected.filter { !found.contains($0) }
    let extra = found.filter { !expected.contains($0) }
    XCTAssertTrue(
      expected == found, "many threads lost \(missing), added \(extra)", file: file, line: line)
  }

  func testMultiDocumentStream() {
    assertSameOnOneAndManyThreads(Manifest.stream(Self.pods + [Self.broken, Self.fine]))
  }

  /// A YAML problem in one piece sends the whole file through one parser.
  func testMultiDocumentStreamWithADuplicateKey() {
    let duplicate = Manifest.namespace("dup") + "metadata:\n  name: again\n"
    assertSameOnOneAndManyThreads(Manifest.stream(Self.pods + [duplicate, Self.fine]))
  }

  func testMultiDocumentStreamWithoutLeadingMarker() {
    assertSameOnOneAndManyThreads(
      Manifest.stream(Self.pods + [Self.broken, Self.fine]).dropFirst(4).description)
  }

  /// `kubectl get -o yaml` prints `apiVersion`, `items` (each `- ` at column
  /// 0), then `kind: List`.
  static func list(_ documents: [String]) -> String {
    "apiVersion: v1\nitems:\n"
      + documents.map { doc in
        doc.split(separator: "\n").enumerated().map {
          $0.offset == 0 ? "- \($0.element)" : "  \($0.element)"
        }.joined(separator: "\n") + "\n"
      }.joined() + "kind: List\nmetadata:\n  resourceVersion: \"\"\n"
  }

  func testKubectlList() {
    assertSameOnOneAndManyThreads(Self.list(Self.pods + [Self.broken, Self.fine]))
  }

  /// `kubectl get -o json`: four-space indentation, each item's `{` alone
  /// on its line at eight spaces.
  static func jsonList(_ items: [String]) -> String {
    "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n" + items.joined(separator: ",\n")
      + "\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n"
  }

  static func jsonObject(_ lines: [String]) -> String {
    (["        {"] + lines.map { "            " + $0 } + ["        }"]).joined(separator: "\n")
  }

  static let jsonPods = (0..<400).map { i in
    jsonObject([
      #""apiVersion": "v1","#, #""kind": "Pod","#,
      #""metadata": {"labels": {"app": "a\#(i % 5)"}, "name": "pod-\#(i)", "namespace": "ns\#(i % 7)"},"#,
      #""spec": {"containers": [{"name": "c", "ports": [{"containerPort": \#(8000 + i), "name": "http"}]}]},"#,
      #""status": {"podIP": "10.1.\#(i / 250).\#(i % 250 + 1)"}"#,
    ])
  }

  static let jsonPolicies = [
    jsonObject([
      #""apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy","#,
      #""metadata": {"name": "broken", "namespace": "ns1"},"#,
      #""spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 0}]}]}"#,
    ]),
    jsonObject([
      #""apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy","#,
      #""metadata": {"name": "fine", "namespace": "ns2"},"#,
      #""spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}"#,
    ]),
  ]

  /// The JSON form is cut at its items too, and reads as the whole file does,
  /// to the line and column of every diagnostic.
  func testKubectlJSONList() {
    let text = Self.jsonList(Self.jsonPods + Self.jsonPolicies)
    let split = Array(text.utf8).withUnsafeBufferPointer { Chunker.split($0, pieces: 4) }
    XCTAssertEqual(split?.pieces.count, 4)
    XCTAssertTrue(split?.pieces.allSatisfy { $0.isListItems && $0.bracket != nil } ?? false)
    assertSameOnOneAndManyThreads(text)
    let many = Load.inventory([("big.json", text)], options: LoadOptions(jobs: 4))
    XCTAssertEqual(many.policies.map(\.meta.name), ["fine"])
    XCTAssertEqual(many.errors.count, 1)
  }

  /// JSON whose items do not stand on their own lines is read whole.
  func testCompactJSONIsReadWhole() {
    let text = Self.jsonList(Self.jsonPods + Self.jsonPolicies).split(separator: "\n").map {
      $0.drop { $0 == " " }
    }.joined()
    XCTAssertNil(Array(text.utf8).withUnsafeBufferPointer { Chunker.split($0, pieces: 4) })
    assertSameOnOneAndManyThreads(text)
  }

  /// Two Lists in one file: the second one's items are objects too.
  func testSecondListInTheSameFile() {
    let first =
      "apiVersion: v1\nkind: List\nitems:\n"
      + Self.pods.map { doc in
        doc.split(separator: "\n").enumerated().map {
          $0.offset == 0 ? "- \($0.element)" : "  \($0.element)"
        }.joined(separator: "\n") + "\n"
      }.joined()
    let second =
      "---\napiVersion: v1\nkind: List\nitems:\n- "
      + Self.fine.split(separator: "\n").joined(separator: "\n  ") + "\n"
    assertSameOnOneAndManyThreads(first + second)
    let many = Load.inventory([("big.yaml", first + second)], options: LoadOptions(jobs: 4))
    XCTAssertEqual(many.policies.map(\.meta.name), ["fine"])
  }

  /// Every input the fuzzer found where the threads disagreed
  /// (Fuzz/regressions), padded past the 64 KiB threshold as the fuzz
  /// target pads it: one and two threads must read the same.
  func testFuzzRegressions() throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Fuzz/regressions").standardized
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    XCTAssertGreaterThanOrEqual(names.count, 4, "the regressions are where the test looks")
    for name in names {
      var bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
      bytes += Array("\n#".utf8) + [UInt8](repeating: 0x78, count: max(0, (1 << 16) + 1 - bytes.count)) + [0x0a]
      let source = InputSource(path: name, bytes: bytes)
      let one = Loader.load([source], options: LoadOptions(jobs: 1))
      let two = Loader.load([source], options: LoadOptions(jobs: 2))
      XCTAssertEqual(regressionSummary(one), regressionSummary(two), name)
      // As compile reads it: decoding from events is the tree, field by field.
      var tree = LoadOptions(jobs: 1, pruning: LoadOptions.compilePruning)
      let expected = EventDecodingTests.summary(Loader.load([source], options: tree))
      tree.eventDecoding = true
      XCTAssertEqual(EventDecodingTests.summary(Loader.load([source], options: tree)), expected, name)
    }
  }

  func regressionSummary(_ inventory: Inventory) -> [String] {
    ["documents \(inventory.documentCount)"] + inventory.diagnostics.map(\.formatted)
      + inventory.namespaces.map { "ns \($0.name)" }
      + inventory.pods.map { "pod \($0.meta.namespace)/\($0.meta.name) \($0.meta.location.line)" }
      + inventory.policies.map { "netpol \($0.meta.namespace)/\($0.meta.name) \($0.meta.location.line)" }
      + inventory.skipped.map { "skipped \($0.kind) \($0.location.line):\($0.location.column)" }
  }
}
