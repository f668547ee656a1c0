import KubeClient
import Testing
import YAMLBridge

@Suite struct ListPruningTests {
  /// A Pod's managed fields are never read.
  static let item = Pruning(maxDepth: 1) { kind, path, key in
    kind == "Pod" && path.count == 1 && path.first == "metadata" && key == "managedFields"
  }
  static let pod =
    #"{"metadata":{"name":"a","namespace":"default","resourceVersion":"3","managedFields":[{"manager":"x"}],"labels":{"app":"web"}},"spec":{"nodeName":"n"}}"#

  static func list(kind: String, _ items: [String]) -> [UInt8] {
    Array(
      (#"{"kind":"\#(kind)","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":["#
        + items.joined(separator: ",") + "]}").utf8)
  }

  @Test func itemsOfAListArePrunedAsTheirKind() throws {
    let pruning = Pruning.listItems(of: "Pod", Self.item)
    let page = try ListPage.decode(Self.list(kind: "PodList", [Self.pod, Self.pod]), pruning: pruning)
    #expect(page.items.count == 2)
    for object in page.items {
      #expect(object.key == "default/a")
      #expect(object.resourceVersion == "3")
      #expect(object.node["metadata"]?["managedFields"]?.mappingPairs == nil)
      #expect(object.node["metadata"]?["managedFields"]?.sequenceItems == nil)
      #expect(object.node["metadata"]?["labels"]?["app"]?.scalarText == "web")
      #expect(object.node["spec"]?["nodeName"]?.scalarText == "n")
    }
    // Without pruning, and in a list of another kind, everything is built.
    let whole = try ListPage.decode(Self.list(kind: "PodList", [Self.pod]))
    #expect(whole.items[0].node["metadata"]?["managedFields"]?.sequenceItems?.count == 1)
    let other = try ListPage.decode(Self.list(kind: "NamespaceList", [Self.pod]), pruning: pruning)
    #expect(other.items[0].node["metadata"]?["managedFields"]?.sequenceItems?.count == 1)
  }

  @Test func watchObjectsArePrunedByTheirOwnKind() throws {
    let pruning = Pruning.listItems(of: "Pod", Self.item)
    let object = #"{"kind":"Pod","apiVersion":"v1","# + Self.pod.dropFirst()
    let line = Array(#"{"type":"MODIFIED","object":\#(object)}"#.utf8)
    guard case .modified(let pruned) = try WatchEvent.decode(line, pruning: pruning),
      case .modified(let whole) = try WatchEvent.decode(line)
    else {
      Issue.record("not MODIFIED")
      return
    }
    #expect(pruned.key == "default/a")
    #expect(pruned.node["metadata"]?["managedFields"]?.sequenceItems == nil)
    #expect(pruned.node["metadata"]?["labels"]?["app"]?.scalarText == "web")
    #expect(whole.node["metadata"]?["managedFields"]?.sequenceItems?.count == 1)
  }
}
