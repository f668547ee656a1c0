internal import CLibYAML

/// Reads YAML streams through libyaml's event API into `YAMLNode` trees.
///
/// The event API (not `yaml_parser_load`) keeps the cost near libyaml's own
/// speed; the tree is built with an explicit stack, so nesting depth is a
/// checked limit rather than a stack overflow.
public enum YAMLParser {
  /// Parses every document of `bytes`. Never throws: problems come back in
  /// `YAMLStream.errors`, with the documents read before a fatal one.
  public static func parse(_ bytes: [UInt8], limits: YAMLLimits = .default, firstLine: Int = 1, pruning: Pruning? = nil)
    -> YAMLStream
  {
    bytes.withUnsafeBufferPointer { parse($0, limits: limits, firstLine: firstLine, pruning: pruning) }
  }

  /// Parses bytes that the caller keeps alive for the duration of the call;
  /// `firstLine` is the line the bytes start at in their file, so marks of a
  /// piece of a larger file point into that file.
  public static func parse(
    _ buffer: UnsafeBufferPointer<UInt8>, limits: YAMLLimits = .default, firstLine: Int = 1, pruning: Pruning? = nil
  ) -> YAMLStream {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) != 0 else {
      return YAMLStream(
        documents: [],
        errors: [
          YAMLError(kind: .syntax, message: "libyaml could not start (out of memory)", mark: Mark(line: 1, column: 1))
        ])
    }
    defer { yaml_parser_delete(&parser) }
    // An empty buffer may have a nil base address; libyaml wants a valid pointer.
    let empty: [UInt8] = [0]
    return empty.withUnsafeBufferPointer { fallback -> YAMLStream in
      let base = buffer.baseAddress ?? fallback.baseAddress!
      yaml_parser_set_input_string(&parser, base, buffer.count)
      var builder = TreeBuilder(limits: limits, lineOffset: firstLine - 1, pruning: pruning)
      return builder.run(&parser)
    }
  }
}

/// The stack machine that turns events into nodes.
struct TreeBuilder {
  let limits: YAMLLimits
  var documents: [YAMLDocument] = []
  var errors: [YAMLError] = []
  var stack: [Frame] = []
  var anchors: [String: Anchored] = [:]
  var documentRoot: YAMLNode?
  var documentStart = Mark(line: 1, column: 1)
  var documentNodes = 0
  var aliasNodes = 0

  struct Anchored {
    var node: YAMLNode
    var count: Int
  }

  struct Frame {
    var isMapping: Bool
    var tag: String?
    var anchor: String?
    var start: Mark
    var items: [YAMLNode] = []
    var pairs: [YAMLPair] = []
    var pendingKey: YAMLNode?
    /// Only for large mappings; small ones are scanned (cheaper than hashing).
    var seenKeys: [String: Mark]?
    var count = 1
    /// The value of this mapping's `kind` key, once read.
    var kind: String?
  }

  let lineOffset: Int
  let pruning: Pruning?
  /// Inside a pruned subtree: how deep, and where it started.
  var skipDepth = 0
  var skipStart = Mark(line: 1, column: 1)
  var prunedAnchors = Set<String>()
  /// The frames' keys, kept beside the stack (only with pruning), so a
  /// path is a slice, not a new array per value.
  var keyPath: [String] = []

  init(limits: YAMLLimits, lineOffset: Int = 0, pruning: Pruning? = nil) {
    self.limits = limits
    self.lineOffset = lineOffset
    self.pruning = pruning
  }

  /// Whether the value about to start (under the top mapping's pending key)
  /// is one the consumer said it never reads.
  func shouldSkipValue() -> Bool {
    guard let pruning, let top = stack.last, top.isMapping, let key = top.pendingKey?.scalarText else { return false }
    guard let k = stack.lastIndex(where: { $0.kind != nil }), stack.count - k - 1 <= pruning.maxDepth else {
      return false
    }
    return pruning.skip(stack[k].kind!, keyPath[(k + 1)...], key)
  }

  static func anchorName(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? { string(pointer) }

  mutating func run(_ parser: inout yaml_parser_t) -> YAMLStream {
    var event = yaml_event_t()
    while true {
      guard yaml_parser_parse(&parser, &event) != 0 else {
        errors.append(syntaxError(parser))
        break
      }
      let done = event.type == YAML_STREAM_END_EVENT
      let failure = handle(&event)
      yaml_event_delete(&event)
      if let failure {
        errors.append(failure)
        break
      }
      if done { break }
    }
    return YAMLStream(documents: documents, errors: errors)
  }

  func mark(_ m: yaml_mark_t) -> Mark {
    Mark(line: Int(m.line) + 1 + lineOffset, column: Int(m.column) + 1)
  }

  func syntaxError(_ parser: yaml_parser_t) -> YAMLError {
    var message = parser.problem.map { String(cString: $0) } ?? "unknown libyaml error"
    var mark = self.mark(parser.problem_mark)
    if parser.error == YAML_READER_ERROR {
      // Reader errors carry a byte offset, not a line; say where in bytes.
      message += " at byte offset \(parser.problem_offset)"
      if parser.problem_value >= 0 { message += " (value 0x\(String(parser.problem_value, radix: 16)))" }
      mark = self.mark(parser.mark)
    }
    if let context = parser.context {
      let where_ = self.mark(parser.context_mark)
      message += " \(String(cString: context)) started at \(where_)"
    }
    return YAMLError(kind: .syntax, message: message, mark: mark)
  }

  static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    guard let pointer else { return nil }
    return String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
  }

