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

  // MARK: Scalars

  /// A number, `true`, `false` or `null`: libyaml reads each as a plain
  /// scalar of the same text.
  mutating func plain() throws(Unexpected) {
    for literal in ["true", "false", "null"] where matches(literal) {
      index += literal.utf8.count
      return
    }
    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
    guard index < bytes.count, isDigit(bytes[index]) else { throw Unexpected() }
    if bytes[index] == UInt8(ascii: "0") { index += 1 } else { digits() }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      guard index < bytes.count, isDigit(bytes[index]) else { throw Unexpected() }
      digits()
    }
    if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
      guard index < bytes.count, isDigit(bytes[index]) else { throw Unexpected() }
      digits()
    }
    // What follows a scalar in JSON; anything else (`1x`) is not JSON.
    guard index == bytes.count || Self.isDelimiter(bytes[index]) else { throw Unexpected() }
  }

  func matches(_ literal: String) -> Bool {
    var i = index
    for byte in literal.utf8 {
      guard i < bytes.count, bytes[i] == byte else { return false }
      i += 1
    }
    return i == bytes.count || Self.isDelimiter(bytes[i])
  }

  static func isDelimiter(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "), UInt8(ascii: "\n"): true
    default: false
    }
  }

  func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

  mutating func digits() {
    while index < bytes.count, isDigit(bytes[index]) { index += 1 }
  }

  /// A double-quoted string, its escapes decoded.
  mutating func string() throws(Unexpected) -> String {
    index += 1
    let from = index
    var ascii = true
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        let raw = UnsafeBufferPointer(rebasing: bytes[from..<index])
        index += 1
        guard raw.count <= limits.maxScalarBytes else { throw Unexpected() }
        if ascii { return String(decoding: raw, as: UTF8.self) }
        guard let text = String(validating: raw, as: UTF8.self), Self.printable(text) else { throw Unexpected() }
        return text
      }
      if byte == UInt8(ascii: "\\") { return try escapedString(from: from) }
      guard byte >= 0x20, byte != 0x7F else { throw Unexpected() }
      if byte >= 0x80 { ascii = false }
      index += 1
    }
    throw Unexpected()
  }

  /// Whether libyaml's reader accepts every character of `text` as it
  /// stands in the input (YAML's printable set); escapes may write any.
  static func printable(_ text: String) -> Bool {
    text.unicodeScalars.allSatisfy { scalar in
      switch scalar.value {
      case 0x20...0x7E, 0x85, 0xA0...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: scalar.value != 0xFEFF
      default: false
      }
    }
  }

  /// The rest of a string with escapes, from its first byte `from`.
  mutating func escapedString(from: Int) throws(Unexpected) -> String {
    var out = Array(UnsafeBufferPointer(rebasing: bytes[from..<index]))
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      switch byte {
      case UInt8(ascii: "\""):
        // The raw bytes must be printable; an escape may write any character.
        guard out.count <= limits.maxScalarBytes, let text = String(validating: out, as: UTF8.self),
          rawPrintable(from: from)
        else { throw Unexpected() }
        return text
      case UInt8(ascii: "\\"):
        guard index < bytes.count else { throw Unexpected() }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(escape)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          // Surrogates (and `\/`) are left to libyaml.
          let code = try hex4()
          guard code < 0xD800 || code > 0xDFFF, let scalar = Unicode.Scalar(code) else { throw Unexpected() }
          out.append(contentsOf: String(scalar).utf8)
        default: throw Unexpected()
        }
      default:
        guard byte >= 0x20, byte != 0x7F else { throw Unexpected() }
        out.append(byte)
      }
    }
    throw Unexpected()
  }

  /// Whether the raw bytes of the string that starts at `from` (and ends
  /// before `index`) are printable outside its escapes.
  func rawPrintable(from: Int) -> Bool {
    var i = from
    while i < index - 1, bytes[i] < 0x80 { i += 1 }
    guard i < index - 1 else { return true }
    guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[from..<(index - 1)]), as: UTF8.self)
    else { return false }
    return Self.printable(text)
  }

  mutating func hex4() throws(Unexpected) -> UInt32 {
    guard bytes.count - index >= 4 else { throw Unexpected() }
    var code: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[index]
      index += 1
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw Unexpected()
      }
      code = code << 4 | UInt32(digit)
    }
    return code
  }

  // MARK: Pruned subtrees

  /// Checks one value as strictly as `value` does, building nothing.
  /// libyaml still parses a pruned subtree, so a broken one must fail here too.
  mutating func skipValue(depth: Int) throws(Unexpected) {
    guard index < bytes.count else { throw Unexpected() }
    switch bytes[index] {
    case UInt8(ascii: "{"), UInt8(ascii: "["):
      guard depth < limits.maxDepth else { throw Unexpected() }
      let isMapping = bytes[index] == UInt8(ascii: "{")
      let closing = isMapping ? UInt8(ascii: "}") : UInt8(ascii: "]")
      index += 1
      skipSpace()
      if index < bytes.count, bytes[index] == closing {
        index += 1
        return
      }
      while true {
        skipSpace()
        if isMapping {
          guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Unexpected() }
          _ = try skipString()
          skipSpace()
          try expect(UInt8(ascii: ":"))
          skipSpace()
        }
        try skipValue(depth: depth + 1)
        skipSpace()
        guard index < bytes.count else { throw Unexpected() }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
          continue
        }
        try expect(closing)
        return
      }
    case UInt8(ascii: "\""): try skipString()
    default: try plain()
    }
  }

  /// Steps over a string, checking it as `string` would.
  mutating func skipString() throws(Unexpected) {
    index += 1
    let from = index
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        index += 1
        return
      }
      if byte == UInt8(ascii: "\\") || byte >= 0x80 {
        index = from - 1
        _ = try string()
        return
      }
      guard byte >= 0x20 else { throw Unexpected() }
      index += 1
    }
    throw Unexpected()
  }
}
