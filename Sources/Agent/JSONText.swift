import YAMLBridge

/// Writes a parsed node back as compact JSON, for the snapshot of the
/// objects behind the last apply. Scalars keep their type as the YAML 1.1
/// resolver sees it, so reading the text back decodes the same object.
enum JSONText {
  static func render(_ node: YAMLNode) -> String {
    var out = ""
    write(node, into: &out)
    return out
  }

  /// An object with its `kind` and `apiVersion` written first when it has
  /// none, as list items come: the snapshot is a plain `List`.
  static func render(object node: YAMLNode, kind: String, apiVersion: String) -> String {
    guard node["kind"] == nil || node["apiVersion"] == nil, case .mapping(let pairs) = node.content else {
      return render(node)
    }
    var out = "{"
    var first = true
    if node["kind"] == nil {
      out += "\"kind\":" + quote(kind)
      first = false
    }
    if node["apiVersion"] == nil {
      out += (first ? "" : ",") + "\"apiVersion\":" + quote(apiVersion)
      first = false
    }
    for pair in pairs {
      out += (first ? "" : ",") + quote(pair.key.scalarText ?? "") + ":"
      first = false
      write(pair.value, into: &out)
    }
    return out + "}"
  }

  static func write(_ node: YAMLNode, into out: inout String) {
    switch node.content {
    case .mapping(let pairs):
      out += "{"
      for (index, pair) in pairs.enumerated() {
        if index > 0 { out += "," }
        out += quote(pair.key.scalarText ?? "")
        out += ":"
        write(pair.value, into: &out)
      }
      out += "}"
    case .sequence(let items):
      out += "["
      for (index, item) in items.enumerated() {
        if index > 0 { out += "," }
        write(item, into: &out)
      }
      out += "]"
    case .scalar(let text, _):
      switch node.resolved {
      case .null?: out += "null"
      case .bool(let value)?: out += value ? "true" : "false"
      case .integer(let value)?: out += String(value)
      case .bigInteger(let digits)?: out += digits
      case .float(let value)? where value.isFinite: out += "\(value)"
      default: out += quote(text)
      }
    }
  }

  static func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
