import Foundation
import KubeClient
import YAMLBridge

/// The objects behind the last successful apply, kept under --state-dir so
/// that a restarted agent (after a reboot, say) can put exactly those rules
/// back before it reaches the API server: a full snapshot (`cluster.json`,
/// a JSON `List`) written after the first sync and every relist, and a
/// journal (`cluster.journal`) of the changes of each later apply, one line
/// each, so that a sync writes only what it changed.
public struct AppliedRecord: Sendable {
  public var directory: String

  public init(directory: String) { self.directory = directory }

  var snapshotPath: String { directory + "/cluster.json" }
  var journalPath: String { directory + "/cluster.journal" }

  /// One change: an object as it now is (`U`) or as it was deleted (`D`).
  public struct Change: Sendable {
    public var deleted: Bool
    public var resource: String
    public var json: String

    public init(deleted: Bool, resource: String, json: String) {
      self.deleted = deleted
      self.resource = resource
      self.json = json
    }

    var line: String { (deleted ? "D" : "U") + "\t" + resource + "\t" + json + "\n" }
  }

  /// Before an apply: the whole snapshot of `generation` and a new journal
  /// of that generation, or the changes appended to the journal. A journal
  /// is replayed only onto the snapshot of its generation, so a crash
  /// between the two writes never replays old changes onto a new snapshot.
  public func record(snapshot: String?, generation: String, changes: [Change]) throws {
    if let snapshot {
      try Enforcer.write(snapshot, to: snapshotPath)
      try Enforcer.write("G\t\(generation)\n", to: journalPath)
      return
    }
    guard !changes.isEmpty else { return }
    // No journal: nothing to append to, the next apply writes a snapshot.
    let fd = open(journalPath, O_WRONLY | O_APPEND, 0o644)
    guard fd >= 0 else { throw RecordError("\(journalPath): cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes = Array(changes.map(\.line).joined().utf8)[...]
    while !bytes.isEmpty {
      let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { throw RecordError("\(journalPath): cannot write: \(String(cString: strerror(errno)))") }
      bytes = bytes.dropFirst(n)
    }
    fsync(fd)
  }

  /// The cache of the last apply: the snapshot, then the journal replayed.
  /// Nil when there is no snapshot or it cannot be read. A journal line cut
  /// short by a crash ends the replay: its apply is the one not recorded.
  public func load() -> ClusterCache? {
    guard let data = FileManager.default.contents(atPath: snapshotPath) else { return nil }
    let stream = YAMLParser.parse(Array(data))
    guard stream.errors.isEmpty, let items = stream.documents.first?.root?["items"]?.sequenceItems else { return nil }
    var cache = ClusterCache()
    var byResource: [String: [KubeObject]] = [:]
    for item in items {
      guard let kind = item["kind"]?.scalarText, let resource = Resource.all.first(where: { $0.kind == kind }) else {
        return nil
      }
      byResource[resource.name, default: []].append(KubeObject(node: item))
    }
    for resource in Resource.all {
      let change = cache.apply(.replace(byResource[resource.name] ?? []), to: resource)
      guard change.rejected.isEmpty else { return nil }
    }
    let generation = stream.documents.first?.root?["metadata"]?["resourceVersion"]?.scalarText ?? ""
    guard let journal = FileManager.default.contents(atPath: journalPath) else { return cache }
    let lines = journal.split(separator: UInt8(ascii: "\n"))
    guard let header = lines.first, header.elementsEqual("G\t\(generation)".utf8) else { return cache }
    for line in lines.dropFirst() {
      let parts = line.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
      guard parts.count == 3, let resource = Resource.all.first(where: { $0.name.utf8.elementsEqual(parts[1]) }),
        let node = YAMLParser.parse(Array(parts[2])).documents.first?.root, node.mappingPairs != nil
      else { break }
      let object = KubeObject(node: node)
      _ = cache.apply(parts[0].elementsEqual("D".utf8) ? .delete(object) : .upsert(object), to: resource)
    }
    return cache
  }
}

struct RecordError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
