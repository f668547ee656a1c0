import Dispatch
import YAMLBridge

/// Splits one large source into pieces (see `Chunker`) and parses and
/// decodes them on several threads. The pieces' inventories are merged in
/// file order and sorted afterwards, so the result is the single-thread
/// result. Any YAML problem makes it give up (nil): the caller then parses
/// the whole file, which reports the problem exactly.
enum ParallelLoad {
  /// Results written by index from many threads, read after they all finish.
  final class Slots<T>: @unchecked Sendable {
    var values: [T?]
    init(_ count: Int) { values = Array(repeating: nil, count: count) }
  }

  struct Bytes: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
    func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buffer[range]) }
  }

  static func load(_ source: InputSource, options: LoadOptions) -> Inventory? {
    source.bytes.withUnsafeBufferPointer { buffer -> Inventory? in
      // Large files go in pieces even on one thread: a piece's tree is freed
      // once decoded, so memory stays bounded by the piece, not the file.
      let pieces = max(options.jobs > 1 ? options.jobs * 4 : 1, buffer.count / (8 << 20))
      guard let split = Chunker.split(buffer, pieces: pieces) else { return nil }
      let bytes = Bytes(buffer: buffer)
      var inherited: (kind: String, apiVersion: String)?
      if let header = split.header, let footer = split.footer {
        // The frame around the items must say it is a list.
        var kind: String?
        var apiVersion = ""
        for piece in [header, footer] {
          let stream = YAMLParser.parse(bytes.slice(piece.range), limits: options.limits, firstLine: piece.firstLine)
          guard stream.errors.isEmpty, stream.documents.count <= 1 else { return nil }
          guard let root = stream.documents.first?.root else { continue }
          guard root.mappingPairs != nil else { return nil }
          if let k = root["kind"]?.scalarText { kind = k }
          if let v = root["apiVersion"]?.scalarText { apiVersion = v }
        }
        guard let kind, kind.hasSuffix("List") else { return nil }
        inherited = kind == "List" ? nil : (String(kind.dropLast(4)), apiVersion)
      }
      let itemKind = inherited
      let results = Slots<Inventory>(split.pieces.count)
      let failed = Slots<Bool>(split.pieces.count)
      let work: @Sendable (Int) -> Void = { i in
        let piece = split.pieces[i]
        let stream = YAMLParser.parse(
          bytes.slice(piece.range), limits: options.limits, firstLine: piece.firstLine, pruning: options.pruning)
        guard stream.errors.isEmpty else {
          failed.values[i] = true
          return
        }
        var inventory = Inventory()
        var reader = NodeReader(file: source.path)
        for document in stream.documents {
          inventory.documentCount += 1
          guard let root = document.root else { continue }
          if piece.isListItems {
            guard let items = root.sequenceItems else {
              failed.values[i] = true
              return
            }
            for item in items {
              Loader.decode(item, reader: &reader, into: &inventory, options: options, inherited: itemKind)
            }
          } else {
            Loader.decode(root, reader: &reader, into: &inventory, options: options)
          }
        }
        inventory.diagnostics = reader.diagnostics
        results.values[i] = inventory
      }
      if options.jobs > 1 {
        DispatchQueue.concurrentPerform(iterations: split.pieces.count, execute: work)
      } else {
        for i in split.pieces.indices { work(i) }
      }
      guard !failed.values.contains(true) else { return nil }
      var merged = Inventory()
      for partial in results.values {
        guard let partial else { return nil }
        merged.absorb(partial)
      }
      if split.header != nil { merged.documentCount = 1 }
      return merged
    }
  }
}

extension Inventory {
  mutating func absorb(_ other: Inventory) {
    namespaces += other.namespaces
    pods += other.pods
    policies += other.policies
    workloads += other.workloads
    skipped += other.skipped
    diagnostics += other.diagnostics
    documentCount += other.documentCount
  }
}
