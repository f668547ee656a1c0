import YAMLBridge

/// One object as the API server sent it: its identity and version, and the
/// parsed node for the agent to decode.
public struct KubeObject: Sendable {
  public var node: YAMLNode
  /// `namespace/name`, or `name` for cluster-scoped kinds.
  public var key: String
  public var resourceVersion: String?

  public init(node: YAMLNode) {
    self.node = node
    let metadata = node["metadata"]
    let name = metadata?["name"]?.scalarText ?? ""
    if let namespace = metadata?["namespace"]?.scalarText, !namespace.isEmpty {
      key = namespace + "/" + name
    } else {
      key = name
    }
    resourceVersion = metadata?["resourceVersion"]?.scalarText
  }
}

/// A `metav1.Status`, as the API server returns it with an error status
/// or inside a watch ERROR event.
public struct KubeStatus: Sendable, Equatable {
  public var code: Int
  public var reason: String
  public var message: String

  public init(code: Int, reason: String = "", message: String = "") {
    self.code = code
    self.reason = reason
    self.message = message
  }

  /// The Status in `body`, or one made of the HTTP status alone.
  public static func from(body: [UInt8], httpStatus: Int) -> KubeStatus {
    let root = YAMLParser.parse(body).documents.first?.root
    return from(node: root, fallbackCode: httpStatus)
  }

  static func from(node: YAMLNode?, fallbackCode: Int) -> KubeStatus {
    let code: Int
    if case .integer(let written)? = node?["code"]?.resolved { code = written } else { code = fallbackCode }
    return KubeStatus(
      code: code, reason: node?["reason"]?.scalarText ?? "", message: node?["message"]?.scalarText ?? "")
  }
}

/// Why a watch line could not be read.
public struct WatchDecodeError: Error, Sendable, CustomStringConvertible, Equatable {
  public var message: String
  public var description: String { message }
}

/// One line of a watch body: `{"type": "...", "object": {...}}`.
public enum WatchEvent: Sendable {
  case added(KubeObject)
  case modified(KubeObject)
  case deleted(KubeObject)
  /// "the object is of the requested kind, but only its resourceVersion is set."
  case bookmark(resourceVersion: String)
  /// The object is a Status; code 410 means the version is too old: relist.
  case error(KubeStatus)

  /// `pruning` leaves out of the object what its reader never reads (see
  /// `ResourceSink.pruning(for:)`); nil builds all of it.
  public static func decode(_ line: [UInt8], pruning: Pruning? = nil) throws(WatchDecodeError) -> WatchEvent {
    guard let root = try parseJSON(line, pruning: pruning, what: "watch event"), root.mappingPairs != nil else {
      throw WatchDecodeError(message: "watch event is not an object")
    }
    guard let type = root["type"]?.scalarText else { throw WatchDecodeError(message: "watch event has no type") }
    guard let object = root["object"], object.mappingPairs != nil else {
      throw WatchDecodeError(message: "watch event \(type) has no object")
    }
    switch type {
    case "ADDED": return .added(KubeObject(node: object))
    case "MODIFIED": return .modified(KubeObject(node: object))
    case "DELETED": return .deleted(KubeObject(node: object))
    case "BOOKMARK":
      guard let version = object["metadata"]?["resourceVersion"]?.scalarText, !version.isEmpty else {
        throw WatchDecodeError(message: "BOOKMARK event without a resourceVersion")
      }
      return .bookmark(resourceVersion: version)
    case "ERROR": return .error(KubeStatus.from(node: object, fallbackCode: 500))
    default: throw WatchDecodeError(message: "unknown watch event type \"\(type)\"")
    }
  }
}

/// One page of a LIST: its items, the list's resourceVersion, and the
/// continue token of the next page (nil on the last).
public struct ListPage: Sendable {
  public var items: [KubeObject]
  public var resourceVersion: String
  public var continueToken: String?

  public static func decode(_ body: [UInt8], pruning: Pruning? = nil) throws(WatchDecodeError) -> ListPage {
    guard let root = try parseJSON(body, pruning: pruning, what: "list response"), root.mappingPairs != nil else {
      throw WatchDecodeError(message: "list response is not an object")
    }
    guard let version = root["metadata"]?["resourceVersion"]?.scalarText, !version.isEmpty else {
      throw WatchDecodeError(message: "list response has no metadata.resourceVersion")
    }
    let token = root["metadata"]?["continue"]?.scalarText
    let items = root["items"]?.sequenceItems ?? []
    return ListPage(
      items: items.map(KubeObject.init(node:)), resourceVersion: version,
      continueToken: token.flatMap { $0.isEmpty ? nil : $0 })
  }
}

/// The root of a JSON body: read by `JSONReader`, or by libyaml (whose
/// answer stands) when that reader gives up.
func parseJSON(_ bytes: [UInt8], pruning: Pruning?, what: String) throws(WatchDecodeError) -> YAMLNode? {
  if let root = bytes.withUnsafeBufferPointer({ JSONReader.parse($0, pruning: pruning) }) { return root }
  let stream = YAMLParser.parse(bytes, pruning: pruning)
  if let error = stream.errors.first {
    throw WatchDecodeError(message: "\(what) is not JSON: \(error.message) at \(error.mark)")
  }
  return stream.documents.first?.root
}

extension Pruning {
  /// `item`, the pruning of one `kind` object, applied to the items of a
  /// `kindList` as well: list items carry no `kind` of their own, so the
  /// parser sees them under the list's (`items`, `-`, then the item's keys).
  /// Objects that name their kind (watch events) get `item` as it is.
  public static func listItems(of kind: String, _ item: Pruning) -> Pruning {
    let list = kind + "List"
    return Pruning(maxDepth: item.maxDepth + 2) { enclosing, path, key in
      guard enclosing == list else { return item.skip(enclosing, path, key) }
      guard path.count >= 2, path.first == "items", path[path.startIndex + 1] == "-" else { return false }
      return item.skip(kind, path.dropFirst(2), key)
    }
  }
}
