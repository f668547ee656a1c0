import PolicyModel
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
  /// none, as list items come: the snapshot is a plain `List`. A Pod keeps
  /// only what a compile reads (`LoadOptions.compilePruning`): most of a
  /// pod is managed fields, volumes and conditions.
  static func render(object node: YAMLNode, kind: String, apiVersion: String) -> String {
    guard case .mapping(let pairs) = node.content else { return render(node) }
    let pruning = kind == "Pod" ? LoadOptions.compilePruning : nil
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
    var path: [String] = []
    for pair in pairs {
      out += (first ? "" : ",") + quote(pair.key.scalarText ?? "") + ":"
      first = false
      write(pair.value, path: &path, key: pair.key.scalarText ?? "", pruning: pruning, into: &out)
    }
    return out + "}"
  }

  /// `write` that leaves out (as `null`) the subtrees `pruning` skips.
  static func write(_ node: YAMLNode, path: inout [String], key: String, pruning: Pruning?, into out: inout String) {
    guard let pruning, path.count < pruning.maxDepth else { return write(node, into: &out) }
    path.append(key)
    defer { path.removeLast() }
    switch node.content {
    case .mapping(let pairs):
      out += "{"
      var first = true
      for pair in pairs {
        let name = pair.key.scalarText ?? ""
        if pruning.skip("Pod", path[...], name) { continue }
        out += (first ? "" : ",") + quote(name) + ":"
        first = false
        write(pair.value, path: &path, key: name, pruning: pruning, into: &out)
      }
      out += "}"
    case .sequence(let items):
      out += "["
      for (index, item) in items.enumerated() {
        if index > 0 { out += "," }
        write(item, path: &path, key: "-", pruning: pruning, into: &out)
      }
      out += "]"
    case .scalar: write(node, into: &out)
    }
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

  static func quote(_ text: String) -> String { JSONQuoting.quote(text) }
}