  mutating func handle(_ event: inout yaml_event_t) -> YAMLError? {
    let start = mark(event.start_mark)
    let end = mark(event.end_mark)
    if skipDepth > 0 { return skip(&event, end: end) }
    switch event.type {
    case YAML_DOCUMENT_START_EVENT:
      documentRoot = nil
      documentStart = start
      anchors = [:]
      documentNodes = 0
      aliasNodes = 0
    case YAML_DOCUMENT_END_EVENT:
      documents.append(YAMLDocument(index: documents.count, root: documentRoot, start: documentStart))
      anchors = [:]
    case YAML_SCALAR_EVENT:
      let s = event.data.scalar
      let length = Int(s.length)
      if pruning != nil, shouldSkipValue() {
        if let anchor = Self.string(s.anchor) { prunedAnchors.insert(anchor) }
        return add(Self.null(SourceSpan(start: start, end: end)), count: 1, newNodes: 1, anchor: nil)
      }
      if length > limits.maxScalarBytes {
        return YAMLError(
          kind: .scalarLimit,
          message: "scalar of \(length) bytes exceeds the limit of \(limits.maxScalarBytes) bytes", mark: start)
      }
      let text: String
      if let value = s.value, length > 0 {
        text = String(decoding: UnsafeBufferPointer(start: value, count: length), as: UTF8.self)
      } else {
        text = ""
      }
      let style: ScalarStyle
      switch s.style {
      case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
      case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
      case YAML_LITERAL_SCALAR_STYLE: style = .literal
      case YAML_FOLDED_SCALAR_STYLE: style = .folded
      default: style = .plain
      }
      let node = YAMLNode(
        content: .scalar(text, style), tag: Self.string(s.tag), span: SourceSpan(start: start, end: end))
      return add(node, count: 1, newNodes: 1, anchor: Self.string(s.anchor))
    case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
      let isMapping = event.type == YAML_MAPPING_START_EVENT
      if stack.count >= limits.maxDepth {
        return YAMLError(
          kind: .depthLimit, message: "nesting deeper than \(limits.maxDepth) levels", mark: start)
      }
      let tag = isMapping ? Self.string(event.data.mapping_start.tag) : Self.string(event.data.sequence_start.tag)
      let anchor =
        isMapping ? Self.string(event.data.mapping_start.anchor) : Self.string(event.data.sequence_start.anchor)
      if pruning != nil, shouldSkipValue() {
        if let anchor { prunedAnchors.insert(anchor) }
        skipDepth = 1
        skipStart = start
        return nil
      }
      if pruning != nil {
        // The key this collection sits under in its parent (`-` in a list).
        let top = stack.last
        keyPath.append(top.map { $0.isMapping ? ($0.pendingKey?.scalarText ?? "?") : "-" } ?? "")
      }
      stack.append(Frame(isMapping: isMapping, tag: tag, anchor: anchor, start: start))
    case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
      guard var frame = stack.popLast() else { return nil }
      if pruning != nil { keyPath.removeLast() }
      let span = SourceSpan(start: frame.start, end: end)
      let node: YAMLNode
      if frame.isMapping {
        if let failure = Self.applyMerges(&frame) { return failure }
        node = YAMLNode(content: .mapping(frame.pairs), tag: frame.tag, span: span)
      } else {
        node = YAMLNode(content: .sequence(frame.items), tag: frame.tag, span: span)
      }
      return add(node, count: frame.count, newNodes: 1, anchor: frame.anchor)
    case YAML_ALIAS_EVENT:
      let name = Self.string(event.data.alias.anchor) ?? ""
      guard let anchored = anchors[name] else {
        if prunedAnchors.contains(name) {
          return YAMLError(kind: .prunedAlias, message: "alias '\(name)' refers into skipped content", mark: start)
        }
        return YAMLError(kind: .undefinedAlias, message: "unknown anchor '\(name)' referenced", mark: start)
      }
      aliasNodes += anchored.count
      if aliasNodes > limits.maxAliasNodes {
        return YAMLError(
          kind: .aliasLimit,
          message: "aliases expand to more than \(limits.maxAliasNodes) nodes (alias bomb?)", mark: start)
      }
      return add(anchored.node, count: anchored.count, newNodes: anchored.count, anchor: nil)
    default:
      break
    }
    return nil
  }

