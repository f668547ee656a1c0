import YAMLBridge

/// The event decoder met something it leaves to the tree decoder: an
/// unusual shape, a value the tree decoder would report, or a YAML
/// feature (anchor, alias, tag, merge key, duplicate key, a limit).
struct Fallback: Error {}

/// Decodes the Pods, Namespaces, NetworkPolicies and admin policies of a run of List items (a `Chunker`
/// piece) straight from libyaml's events, without building a `YAMLNode`
/// tree: keys are compared as bytes, only the fields a compile reads
/// become Swift values, and the subtrees `LoadOptions.compilePruning`
/// skips are skipped event by event.
///
/// It is a fast path, not a second decoder: it gives up (nil) on anything
/// the tree decoder would report or treat specially, and the caller then
/// reads the piece the tree way, which reports it exactly as before. So
/// whenever it returns an inventory, that inventory is the one the tree
/// path builds from the same bytes (with `compilePruning`), and it holds
/// no diagnostics.
struct EventDecoder: ~Copyable {
  var events: YAMLEventReader
  let file: String
  let limits: YAMLLimits
  let defaultNamespace: String
  /// Open collections, and nodes seen: bounds at least as tight as the
  /// tree builder's, so a stream it would refuse is never decoded here.
  var depth = 0
  var nodes = 0
  /// The key hashes of the open mappings, innermost last (see `KeyScope`).
  var keyHashes: [UInt64] = []
  var inventory = Inventory()

  init(_ buffer: UnsafeBufferPointer<UInt8>, firstLine: Int, file: String, options: LoadOptions) {
    events = YAMLEventReader(buffer, firstLine: firstLine)
    self.file = file
    limits = options.limits
    defaultNamespace = options.defaultNamespace
  }

  /// The inventory of the piece `buffer` (a sequence of List items), or
  /// nil when the tree decoder must read it.
  static func decodeItems(
    _ buffer: UnsafeBufferPointer<UInt8>, firstLine: Int, file: String, options: LoadOptions
  ) -> Inventory? {
    var decoder = EventDecoder(buffer, firstLine: firstLine, file: file, options: options)
    do {
      try decoder.items()
    } catch {
      return nil
    }
    return decoder.inventory
  }

  mutating func items() throws(Fallback) {
    guard try next() == .streamStart, try next() == .documentStart, try next() == .sequenceStart else {
      throw Fallback()
    }
    try forEachItem { decoder throws(Fallback) in try decoder.item() }
    guard try next() == .documentEnd, try next() == .streamEnd else { throw Fallback() }
    inventory.documentCount = 1
  }

  /// The next event, checked against everything the tree builder refuses
  /// or resolves (aliases, anchors, tags, limits).
  mutating func next() throws(Fallback) -> YAMLEventReader.Kind {
    guard events.next() else { throw Fallback() }
    let kind = events.kind
    switch kind {
    case .scalar:
      guard !events.isDecorated, events.bytes.count <= limits.maxScalarBytes else { throw Fallback() }
      nodes += 1
    case .mappingStart, .sequenceStart:
      depth += 1
      nodes += 1
      guard !events.isDecorated, depth < limits.maxDepth else { throw Fallback() }
    case .mappingEnd, .sequenceEnd:
      depth -= 1
    case .alias:
      throw Fallback()
    default:
      break
    }
    guard nodes <= limits.maxNodes else { throw Fallback() }
    return kind
  }

  // MARK: Keys

  /// Where the current mapping's key hashes start in `keyHashes`.
  typealias KeyScope = Int

  mutating func openKeys() -> KeyScope { keyHashes.count }

  mutating func closeKeys(_ scope: KeyScope) { keyHashes.removeSubrange(scope...) }

