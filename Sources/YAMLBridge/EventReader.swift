internal import CLibYAML

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// libyaml's event stream as Swift values, for consumers that decode a few
/// known fields without building a `YAMLNode` tree (see `YAMLParser` for
/// the tree). A scalar's bytes are borrowed from libyaml and valid only
/// until the next call to `next()`; marks count lines from `firstLine`.
/// A noncopyable struct, not a class: its state is read for every event,
/// and a class's stored properties pay dynamic exclusivity checks.
public struct YAMLEventReader: ~Copyable {
  public enum Kind: Sendable, Equatable {
    case streamStart, streamEnd, documentStart, documentEnd, alias, scalar
    case sequenceStart, sequenceEnd, mappingStart, mappingEnd
  }

  private let parser: UnsafeMutablePointer<yaml_parser_t>
  private let raw: UnsafeMutablePointer<yaml_event_t>
  private var holdsEvent = false
  private var initialized = false
  private var ended = false
  private let lineOffset: Int
  /// A one-byte stand-in for an empty buffer, whose base may be nil.
  private let empty: UnsafeMutablePointer<UInt8>

  /// The current event's kind, valid after `next()` returned true.
  public private(set) var kind: Kind = .streamStart
  /// True when libyaml stopped on a syntax error (the reader gives no
  /// message: a consumer that meets one reads the input the tree way).
  public private(set) var failed = false

  /// Reads `buffer`, which the caller keeps alive and unchanged for the
  /// reader's whole life.
  public init(_ buffer: UnsafeBufferPointer<UInt8>, firstLine: Int = 1) {
    parser = .allocate(capacity: 1)
    raw = .allocate(capacity: 1)
    empty = .allocate(capacity: 1)
    empty.initialize(to: 0)
    lineOffset = firstLine - 1
    parser.initialize(to: yaml_parser_t())
    raw.initialize(to: yaml_event_t())
    if yaml_parser_initialize(parser) == 0 {
      failed = true
      return
    }
    initialized = true
    yaml_parser_set_input_string(parser, buffer.baseAddress ?? UnsafePointer(empty), buffer.count)
  }

  deinit {
    if holdsEvent { yaml_event_delete(raw) }
    if initialized { yaml_parser_delete(parser) }
    parser.deallocate()
    raw.deallocate()
    empty.deallocate()
  }

  /// Moves to the next event; false at a syntax error (see `failed`) or
  /// after the end of the stream.
  public mutating func next() -> Bool {
    if holdsEvent {
      yaml_event_delete(raw)
      holdsEvent = false
    }
    guard !failed, !ended else { return false }
    guard yaml_parser_parse(parser, raw) != 0 else {
      failed = true
      return false
    }
    holdsEvent = true
    switch raw.pointee.type {
    case YAML_STREAM_START_EVENT: kind = .streamStart
    case YAML_STREAM_END_EVENT:
      kind = .streamEnd
      ended = true
    case YAML_DOCUMENT_START_EVENT: kind = .documentStart
    case YAML_DOCUMENT_END_EVENT: kind = .documentEnd
    case YAML_ALIAS_EVENT: kind = .alias
    case YAML_SCALAR_EVENT: kind = .scalar
    case YAML_SEQUENCE_START_EVENT: kind = .sequenceStart
    case YAML_SEQUENCE_END_EVENT: kind = .sequenceEnd
    case YAML_MAPPING_START_EVENT: kind = .mappingStart
    default: kind = .mappingEnd
    }
    return true
  }

  /// Where the current event starts and where it ends (just past it).
  public var start: Mark { mark(raw.pointee.start_mark) }
  public var end: Mark { mark(raw.pointee.end_mark) }

  private func mark(_ m: yaml_mark_t) -> Mark {
    Mark(line: Int(m.line) + 1 + lineOffset, column: Int(m.column) + 1)
  }

  /// True when the current scalar or collection start carries an anchor or
  /// an explicit tag (`!`, `!!str`, ...), and for every alias: the shapes a
  /// tree decoder resolves and a field reader leaves to it.
  public var isDecorated: Bool {
    let data = raw.pointee.data
    switch kind {
    case .scalar: return data.scalar.anchor != nil || data.scalar.tag != nil
    case .mappingStart: return data.mapping_start.anchor != nil || data.mapping_start.tag != nil
    case .sequenceStart: return data.sequence_start.anchor != nil || data.sequence_start.tag != nil
    case .alias: return true
    default: return false
    }
  }

  /// The current scalar's style.
  public var style: ScalarStyle {
    switch raw.pointee.data.scalar.style {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
    case YAML_LITERAL_SCALAR_STYLE: return .literal
    case YAML_FOLDED_SCALAR_STYLE: return .folded
    default: return .plain
    }
  }

  /// The current scalar's bytes (UTF-8), borrowed until `next()`.
  public var bytes: UnsafeBufferPointer<UInt8> {
    let s = raw.pointee.data.scalar
    guard let value = s.value, s.length > 0 else { return UnsafeBufferPointer(start: empty, count: 0) }
    return UnsafeBufferPointer(start: value, count: Int(s.length))
  }

  /// Whether the current scalar is exactly `text`, compared as bytes.
  public func isText(_ text: StaticString) -> Bool {
    let s = raw.pointee.data.scalar
    let length = text.utf8CodeUnitCount
    guard Int(s.length) == length else { return false }
    guard length > 0, let value = s.value else { return true }
    return memcmp(value, text.utf8Start, length) == 0
  }

  /// Whether the current scalar, plain and starting with a letter, is one
  /// of the null and boolean words (`ScalarResolver.letterWords`) rather
  /// than a string: compared as bytes, without making a String.
  public var isNullOrBoolWord: Bool {
    raw.pointee.data.scalar.length <= 5 && ScalarResolver.letterWords.contains { isText($0) }
  }

  /// The current scalar as a String.
  public var text: String { String(decoding: bytes, as: UTF8.self) }

  /// What the Kubernetes decoder makes of the current (untagged) scalar.
  public var resolved: ResolvedScalar { ScalarResolver.resolve(text, style: style, tag: nil) }
}
