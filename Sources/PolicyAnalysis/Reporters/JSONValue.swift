/// A JSON document that always prints object keys sorted (by UTF-8 bytes),
/// so reports are byte-identical between runs.
public indirect enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Two-space indentation, one member per line, and a final newline.
  public var pretty: String {
    var out = ""
    write(into: &out, depth: 0)
    return out + "\n"
  }

  private func write(into out: inout String, depth: Int) {
    let inner = String(repeating: "  ", count: depth + 1)
    let closing = String(repeating: "  ", count: depth)
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let n): out += String(n)
    case .string(let s): out += JSON.string(s)
    case .array(let items):
      guard !items.isEmpty else {
        out += "[]"
        return
      }
      out += "[\n"
      for (i, item) in items.enumerated() {
        out += inner
        item.write(into: &out, depth: depth + 1)
        out += i + 1 < items.count ? ",\n" : "\n"
      }
      out += closing + "]"
    case .object(let members):
      guard !members.isEmpty else {
        out += "{}"
        return
      }
      out += "{\n"
      let keys = members.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
      for (i, key) in keys.enumerated() {
        out += inner + JSON.string(key) + ": "
        members[key]!.write(into: &out, depth: depth + 1)
        out += i + 1 < keys.count ? ",\n" : "\n"
      }
      out += closing + "}"
    }
  }
}

extension JSONValue {
  static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
}