  /// Attaches a finished node to its parent (or makes it the document root).
  /// Consumes the events of a pruned subtree without building anything;
  /// the subtree becomes one null node so its key still has a place.
  mutating func skip(_ event: inout yaml_event_t, end: Mark) -> YAMLError? {
    switch event.type {
    case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
      skipDepth += 1
      let anchor =
        event.type == YAML_MAPPING_START_EVENT ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
      if let name = Self.string(anchor) { prunedAnchors.insert(name) }
    case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
      skipDepth -= 1
      if skipDepth == 0 {
        return add(Self.null(SourceSpan(start: skipStart, end: end)), count: 1, newNodes: 1, anchor: nil)
      }
    case YAML_SCALAR_EVENT:
      if let name = Self.string(event.data.scalar.anchor) { prunedAnchors.insert(name) }
    default:
      break
    }
    return nil
  }

  static func null(_ span: SourceSpan) -> YAMLNode { YAMLNode(content: .scalar("", .plain), tag: nil, span: span) }

  /// `count` is the node's size for alias accounting; `newNodes` how many
  /// nodes it adds to the document (1, or an alias's whole expansion).
  mutating func add(_ node: YAMLNode, count: Int, newNodes: Int, anchor: String?) -> YAMLError? {
    documentNodes += newNodes
    if documentNodes > limits.maxNodes {
      return YAMLError(kind: .nodeLimit, message: "document has more than \(limits.maxNodes) nodes", mark: node.start)
    }
    if let anchor { anchors[anchor] = Anchored(node: node, count: count) }
    guard !stack.isEmpty else {
      documentRoot = node
      return nil
    }
    let top = stack.count - 1
    stack[top].count += count
    if !stack[top].isMapping {
      stack[top].items.append(node)
    } else if let key = stack[top].pendingKey {
      stack[top].pendingKey = nil
      if case .scalar("kind", _) = key.content, case .scalar(let kind, _) = node.content { stack[top].kind = kind }
      stack[top].pairs.append(YAMLPair(key: key, value: node))
    } else {
      if let text = node.scalarText, !Self.isMergeKey(node) {
        if let first = firstMark(of: text, in: top) {
          errors.append(
            YAMLError(
              kind: .duplicateKey, message: "duplicate key '\(text)' (first defined at \(first))",
              mark: node.start, related: first, isFatal: false))
        } else if stack[top].seenKeys != nil {
          stack[top].seenKeys![text] = node.start
        } else if stack[top].pairs.count >= 16 {
          var seen: [String: Mark] = [:]
          for pair in stack[top].pairs { if let t = pair.key.scalarText, seen[t] == nil { seen[t] = pair.key.start } }
          seen[text] = node.start
          stack[top].seenKeys = seen
        }
      }
      stack[top].pendingKey = node
    }
    return nil
  }

  /// Where an earlier key with this text stands in the mapping, if any.
  func firstMark(of text: String, in top: Int) -> Mark? {
    if let seen = stack[top].seenKeys { return seen[text] }
    for pair in stack[top].pairs where pair.key.scalarText == text { return pair.key.start }
    return nil
  }

  static func isMergeKey(_ node: YAMLNode) -> Bool {
    guard case .scalar("<<", let style) = node.content else { return false }
    if let tag = node.tag { return tag == "tag:yaml.org,2002:merge" }
    return style == .plain
  }

  /// Applies `<<` merge keys the way go-yaml does: keys written in the mapping
  /// win, then earlier merge sources over later ones. Duplicate keys keep the
  /// last value, as the Kubernetes decoder would before rejecting them.
  static func applyMerges(_ frame: inout Frame) -> YAMLError? {
    guard frame.pairs.contains(where: { isMergeKey($0.key) }) else { return nil }
    var explicit: [YAMLPair] = []
    var sources: [YAMLNode] = []
    for pair in frame.pairs {
      guard isMergeKey(pair.key) else {
        explicit.append(pair)
        continue
      }
      switch pair.value.content {
      case .mapping: sources.append(pair.value)
      case .sequence(let items) where items.allSatisfy({ $0.mappingPairs != nil }): sources.append(contentsOf: items)
      default:
        return YAMLError(
          kind: .invalidMerge,
          message: "merge key '<<' needs a mapping or a list of mappings, not a \(pair.value.kindName)",
          mark: pair.value.start)
      }
    }
    var present = Set(explicit.compactMap { $0.key.scalarText })
    for source in sources {
      for pair in source.mappingPairs ?? [] {
        guard let text = pair.key.scalarText, !present.contains(text) else { continue }
        present.insert(text)
        explicit.append(pair)
      }
    }
    frame.pairs = explicit
    return nil
  }
}
