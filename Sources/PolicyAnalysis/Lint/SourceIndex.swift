import Foundation
import PolicyModel
import YAMLBridge

/// The YAML trees of the inputs, so a finding can point at the exact field it
/// is about. The model keeps locations only where compiling needs them; lint
/// reads the same bytes through YAMLBridge once more rather than widening the
/// model for every field a rule might name. A file is parsed again only when
/// a finding lies in it or it carries a `policyc.io/ignore` annotation.
final class SourceIndex: @unchecked Sendable {
  /// One Kubernetes object as written: a document root or an item of a List.
  struct Object: Sendable {
    var file: String
    var node: YAMLNode
    var kind: String?
    var ref: ObjectRef?
    var annotations: [String: String]
    var helmSource: String?
  }

  let files: [String]
  private let bytes: [String: [UInt8]]
  private let options: LoadOptions
  private let lock = NSLock()
  /// Per file, objects sorted by where they start (a List before its items).
  private var parsed: [String: [Object]] = [:]

  static let clusterScoped: Set<String> = [
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass", "APIService", "CSIDriver",
    "VolumeAttachment",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
  ]

  init(sources: [InputSource], options: LoadOptions) {
    files = sources.map(\.path)
    var bytes: [String: [UInt8]] = [:]
    for source in sources where bytes[source.path] == nil { bytes[source.path] = source.bytes }
    self.bytes = bytes
    self.options = options
  }

  /// The objects of one file, parsed on first use.
  func objects(in file: String) -> [Object] {
    lock.lock()
    defer { lock.unlock() }
    if let done = parsed[file] { return done }
    let list = parse(file)
    parsed[file] = list
    return list
  }

  /// Objects that carry `annotation`, from the files whose text mentions it.
  func objects(annotatedWith annotation: String) -> [Object] {
    files.filter { mentions($0, annotation) }.flatMap { objects(in: $0) }.filter {
      $0.annotations[annotation] != nil
    }
  }

  private var mentioned: [String: Bool] = [:]

  /// Whether the text of `file` contains `text` anywhere (a cheap test
  /// before parsing a file again).
  func mentions(_ file: String, _ text: String) -> Bool {
    let key = text + "\u{0}" + file
    lock.lock()
    defer { lock.unlock() }
    if let known = mentioned[key] { return known }
    let found = Self.contains(bytes[file] ?? [], Array(text.utf8))
    mentioned[key] = found
    return found
  }

  /// Byte-string search: memchr for the first byte, memcmp for the rest.
  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard let first = needle.first else { return true }
    guard haystack.count >= needle.count else { return false }
    return haystack.withUnsafeBufferPointer { h in
      needle.withUnsafeBufferPointer { n in
        let base = h.baseAddress!
        let last = h.count - n.count
        var offset = 0
        while offset <= last {
          guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else {
            return false
          }
          let i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
          if memcmp(base + i, n.baseAddress!, n.count) == 0 { return true }
          offset = i + 1
        }
        return false
      }
    }
  }

  private func parse(_ file: String) -> [Object] {
    let source = bytes[file] ?? []
    let stream = YAMLParser.parse(source, limits: options.limits)
    let helm = Self.helmSources(source)
    var list: [Object] = []
    var previousEnd = 0
    for document in stream.documents {
      guard let root = document.root else { continue }
      // "# Source: chart/templates/x.yaml" stands between the previous
      // document and this one.
      let template = helm.last { $0.line >= previousEnd && $0.line < root.start.line }?.name
      previousEnd = root.span.end.line
      add(root, file: file, helmSource: template, namespace: options.defaultNamespace, into: &list)
    }
    return list
  }

  private func add(
    _ node: YAMLNode, file: String, helmSource: String?, namespace: String,
    into list: inout [Object]
  ) {
    guard node.mappingPairs != nil else { return }
    let kind = node["kind"]?.scalarText
    let metadata = node["metadata"]
    var ref: ObjectRef?
    if let kind, let name = metadata?["name"]?.scalarText {
      let written = metadata?["namespace"]?.scalarText
      ref = ObjectRef(
        kind: kind, namespace: Self.clusterScoped.contains(kind) ? nil : written ?? namespace,
        name: name)
    }
    var annotations: [String: String] = [:]
    for pair in metadata?["annotations"]?.mappingPairs ?? [] {
      if let key = pair.key.scalarText, let value = pair.value.scalarText {
        annotations[key] = value
      }
    }
    list.append(
      Object(
        file: file, node: node, kind: kind, ref: ref, annotations: annotations,
        helmSource: helmSource))
    if let kind, kind.hasSuffix("List"), let items = node["items"]?.sequenceItems {
      for item in items {
        add(item, file: file, helmSource: helmSource, namespace: namespace, into: &list)
      }
    }
  }

  /// Lines `# Source: NAME` that `helm template` writes before each document.
  static func helmSources(_ bytes: [UInt8]) -> [(line: Int, name: String)] {
    let prefix = Array("# Source: ".utf8)
    var out: [(Int, String)] = []
    var line = 1
    var start = 0
    for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
      var end = i
      if end > start, bytes[end - 1] == 0x0D { end -= 1 }
      if end - start > prefix.count, Array(bytes[start..<start + prefix.count]) == prefix {
        out.append((line, String(decoding: bytes[start + prefix.count..<end], as: UTF8.self)))
      }
      line += 1
      start = i + 1
    }
    return out
  }

  /// The innermost object whose text holds `mark`.
  func object(in file: String, containing mark: Mark) -> Object? {
    let list = objects(in: file)
    // Objects are sorted by start; a List comes before its items, so the
    // innermost container is the last one starting at or before `mark`
    // that still reaches it.
    var i = Self.upperBound(list, mark) - 1
    while i >= 0 {
      let span = list[i].node.span
      if mark < span.end || mark == span.start { return list[i] }
      i -= 1
    }
    return nil
  }

  /// The object that starts exactly at `location` (where the model's objects start).
  func object(at location: SourceLocation) -> Object? {
    let list = objects(in: location.file)
    let i = Self.upperBound(list, location.span.start) - 1
    return i >= 0 && list[i].node.span.start == location.span.start ? list[i] : nil
  }

  /// The index of the first object starting after `mark`.
  static func upperBound(_ list: [Object], _ mark: Mark) -> Int {
    var low = 0
    var high = list.count
    while low < high {
      let mid = (low + high) / 2
      if list[mid].node.span.start <= mark { low = mid + 1 } else { high = mid }
    }
    return low
  }

  /// The node at `path` below `object`, with its key when it is a mapping
  /// value; when part of the path is missing, the deepest node found.
  func node(_ object: Object, path: String) -> (key: YAMLNode?, value: YAMLNode) {
    var current = object.node
    var key: YAMLNode?
    for component in Self.components(path) {
      switch component {
      case .key(let name):
        guard let pair = current.mappingPairs?.first(where: { $0.key.scalarText == name }) else {
          return (key, current)
        }
        key = pair.key
        current = pair.value
      case .index(let i):
        guard let items = current.sequenceItems, items.indices.contains(i) else {
          return (key, current)
        }
        key = nil
        current = items[i]
      }
    }
    return (key, current)
  }
}
