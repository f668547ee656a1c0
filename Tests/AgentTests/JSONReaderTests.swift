import Foundation
import Testing
import YAMLBridge

@testable import KubeClient

@Suite struct JSONReaderTests {
  /// The node libyaml builds, or nil when it reports an error.
  static func libyaml(_ text: String, pruning: Pruning? = nil) -> YAMLNode? {
    let stream = YAMLParser.parse(Array(text.utf8), pruning: pruning)
    return stream.errors.isEmpty ? stream.documents.first?.root : nil
  }

  static func reader(_ text: String, pruning: Pruning? = nil) -> YAMLNode? {
    Array(text.utf8).withUnsafeBufferPointer { JSONReader.parse($0, pruning: pruning) }
  }

  /// Same shape, scalars, styles, tags and start marks.
  static func same(_ a: YAMLNode, _ b: YAMLNode, at path: String = "$") -> String? {
    if a.tag != b.tag { return "\(path): tag \(a.tag ?? "nil") != \(b.tag ?? "nil")" }
    if a.start != b.start { return "\(path): start \(a.start) != \(b.start)" }
    switch (a.content, b.content) {
    case (.scalar(let x, let s), .scalar(let y, let t)):
      return x == y && s == t ? nil : "\(path): scalar \(x) \(s) != \(y) \(t)"
    case (.sequence(let x), .sequence(let y)):
      guard x.count == y.count else { return "\(path): \(x.count) items != \(y.count)" }
      for (i, (p, q)) in zip(x, y).enumerated() { if let d = same(p, q, at: "\(path)[\(i)]") { return d } }
      return nil
    case (.mapping(let x), .mapping(let y)):
      guard x.count == y.count else { return "\(path): \(x.count) pairs != \(y.count)" }
      for (p, q) in zip(x, y) {
        if let d = same(p.key, q.key, at: "\(path).key")
          ?? same(p.value, q.value, at: "\(path).\(p.key.scalarText ?? "?")")
        {
          return d
        }
      }
      return nil
    default: return "\(path): different kinds"
    }
  }

  static let documents = [
    #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"12","continue":"eyJ2Ijo=="},"items":[]}"#,
    #"{"a":1,"b":-0.5e+3,"c":true,"d":false,"e":null,"f":"","g":[],"h":{},"i":[1,[2,{"j":"k"}]]}"#,
    #"{"s":"tab\tnl\nquote\"back\\slash\u003c\u00e9\u4e2d","u":"é中 ok","e":"\b\f\r"}"#,
    "{\n  \"pretty\": [\n    1,\n    \"two\"\n  ],\n  \"x\": {\"y\": \"é\"}\n}",
    #"{"<<":{"a":1},"b":2}"#,
    #"[{"kind":"Pod","metadata":{"name":"a","managedFields":[{"f":{"g":[1,2]}}],"labels":{"app":"x"}}}]"#,
  ]

  @Test func readsJSONAsLibyamlDoes() throws {
    for text in Self.documents {
      let expected = try #require(Self.libyaml(text), "libyaml refuses \(text)")
      let got = try #require(Self.reader(text), "the reader gives up on \(text)")
      #expect(Self.same(expected, got) == nil, "\(text)")
    }
  }

  @Test func prunesAsLibyamlDoes() throws {
    let pruning = Pruning(maxDepth: 2) { kind, path, key in
      kind == "Pod" && path.first == "metadata" && (key == "managedFields" || key == "annotations")
    }
    for text in Self.documents {
      let expected = try #require(Self.libyaml(text, pruning: pruning))
      let got = try #require(Self.reader(text, pruning: pruning))
      #expect(Self.same(expected, got) == nil, "\(text)")
    }
    let pod = try #require(Self.reader(Self.documents.last!, pruning: pruning))
    #expect(pod.sequenceItems?[0]["metadata"]?["managedFields"]?.scalarText == "")
  }

  /// Whatever is not plain JSON is left to libyaml, whose answer stands.
  @Test func givesUpOnWhatIsNotStrictJSON() {
    for text in [
      "", "{", "{\"a\":1", "{\"a\" 1}", "{\"a\":1,}", "[1,]", "{a:1}", "{\"a\":01}", "{\"a\":1x}", "{\"a\":tru}",
      "{\"a\":1} x", "{\"a\":\"\\/\"}", "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\q\"}", "{\"a\":1,\"a\":2}",
      "{\"a\":\"\u{7f}\"}", "{\"a\":\"\u{85}x\u{9f}\"}", "\t{\"a\":1}", "{\"a\":\r1}", "'a'", "a: 1",
      "{\"a\":[\"unterminated]}",
    ] {
      #expect(Self.reader(text) == nil, "\(text)")
    }
    // A broken subtree fails even when it is pruned: libyaml would refuse the page.
    let pruning = Pruning(maxDepth: 1) { _, _, key in key == "skip" }
    #expect(Self.reader(#"{"kind":"X","skip":{"a":[1,}}"#, pruning: pruning) == nil)
    #expect(Self.reader(#"{"kind":"X","skip":{"a":[1,{"b":"c"}]}}"#, pruning: pruning) != nil)
  }

  @Test func deepNestingIsLeftToLibyaml() {
    let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
    #expect(Self.reader(deep) == nil)
    let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
    #expect(Self.reader(fine) != nil)
  }

  @Test func listPagesFallBackToLibyamlForItsMessages() {
    #expect(throws: WatchDecodeError.self) { try ListPage.decode(Array("{\"a\":1,\"a\":2}".utf8)) }
    #expect(throws: WatchDecodeError.self) { try ListPage.decode(Array("{".utf8)) }
  }
}
