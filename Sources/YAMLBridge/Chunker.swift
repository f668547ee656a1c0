#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Cuts a large stream into pieces that parse on their own, so several
/// threads can share the work: the documents of a multi-document stream,
/// or the items of a top-level `items:` list as kubectl prints it
/// (`- ` at column 0). A piece that does not parse alone (an alias to an
/// anchor in another piece, a marker inside a block scalar) is the caller's
/// cue to parse the whole file instead.
public enum Chunker {
  public struct Piece: Sendable, Hashable {
    /// Byte range in the file.
    public var range: Range<Int>
    /// The file line the piece starts at (1-based).
    public var firstLine: Int
    /// True for a run of list items (a block sequence at column 0, or JSON
    /// items: see `bracket`).
    public var isListItems: Bool
    /// JSON items: the file offset of the blank just before the first
    /// item's `{`. The piece is read with a `[` there and a `]` after its
    /// end, so its items parse as one flow sequence, each at the line and
    /// column it has in the file.
    public var bracket: Int?

    init(range: Range<Int>, firstLine: Int, isListItems: Bool, bracket: Int? = nil) {
      self.range = range
      self.firstLine = firstLine
      self.isListItems = isListItems
      self.bracket = bracket
    }
  }

  public struct Split: Sendable {
    public var pieces: [Piece]
    /// For a list: the lines before the items (through `items:`) and after
    /// them, which carry `kind` and `apiVersion`.
    public var header: Piece?
    public var footer: Piece?
  }

  /// libyaml reads a stream as UTF-16 when it opens with a UTF-16 byte
  /// order mark (FF FE or FE FF) and as UTF-8 otherwise; a piece cut from
  /// the middle has no mark, so it would be read in another encoding than
  /// the whole file. Such streams are parsed whole.
  static func isUTF16(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= 2 else { return false }
    return (bytes[0] == 0xff && bytes[1] == 0xfe) || (bytes[0] == 0xfe && bytes[1] == 0xff)
  }

