/// How a scalar was written. Quoting matters to Kubernetes: `port: "80"` is a
/// string (a named port), `port: 80` an integer.
public enum ScalarStyle: Sendable, Hashable {
  case plain, singleQuoted, doubleQuoted, literal, folded
}

/// One node of a YAML document with the span it came from.
///
/// Aliases are already expanded (sharing storage, so expansion costs no copy)
/// and merge keys (`<<`) already applied, so consumers see what a Kubernetes
/// decoder sees.
public struct YAMLNode: Sendable {
  public enum Content: Sendable {
    case scalar(String, ScalarStyle)
    case sequence([YAMLNode])
    case mapping([YAMLPair])
  }

  public var content: Content
  /// The explicit tag, fully resolved (`tag:yaml.org,2002:str`), or nil.
  public var tag: String?
  public var span: SourceSpan

  public init(content: Content, tag: String?, span: SourceSpan) {
    self.content = content
    self.tag = tag
    self.span = span
  }

  public var start: Mark { span.start }

  /// The scalar text, whatever it resolves to; nil for collections.
  public var scalarText: String? {
    if case .scalar(let text, _) = content { return text }
    return nil
  }

  public var sequenceItems: [YAMLNode]? {
    if case .sequence(let items) = content { return items }
    return nil
  }

  public var mappingPairs: [YAMLPair]? {
    if case .mapping(let pairs) = content { return pairs }
    return nil
  }

  /// The value for a scalar key in a mapping node; nil if absent or not a mapping.
  public subscript(key: String) -> YAMLNode? {
    guard case .mapping(let pairs) = content else { return nil }
    for pair in pairs where pair.key.scalarText == key { return pair.value }
    return nil
  }

  /// What the YAML 1.1 resolver (the one Kubernetes' decoder uses) makes of
  /// this node: strings stay strings only when quoted or not bool/int/float/null-like.
  public var resolved: ResolvedScalar? {
    guard case .scalar(let text, let style) = content else { return nil }
    return ScalarResolver.resolve(text, style: style, tag: tag)
  }

  /// A short name of the node's kind for messages: "mapping", "sequence", "string", ...
  public var kindName: String {
    switch content {
    case .mapping: return "mapping"
    case .sequence: return "sequence"
    case .scalar: return resolved?.kindName ?? "scalar"
    }
  }
}

/// A key and its value; keys keep their own spans so a finding about a field
/// can point at the field name.
public struct YAMLPair: Sendable {
  public var key: YAMLNode
  public var value: YAMLNode

  public init(key: YAMLNode, value: YAMLNode) {
    self.key = key
    self.value = value
  }
}

/// One document of a stream.
public struct YAMLDocument: Sendable {
  /// Zero-based position of the document in its stream.
  public var index: Int
  /// The root node; nil for an empty document (`---` with nothing after it).
  public var root: YAMLNode?
  public var start: Mark

  public init(index: Int, root: YAMLNode?, start: Mark) {
    self.index = index
    self.root = root
    self.start = start
  }
}
