import Dispatch
import YAMLBridge

/// Splits one large source into pieces (see `Chunker`) and parses and
/// decodes them on several threads. The pieces' inventories are merged in
/// file order and sorted afterwards, so the result is the single-thread
/// result. Any YAML problem makes it give up (nil): the caller then parses
/// the whole file, which reports the problem exactly.
enum ParallelLoad {
  /// One result per piece, written from many threads, read after they all
  /// finish. Ownership, which makes it free of data races: the buffer is
  /// allocated and filled with nil before any thread starts; the work of
  /// piece i alone writes element i, through the pointer, and touches no
  /// other element (no shared array header, no copy on write); the owner
  /// reads `values` only after `concurrentPerform` has returned, which
  /// happens after every iteration ended, and frees the buffer last.
  final class Slots<T>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<T?>
    init(_ count: Int) {
      buffer = .allocate(capacity: count)
      buffer.initialize(repeating: nil)
    }
    deinit {
      buffer.deinitialize()
      buffer.deallocate()
    }
    /// Called by the work of piece `i` only.
    func set(_ i: Int, _ value: T) { buffer[i] = value }
    /// Only once every writer has finished.
    var values: [T?] { Array(buffer) }
  }

  struct Bytes: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<UInt8>
    func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buffer[range]) }
  }

  static func load(_ source: InputSource, options: LoadOptions) -> Inventory? {
    source.bytes.withUnsafeBufferPointer { buffer -> Inventory? in
      // Large files go in pieces even on one thread: a piece's tree is freed
      // once decoded, so memory stays bounded by the piece, not the file.
      // Two at least when decoding from events: the items of a list are
      // only read that way as pieces.
      let pieces = max(options.jobs > 1 ? options.jobs * 4 : options.eventDecoding ? 2 : 1, buffer.count / (8 << 20))
      guard let split = Chunker.split(buffer, pieces: pieces) else { return nil }
      let bytes = Bytes(buffer: buffer)
      var inherited: (kind: String, apiVersion: String)?
      if let header = split.header, let footer = split.footer {
        // The frame around the items, read as one text, must be exactly one
        // list document and nothing else: a `---` in the footer (a second
        // document, perhaps another list) sends the file to the full parse.
        let frame = Array(bytes.slice(header.range)) + Array(bytes.slice(footer.range))
        let stream = YAMLParser.parse(frame, limits: options.limits)
        guard stream.errors.isEmpty, stream.documents.count == 1, let root = stream.documents[0].root,
          let pairs = root.mappingPairs,
          pairs.allSatisfy({ ["apiVersion", "kind", "metadata", "items"].contains($0.key.scalarText ?? "") }),
          // YAML's header ends at `items:` (null), JSON's frame reads `"items": [ ]`.
          root["items"].map({ NodeReader.isNull($0) || $0.sequenceItems?.isEmpty == true }) ?? false,
          let kind = root["kind"]?.scalarText, kind.hasSuffix("List")
        else { return nil }
        inherited = kind == "List" ? nil : (String(kind.dropLast(4)), root["apiVersion"]?.scalarText ?? "")
      }
      let itemKind = inherited
      let results = Slots<Inventory>(split.pieces.count)
      let failed = Slots<Bool>(split.pieces.count)
      let fromEvents = options.eventDecoding && options.pruning != nil
      let work: @Sendable (Int) -> Void = { i in
        let piece = split.pieces[i]
        // JSON items: `[` in the blank before the first `{`, `]` after the last `}`.
        var text: [UInt8] = []
        if let bracket = piece.bracket {
          text = Array(bytes.slice(piece.range))
          text[bracket - piece.range.lowerBound] = UInt8(ascii: "[")
          text.append(UInt8(ascii: "]"))
        }
        let stream = text.withUnsafeBufferPointer { copy -> YAMLStream? in
          let input = piece.bracket == nil ? bytes.slice(piece.range) : copy
          if fromEvents, piece.isListItems,
            let inventory = EventDecoder.decodeItems(
              input, firstLine: piece.firstLine, file: source.path, options: options)
          {
            results.set(i, inventory)
            return nil
          }
          return YAMLParser.parse(input, limits: options.limits, firstLine: piece.firstLine, pruning: options.pruning)
        }
        guard let stream else { return }
        guard stream.errors.isEmpty else {
          failed.set(i, true)
          return
        }
        var inventory = Inventory()
        var reader = NodeReader(file: source.path)
        for document in stream.documents {
          inventory.documentCount += 1
          guard let root = document.root else { continue }
          if piece.isListItems {
            guard let items = root.sequenceItems else {
              failed.set(i, true)
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
        results.set(i, inventory)
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
    adminPolicies += other.adminPolicies
    workloads += other.workloads
    skipped += other.skipped
    diagnostics += other.diagnostics
    documentCount += other.documentCount
  }
}