  /// The pieces, or nil when the stream has no shape worth splitting.
  ///
  /// One pass over the lines (found with `memchr`), remembering only the
  /// lines that matter: the first `items:` line and the `- ` items after it,
  /// or else the `---` markers.
  public static func split(_ bytes: UnsafeBufferPointer<UInt8>, pieces wanted: Int) -> Split? {
    guard wanted > 1, bytes.count > 1 << 16, let base = bytes.baseAddress, !isUTF16(bytes),
      !hasOtherLineBreaks(bytes)
    else { return nil }
    let count = bytes.count
    if let first = bytes.firstIndex(where: { !isBlank($0) }), bytes[first] == UInt8(ascii: "{") {
      return splitJSONList(bytes, pieces: wanted)
    }
    func has(_ start: Int, _ text: StaticString) -> Bool {
      let length = text.utf8CodeUnitCount
      return start + length <= count && memcmp(base + start, text.utf8Start, length) == 0
    }
    typealias Line = (number: Int, start: Int)
    var markers: [Line] = []
    var items: [Line] = []
    var itemsLine: Int?
    // The first line after the run of items (the footer), when it ends
    // before the end of the file.
    var runEnd: Line?
    var line = 0
    var start = 0
    scan: while true {
      if itemsLine != nil {
        if has(start, "- ") {
          items.append((line, start))
        } else {
          switch bytes[start] {
          case 0x20, 0x0a, 0x0d, 0x23: break  // indented, blank or a comment: still the run
          default:
            runEnd = (line, start)
            break scan
          }
        }
      } else if has(start, "items:\n") || has(start, "items:\r\n") {
        itemsLine = line
      } else if has(start, "---") {
        switch start + 3 < count ? bytes[start + 3] : 0x0a {
        case 0x0a, 0x0d, 0x20: markers.append((line, start))
        default: break
        }
      }
      guard let newline = memchr(base + start, 0x0a, count - start) else { break }
      let next = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(newline)) + 1
      guard next < count else { break }
      start = next
      line += 1
    }
    // kubectl List: "items:" at column 0, items as "- " at column 0.
    if let itemsLine {
      guard items.count >= wanted, items[0].number == itemsLine + 1 else { return nil }
      let end = runEnd ?? (line + 1, count)
      var pieces: [Piece] = []
      let per = (items.count + wanted - 1) / wanted
      for k in stride(from: 0, to: items.count, by: per) {
        let next = k + per < items.count ? items[k + per].start : end.start
        pieces.append(Piece(range: items[k].start..<next, firstLine: items[k].number + 1, isListItems: true))
      }
      let header = Piece(range: 0..<items[0].start, firstLine: 1, isListItems: false)
      let footer = Piece(range: end.start..<count, firstLine: end.number + 1, isListItems: false)
      return Split(pieces: pieces, header: header, footer: footer)
    }
    // Multi-document stream: "---" lines at column 0.
    guard markers.count >= wanted else { return nil }
    var cuts: [Line] = [(0, 0)]
    let per = (markers.count + wanted - 1) / wanted
    for k in stride(from: per, to: markers.count, by: per) { cuts.append(markers[k]) }
    let pieces = cuts.indices.map { i in
      let end = i + 1 < cuts.count ? cuts[i + 1].start : count
      return Piece(range: cuts[i].start..<end, firstLine: cuts[i].number + 1, isListItems: false)
    }
    return Split(pieces: pieces, header: nil, footer: nil)
  }

  static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 }

  /// `kubectl get -o json` of a List: `"items": [` ends its line, every
  /// item's `{` stands alone on a line at the items' indentation, and the
  /// `]` that closes them starts a line at the indentation of `"items"`.
  /// A raw newline cannot occur inside a JSON string, so such lines are
  /// structure; a file that only looks so fails to parse in pieces, and
  /// the caller then parses it whole.
  static func splitJSONList(_ bytes: UnsafeBufferPointer<UInt8>, pieces wanted: Int) -> Split? {
    guard let base = bytes.baseAddress else { return nil }
    let count = bytes.count
    typealias Item = (number: Int, start: Int, brace: Int)
    var items: [Item] = []
    var itemsIndent: Int?
    var itemIndent: Int?
    var footer: (number: Int, start: Int)?
    var line = 0
    var start = 0
    while footer == nil {
      let newline = memchr(base + start, 0x0a, count - start)
      let end = newline.map { UnsafeRawPointer(base).distance(to: UnsafeRawPointer($0)) } ?? count
      var text = start
      while text < end, bytes[text] == 0x20 { text += 1 }
      var last = end
      while last > text, isBlank(bytes[last - 1]) { last -= 1 }
      let indent = text - start
      if let itemsIndent {
        if last - text == 1, bytes[text] == UInt8(ascii: "{"), indent > itemsIndent, indent == (itemIndent ?? indent) {
          itemIndent = indent
          items.append((line, start, text))
        } else if indent == itemsIndent, text < last, bytes[text] == UInt8(ascii: "]") {
          footer = (line, start)
        }
      } else if isItemsKey(bytes, text, last) {
        itemsIndent = indent
      }
      guard newline != nil, end + 1 < count else { break }
      start = end + 1
      line += 1
    }
    guard let footer, items.count >= wanted else { return nil }
    var pieces: [Piece] = []
    let per = (items.count + wanted - 1) / wanted
    for k in stride(from: 0, to: items.count, by: per) {
      var end = footer.start
      if k + per < items.count {
        // Up to the comma between this run's last item and the next run.
        end = items[k + per].start
        repeat { end -= 1 } while end > items[k].brace && isBlank(bytes[end])
        guard bytes[end] == UInt8(ascii: ",") else { return nil }
      }
      pieces.append(
        Piece(
          range: items[k].start..<end, firstLine: items[k].number + 1, isListItems: true, bracket: items[k].brace - 1))
    }
    return Split(
      pieces: pieces, header: Piece(range: 0..<items[0].start, firstLine: 1, isListItems: false),
      footer: Piece(range: footer.start..<count, firstLine: footer.number + 1, isListItems: false))
  }

  /// `"items": [` (any blanks around the colon) from `from` to `to`.
  static func isItemsKey(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
    let key = Array("\"items\"".utf8)
    guard to - from > key.count, Array(bytes[from..<(from + key.count)]) == key else { return false }
    var i = from + key.count
    while i < to, bytes[i] == 0x20 { i += 1 }
    guard i < to, bytes[i] == UInt8(ascii: ":") else { return false }
    i += 1
    while i < to, bytes[i] == 0x20 { i += 1 }
    return i + 1 == to && bytes[i] == UInt8(ascii: "[")
  }

  /// libyaml also breaks lines at a lone CR, NEL (U+0085), LS (U+2028) and
  /// PS (U+2029); pieces count lines by LF, so such text is not split.
  static func hasOtherLineBreaks(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = b.baseAddress else { return false }
    // Each lead byte is rare in manifests: find it with memchr, then look.
    for lead: Int32 in [0x0d, 0xc2, 0xe2] {
      var from = 0
      while from < b.count, let hit = memchr(base + from, lead, b.count - from) {
        let i = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
        switch lead {
        case 0x0d where i + 1 == b.count || b[i + 1] != 0x0a: return true
        case 0xc2 where i + 1 < b.count && b[i + 1] == 0x85: return true
        case 0xe2 where i + 2 < b.count && b[i + 1] == 0x80 && (b[i + 2] == 0xa8 || b[i + 2] == 0xa9): return true
        default: from = i + 1
        }
      }
    }
    return false
  }
}