  /// Takes the current scalar as the next key of the mapping at `scope`.
  /// Gives up on a repeated key (or a hash collision, which only costs a
  /// tree read), a merge key, a non-ASCII key (String equality would
  /// compare it by canonical equivalence, bytes would not) and, unless
  /// `kindAllowed`, a `kind` key: the tree builder prunes below the nearest
  /// mapping with a `kind`, so a nested one would change what it skips.
  mutating func key(in scope: KeyScope, kindAllowed: Bool = false) throws(Fallback) {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in events.bytes {
      guard byte < 0x80 else { throw Fallback() }
      hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    guard !events.isText("<<"), kindAllowed || !events.isText("kind"),
      !keyHashes[scope...].contains(hash)
    else { throw Fallback() }
    keyHashes.append(hash)
  }

  /// For mappings the tree decoder reads with `fields`: the key must
  /// resolve to a string.
  func keyIsString() -> Bool {
    guard events.style == .plain else { return true }
    guard let first = events.bytes.first else { return false }
    switch first {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
      // Compared as bytes: `name` or `type` would otherwise become a String
      // and be matched against every word.
      return !events.isNullOrBoolWord
    default: break
    }
    if case .string = events.resolved { return true }
    return false
  }

  /// The next key of a mapping read field by field, or nil at its end.
  mutating func readKey(in scope: KeyScope, kindAllowed: Bool = false) throws(Fallback) -> Bool {
    switch try next() {
    case .mappingEnd: return false
    case .scalar:
      try key(in: scope, kindAllowed: kindAllowed)
      guard keyIsString() else { throw Fallback() }
      return true
    default: throw Fallback()
    }
  }

  // MARK: Values

  /// Skips the value that starts next. `built`: the tree builder would
  /// build it (so its mappings' keys are checked as it checks them);
  /// otherwise it is content `compilePruning` skips.
  mutating func skipValue(built: Bool) throws(Fallback) {
    try skip(try next(), built: built)
  }

  mutating func skip(_ kind: YAMLEventReader.Kind, built: Bool) throws(Fallback) {
    switch kind {
    case .scalar: return
    case .sequenceStart:
      while true {
        let item = try next()
        if item == .sequenceEnd { return }
        try skip(item, built: built)
      }
    case .mappingStart:
      let scope = openKeys()
      defer { closeKeys(scope) }
      while true {
        switch try next() {
        case .mappingEnd: return
        case .scalar:
          if built { try key(in: scope) }
          try skipValue(built: built)
        default: throw Fallback()
        }
      }
    default: throw Fallback()
    }
  }

  /// A string field: its text, or nil for null; anything else would be a
  /// type error.
  mutating func string() throws(Fallback) -> String? {
    guard try next() == .scalar else { throw Fallback() }
    switch events.resolved {
    case .string(let text): return text
    case .null: return nil
    default: throw Fallback()
    }
  }

  mutating func bool() throws(Fallback) -> Bool? {
    guard try next() == .scalar else { throw Fallback() }
    switch events.resolved {
    case .bool(let value): return value
    case .null: return nil
    default: throw Fallback()
    }
  }

  /// Whether the value that starts next is null (then it is consumed) or
  /// starts the collection `expected` (then its start is consumed).
  /// Anything else would be a type error.
  mutating func open(_ expected: YAMLEventReader.Kind) throws(Fallback) -> Bool {
    let kind = try next()
    if kind == expected { return true }
    guard kind == .scalar, case .null = events.resolved else { throw Fallback() }
    return false
  }

  // MARK: Sequences

  /// What a sequence of mappings does with a null item: gives up (the tree
  /// reports it or passes over it in silence), passes over it (as the tree
  /// does), or hands it to the reader (where the tree gives it a meaning).
  enum NullItem { case refused, skipped, passed }

  /// Reads the rest of a sequence whose start was just read: `body` is
  /// called at each mapping item's start (it reads the mapping to its end)
  /// and, with `nulls: .passed`, at each null item. Any other item gives up.
  @inline(__always)
  mutating func forEachItem(
    nulls: NullItem = .refused, _ body: (inout EventDecoder) throws(Fallback) -> Void
  ) throws(Fallback) {
    while true {
      switch try next() {
      case .sequenceEnd: return
      case .mappingStart: try body(&self)
      case .scalar:
        guard nulls != .refused, case .null = events.resolved else { throw Fallback() }
        if nulls == .passed { try body(&self) }
      default: throw Fallback()
      }
    }
  }

  /// `forEachItem` on the sequence that starts next; a null value has no items.
  @inline(__always)
  mutating func forEachMapping(
    nulls: NullItem = .refused, _ body: (inout EventDecoder) throws(Fallback) -> Void
  ) throws(Fallback) {
    guard try open(.sequenceStart) else { return }
    try forEachItem(nulls: nulls, body)
  }

  /// What `read` makes of each item of the sequence of mappings that starts
  /// next (see `forEachItem`), nil results left out.
  @inline(__always)
  mutating func mappings<Item>(
    nulls: NullItem = .refused, _ read: (inout EventDecoder) throws(Fallback) -> Item?
  ) throws(Fallback) -> [Item] {
    var out: [Item] = []
    try forEachMapping(nulls: nulls) { decoder throws(Fallback) in
      if let item = try read(&decoder) { out.append(item) }
    }
    return out
  }

  /// What `read` makes of each scalar item of the sequence that starts
  /// next, nil results left out, or nil when the value is null; any other
  /// item gives up.
  @inline(__always)
  mutating func scalars<Item>(_ read: (borrowing EventDecoder) throws(Fallback) -> Item?) throws(Fallback) -> [Item]? {
    guard try open(.sequenceStart) else { return nil }
    var out: [Item] = []
    while true {
      switch try next() {
      case .sequenceEnd: return out
      case .scalar: if let item = try read(self) { out.append(item) }
      default: throw Fallback()
      }
    }
  }

  /// A map of strings (labels, annotations) in the tree decoder's terms:
  /// null values read as "", `check` must pass on every key and value.
  mutating func stringMap(check: (String, String) -> Bool) throws(Fallback) -> [String: String] {
    var out: [String: String] = [:]
    guard try open(.mappingStart) else { return out }
    let scope = openKeys()
    defer { closeKeys(scope) }
    while try readKey(in: scope, kindAllowed: true) {
      let key = events.text
      let value = try string() ?? ""
      guard check(key, value) else { throw Fallback() }
      out[key] = value
    }
    return out
  }

  /// Labels or `matchLabels`: valid keys (qualified names) and values.
  mutating func labelMap() throws(Fallback) -> [String: String] {
    try stringMap { key, value in NameRules.qualifiedName(key) == nil && NameRules.labelValue(value) == nil }
  }
}
