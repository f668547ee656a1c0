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
    /// True for a run of list items (a block sequence at column 0).
    public var isListItems: Bool
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
  public static func split(_ bytes: UnsafeBufferPointer<UInt8>, pieces wanted: Int) -> Split? {
    guard wanted > 1, bytes.count > 1 << 16, !hasOtherLineBreaks(bytes), !isUTF16(bytes) else { return nil }
    var lineStarts: [Int] = [0]
    for i in 0..<bytes.count where bytes[i] == 0x0a && i + 1 < bytes.count { lineStarts.append(i + 1) }
    func starts(_ line: Int, with text: String) -> Bool {
      let start = lineStarts[line]
      let t = Array(text.utf8)
      guard start + t.count <= bytes.count else { return false }
      for (k, c) in t.enumerated() where bytes[start + k] != c { return false }
      return true
    }
    func lineIsBlankOrIndented(_ line: Int) -> Bool {
      let b = bytes[lineStarts[line]]
      return b == 0x20 || b == 0x0a || b == 0x0d || b == 0x23
    }
    // kubectl List: "items:" at column 0, items as "- " at column 0.
    if let itemsLine = lineStarts.indices.first(where: {
      starts($0, with: "items:\n") || starts($0, with: "items:\r\n")
    }) {
      var itemStarts: [Int] = []
      var line = itemsLine + 1
      while line < lineStarts.count {
        if starts(line, with: "- ") {
          itemStarts.append(line)
        } else if !lineIsBlankOrIndented(line) {
          break
        }
        line += 1
      }
      guard itemStarts.count >= wanted, itemStarts.first == itemsLine + 1 else { return nil }
      let endLine = line
      let endByte = endLine < lineStarts.count ? lineStarts[endLine] : bytes.count
      var pieces: [Piece] = []
      let per = (itemStarts.count + wanted - 1) / wanted
      for k in stride(from: 0, to: itemStarts.count, by: per) {
        let first = itemStarts[k]
        let next = k + per < itemStarts.count ? lineStarts[itemStarts[k + per]] : endByte
        pieces.append(Piece(range: lineStarts[first]..<next, firstLine: first + 1, isListItems: true))
      }
      let header = Piece(range: 0..<lineStarts[itemsLine + 1], firstLine: 1, isListItems: false)
      let footer = Piece(range: endByte..<bytes.count, firstLine: endLine + 1, isListItems: false)
      return Split(pieces: pieces, header: header, footer: footer)
    }
    // Multi-document stream: "---" lines at column 0.
    let markers = lineStarts.indices.filter { line in
      starts(line, with: "---")
        && (lineStarts[line] + 3 >= bytes.count || [0x0a, 0x0d, 0x20].contains(bytes[lineStarts[line] + 3]))
    }
    guard markers.count >= wanted else { return nil }
    var cuts = [0]
    let per = (markers.count + wanted - 1) / wanted
    for k in stride(from: per, to: markers.count, by: per) { cuts.append(markers[k]) }
    let pieces = cuts.indices.map { i in
      let start = lineStarts[cuts[i]]
      let end = i + 1 < cuts.count ? lineStarts[cuts[i + 1]] : bytes.count
      return Piece(range: start..<end, firstLine: cuts[i] + 1, isListItems: false)
    }
    return Split(pieces: pieces, header: nil, footer: nil)
  }

  /// libyaml also breaks lines at a lone CR, NEL (U+0085), LS (U+2028) and
  /// PS (U+2029); pieces count lines by LF, so such text is not split.
  static func hasOtherLineBreaks(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    for i in 0..<b.count {
      switch b[i] {
      case 0x0d where i + 1 == b.count || b[i + 1] != 0x0a: return true
      case 0xc2 where i + 1 < b.count && b[i + 1] == 0x85: return true
      case 0xe2 where i + 2 < b.count && b[i + 1] == 0x80 && (b[i + 2] == 0xa8 || b[i + 2] == 0xa9): return true
      default: continue
      }
    }
    return false
  }
}
