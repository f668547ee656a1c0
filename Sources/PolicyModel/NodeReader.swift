import YAMLBridge

/// Typed, located reads from YAML nodes; every complaint lands in
/// `diagnostics` with the field path, so one run reports all problems.
/// A mapping's string-keyed pairs in document order. Kubernetes mappings are
/// small, so a scan beats building a hash table for each one.
struct Fields: Sequence {
  /// The mapping's pairs (shared with its node, not copied) and, in order,
  /// the string keys kept with the index of their pair.
  private let pairs: [YAMLPair]
  private var entries: [(key: String, index: Int)] = []

  init(_ pairs: [YAMLPair]) {
    self.pairs = pairs
    entries.reserveCapacity(pairs.count)
  }

  subscript(key: String) -> YAMLPair? {
    entries.first { $0.key == key }.map { pairs[$0.index] }
  }

  /// Keeps the pair at `index` under `key`; a repeated key keeps the last.
  mutating func keep(_ key: String, at index: Int) {
    if entries.contains(where: { $0.key == key }) { entries.removeAll { $0.key == key } }
    entries.append((key, index))
  }

  func makeIterator() -> some IteratorProtocol<(key: String, value: YAMLPair)> {
    entries.lazy.map { (key: $0.key, value: pairs[$0.index]) }.makeIterator()
  }
}

struct NodeReader {
  let file: String
  var diagnostics: [Diagnostic] = []
  var object: ObjectRef?

  init(file: String) {
    self.file = file
  }

  func location(_ node: YAMLNode) -> SourceLocation { SourceLocation(file: file, span: node.span) }

  mutating func report(
    _ ruleID: String, _ message: String, at node: YAMLNode, path: String, severity: Severity = .error
  ) {
    diagnostics.append(
      Diagnostic(
        ruleID: ruleID, severity: severity, message: message, location: location(node), fieldPath: path,
        object: object))
  }

  mutating func typeError(_ node: YAMLNode, path: String, expected: String) {
    let value = node.scalarText.map { " \"\(Self.sanitize($0))\"" } ?? ""
    report(RuleID.invalidType, "expected \(expected), found \(node.kindName)\(value)", at: node, path: path)
  }

  static func isNull(_ node: YAMLNode) -> Bool { node.resolved == .null }

  /// Collections may carry no tag, `!`, or their own standard tag; anything
  /// else (`!!python/object:...`) is refused, as the Kubernetes decoder does.
  static func shortTag(_ tag: String?) -> String {
    let tag = tag ?? ""
    let prefix = "tag:yaml.org,2002:"
    return tag.hasPrefix(prefix) ? "!!" + tag.dropFirst(prefix.count) : tag
  }

  static func standardTag(_ node: YAMLNode, _ name: String) -> Bool {
    guard let tag = node.tag else { return true }
    return tag == "!" || tag == "tag:yaml.org,2002:" + name
  }

  /// The pairs of a mapping by key; nil for null. Non-string keys are errors,
  /// and with `known` set, any other key is an unknown field (strict decoding).
  mutating func fields(_ node: YAMLNode, path: String, known: Set<String>? = nil) -> Fields? {
    if Self.isNull(node) { return nil }
    guard let pairs = node.mappingPairs else {
      typeError(node, path: path, expected: "a mapping")
      return nil
    }
    guard Self.standardTag(node, "map") else {
      report(
        RuleID.invalidType, "unsupported tag \(Self.sanitize(Self.shortTag(node.tag))) on a mapping", at: node,
        path: path)
      return nil
    }
    var out = Fields(pairs)
    for (index, pair) in pairs.enumerated() {
      guard case .string(let key)? = pair.key.resolved else {
        report(RuleID.invalidType, "mapping key must be a string, found \(pair.key.kindName)", at: pair.key, path: path)
        continue
      }
      if let known, !known.contains(key) {
        report(
          RuleID.unknownField, "unknown field \"\(Self.sanitize(key))\"\(Wording.didYouMean(key, among: known))",
          at: pair.key,
          path: Self.join(path, key))
        continue
      }
      out.keep(key, at: index)
    }
    return out
  }

  mutating func sequence(_ node: YAMLNode, path: String) -> [YAMLNode]? {
    if Self.isNull(node) { return nil }
    guard let items = node.sequenceItems else {
      typeError(node, path: path, expected: "a list")
      return nil
    }
    guard Self.standardTag(node, "seq") else {
      report(
        RuleID.invalidType, "unsupported tag \(Self.sanitize(Self.shortTag(node.tag))) on a list", at: node, path: path)
      return nil
    }
    return items
  }

  mutating func string(_ node: YAMLNode, path: String) -> String? {
    switch node.resolved {
    case .string(let s)?: return s
    case .null?: return nil
    default:
      typeError(node, path: path, expected: "a string")
      return nil
    }
  }

  mutating func bool(_ node: YAMLNode, path: String) -> Bool? {
    switch node.resolved {
    case .bool(let b)?: return b
    case .null?: return nil
    default:
      typeError(node, path: path, expected: "a boolean")
      return nil
    }
  }

  /// An integer within `range`; floats with no fraction are accepted as the
  /// JSON decoder does, anything else is an error naming the value.
  mutating func integer(_ node: YAMLNode, path: String, range: ClosedRange<Int>, rule: String) -> Int? {
    switch node.resolved {
    case .integer(let n)?:
      guard range.contains(n) else {
        report(rule, "\(n) is out of range \(range.lowerBound)-\(range.upperBound)", at: node, path: path)
        return nil
      }
      return n
    case .bigInteger(let text)?:
      report(
        rule, "\(Self.sanitize(text)) is out of range \(range.lowerBound)-\(range.upperBound)", at: node, path: path)
      return nil
    case .float(let f)? where f.isFinite && f == f.rounded() && abs(f) < 1e15:
      return integer(
        YAMLNode(content: .scalar(String(Int(f)), .plain), tag: nil, span: node.span), path: path, range: range,
        rule: rule)
    case .null?: return nil
    default:
      typeError(node, path: path, expected: "an integer")
      return nil
    }
  }

  /// A string map such as labels; every key and value must be a YAML string.
  mutating func stringMap(_ node: YAMLNode, path: String, rule: String) -> [String: String] {
    guard let pairs = fields(node, path: path) else { return [:] }
    var out: [String: String] = [:]
    for (key, pair) in pairs {
      switch pair.value.resolved {
      case .string(let value)?: out[key] = value
      // JSON null into a Go string leaves "", so `app:` means the empty value.
      case .null?: out[key] = ""
      default:
        report(
          rule,
          "value of \"\(Self.sanitize(key))\" must be a string, found \(pair.value.kindName) (quote it: \"\(Self.sanitize(pair.value.scalarText ?? ""))\")",
          at: pair.value, path: Self.join(path, key))
      }
    }
    return out
  }

  static func join(_ path: String, _ key: String) -> String {
    let simple = key.utf8.allSatisfy { NameRules.isAlnum($0) || $0 == 0x5f || $0 == 0x2d }
    let part = simple ? key : "[\"\(sanitize(key))\"]"
    if path.isEmpty { return part }
    return simple ? "\(path).\(key)" : path + part
  }

  static func index(_ path: String, _ i: Int) -> String { "\(path)[\(i)]" }

  /// Makes user text safe to print on one line: control characters escaped,
  /// long values cut.
  static func sanitize(_ text: String, limit: Int = 80) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      if out.unicodeScalars.count >= limit {
        out += "..."
        break
      }
      switch scalar {
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7f {
          out += "\\x" + String(scalar.value, radix: 16)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out
  }
}
