import YAMLBridge

/// Reads the JSON the API server sends into the very nodes `YAMLParser`
/// builds from it (same scalars, styles, keys, `kind`-driven pruning),
/// several times faster. libyaml scans JSON as YAML flow through its
/// general tokenizer, and even a pruned subtree is tokenized event by event;
/// here a pruned subtree is only checked and stepped over, and most of a
/// Pod (managed fields, volumes, conditions) is pruned.
///
/// It reads strict JSON only. Whatever it does not expect (a syntax error,
/// a duplicate key, an escape libyaml might read otherwise, a limit
/// reached) makes it return nil, and the caller parses the bytes with
/// `YAMLParser`, whose answer and messages stand: for any input this
/// reader accepts, libyaml builds the same tree.
struct JSONReader {
  let bytes: UnsafeBufferPointer<UInt8>
  let pruning: Pruning?
  let limits: YAMLLimits
  var index = 0
  var nodes = 0
  /// For marks: the current line, and the last position whose column is known.
  var line = 1
  var markIndex = 0
  var markColumn = 1
  /// The frames being built: their `kind` (once read), and the key each sits under.
  var kinds: [String?] = []
  var keyPath: [String] = []

  /// Gives up: the caller falls back to libyaml.
  struct Unexpected: Error {}

  static func parse(_ bytes: UnsafeBufferPointer<UInt8>, pruning: Pruning?, limits: YAMLLimits = .default)
    -> YAMLNode?
  {
    var reader = JSONReader(bytes: bytes, pruning: pruning, limits: limits)
    do {
      reader.skipSpace()
      let root = try reader.value(key: nil)
      reader.skipSpace()
      guard reader.index == bytes.count else { return nil }
      return root
    } catch {
      return nil
    }
  }

  init(bytes: UnsafeBufferPointer<UInt8>, pruning: Pruning?, limits: YAMLLimits) {
    self.bytes = bytes
    self.pruning = pruning
    self.limits = limits
  }

  // MARK: Positions

  /// The mark of byte `position` (never before the last one asked for):
  /// libyaml counts columns in characters, so continuation bytes do not count.
  mutating func mark(_ position: Int) -> Mark {
    var column = markColumn
    var i = markIndex
    while i < position {
      if bytes[i] & 0xC0 != 0x80 { column += 1 }
      i += 1
    }
    markIndex = position
    markColumn = column
    return Mark(line: line, column: column)
  }

  /// Spaces and newlines between tokens; tabs and carriage returns are left
  /// to libyaml, whose rules for them in flow context differ from JSON's.
  mutating func skipSpace() {
    while index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: " "): index += 1
      case UInt8(ascii: "\n"):
        index += 1
        line += 1
        markIndex = index
        markColumn = 1
      default: return
      }
    }
  }

  mutating func expect(_ byte: UInt8) throws(Unexpected) {
    guard index < bytes.count, bytes[index] == byte else { throw Unexpected() }
    index += 1
  }

  // MARK: Values

  /// Whether the value under `key` of the innermost mapping is one the
  /// consumer never reads (the rule of `TreeBuilder.shouldSkipValue`).
  func skipped(_ key: String?) -> Bool {
    guard let pruning, let key, let k = kinds.lastIndex(where: { $0 != nil }) else { return false }
    guard kinds.count - k - 1 <= pruning.maxDepth else { return false }
    return pruning.skip(kinds[k]!, keyPath[(k + 1)...], key)
  }

  /// One value; `key` is the key it sits under in a mapping (nil for a list
  /// item or the root).
  mutating func value(key: String?) throws(Unexpected) -> YAMLNode {
    guard index < bytes.count else { throw Unexpected() }
    nodes += 1
    guard nodes <= limits.maxNodes else { throw Unexpected() }
    if pruning != nil, skipped(key) {
      let start = mark(index)
      try skipValue(depth: kinds.count)
      return YAMLNode(content: .scalar("", .plain), tag: nil, span: SourceSpan(start: start, end: mark(index)))
    }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try mapping(key: key)
    case UInt8(ascii: "["): return try sequence(key: key)
    case UInt8(ascii: "\""):
      let start = mark(index)
      let text = try string()
      return YAMLNode(content: .scalar(text, .doubleQuoted), tag: nil, span: SourceSpan(start: start, end: mark(index)))
    default:
      let start = mark(index)
      let from = index
      try plain()
      let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<index]), as: UTF8.self)
      return YAMLNode(content: .scalar(text, .plain), tag: nil, span: SourceSpan(start: start, end: mark(index)))
    }
  }

  mutating func open(key: String?) throws(Unexpected) {
    guard kinds.count < limits.maxDepth else { throw Unexpected() }
    kinds.append(nil)
    if pruning != nil { keyPath.append(key ?? (kinds.count == 1 ? "" : "-")) }
  }

  mutating func close() {
    kinds.removeLast()
    if pruning != nil { keyPath.removeLast() }
  }

  mutating func mapping(key: String?) throws(Unexpected) -> YAMLNode {
    let start = mark(index)
    index += 1
    try open(key: key)
    var pairs: [YAMLPair] = []
    var seen: Set<String>? = nil
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
    } else {
      while true {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Unexpected() }
        let keyStart = mark(index)
        let name = try string()
        nodes += 1
        let keyNode = YAMLNode(
          content: .scalar(name, .doubleQuoted), tag: nil, span: SourceSpan(start: keyStart, end: mark(index)))
        // A duplicate key is an error libyaml's reader reports: let it.
        if seen != nil {
          guard seen!.insert(name).inserted else { throw Unexpected() }
        } else {
          if pairs.contains(where: { $0.key.scalarText == name }) { throw Unexpected() }
          if pairs.count >= 16 { seen = Set(pairs.map { $0.key.scalarText ?? "" } + [name]) }
        }
        skipSpace()
        try expect(UInt8(ascii: ":"))
        skipSpace()
        let node = try value(key: name)
        if name == "kind", case .scalar(let kind, _) = node.content { kinds[kinds.count - 1] = kind }
        pairs.append(YAMLPair(key: keyNode, value: node))
        skipSpace()
        guard index < bytes.count else { throw Unexpected() }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
          continue
        }
        try expect(UInt8(ascii: "}"))
        break
      }
    }
    close()
    return YAMLNode(content: .mapping(pairs), tag: nil, span: SourceSpan(start: start, end: mark(index)))
  }

  mutating func sequence(key: String?) throws(Unexpected) -> YAMLNode {
    let start = mark(index)
    index += 1
    try open(key: key)
    var items: [YAMLNode] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
    } else {
      while true {
        skipSpace()
        items.append(try value(key: nil))
        skipSpace()
        guard index < bytes.count else { throw Unexpected() }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
          continue
        }
        try expect(UInt8(ascii: "]"))
        break
      }
    }
    close()
    return YAMLNode(content: .sequence(items), tag: nil, span: SourceSpan(start: start, end: mark(index)))
  }
}
