import YAMLBridge

/// JSONReader's scalars (plain values, strings with their escapes) and the
/// subtrees it steps over without building them.
extension JSONReader {
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
