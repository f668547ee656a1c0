/// What went wrong while reading YAML, with the position it went wrong at.
public struct YAMLError: Error, Sendable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    /// libyaml refused the text; the message is libyaml's own problem text.
    case syntax
    /// The same key twice in one mapping (libyaml accepts it; kubectl does not).
    case duplicateKey
    /// Nesting deeper than `YAMLLimits.maxDepth`.
    case depthLimit
    /// Aliases expanding to more nodes than `YAMLLimits.maxAliasNodes`.
    case aliasLimit
    /// A document with more nodes than `YAMLLimits.maxNodes`.
    case nodeLimit
    /// A scalar longer than `YAMLLimits.maxScalarBytes`.
    case scalarLimit
    /// `*name` with no `&name` before it.
    case undefinedAlias
    /// A `<<` merge key whose value is not a mapping or a list of mappings.
    case invalidMerge
    /// An alias to an anchor inside content the consumer asked to skip;
    /// parse again without pruning.
    case prunedAlias
  }

  public var kind: Kind
  /// Lowercase, carries the offending value where there is one.
  public var message: String
  public var mark: Mark
  /// Where the first of two duplicate keys stands, for duplicate keys.
  public var related: Mark?
  /// True when parsing stopped here; false for problems reported alongside a full parse.
  public var isFatal: Bool

  public init(kind: Kind, message: String, mark: Mark, related: Mark? = nil, isFatal: Bool = true) {
    self.kind = kind
    self.message = message
    self.mark = mark
    self.related = related
    self.isFatal = isFatal
  }
}

/// Bounds that keep hostile input from exhausting memory or time
/// (the "billion laughs" class of bug, CVE-2019-11253).
public struct YAMLLimits: Sendable, Hashable {
  /// Deepest nesting of collections accepted.
  public var maxDepth: Int
  /// Nodes that alias expansion may add to one document.
  public var maxAliasNodes: Int
  /// Nodes in one document, aliases included.
  public var maxNodes: Int
  /// Longest single scalar, in bytes.
  public var maxScalarBytes: Int

  public init(
    maxDepth: Int = 512, maxAliasNodes: Int = 100_000, maxNodes: Int = 50_000_000,
    maxScalarBytes: Int = 64 << 20
  ) {
    self.maxDepth = maxDepth
    self.maxAliasNodes = maxAliasNodes
    self.maxNodes = maxNodes
    self.maxScalarBytes = maxScalarBytes
  }

  public static let `default` = YAMLLimits()
}

/// Subtrees a consumer never reads, so the parser need not build them
/// (their events are still parsed and checked by libyaml). The subtree
/// becomes a null node. `skip` gets the `kind` of the nearest enclosing
/// mapping that has one, the keys from that mapping down (`-` for list
/// items), and the key of the value about to start.
public struct Pruning: Sendable {
  public var skip: @Sendable (_ kind: String, _ path: ArraySlice<String>, _ key: String) -> Bool
  /// Deeper paths are never skipped (and never asked about).
  public var maxDepth: Int

  public init(
    maxDepth: Int, skip: @escaping @Sendable (_ kind: String, _ path: ArraySlice<String>, _ key: String) -> Bool
  ) {
    self.maxDepth = maxDepth
    self.skip = skip
  }
}

/// Everything read from one stream: the documents up to the first fatal error,
/// and every error met (at most one fatal, always last).
public struct YAMLStream: Sendable {
  public var documents: [YAMLDocument]
  public var errors: [YAMLError]

  public init(documents: [YAMLDocument], errors: [YAMLError]) {
    self.documents = documents
    self.errors = errors
  }
}
