/// One file's text as runs of bytes, in order. The files of a fleet share
/// most of their text (a shared chain's rules, a shared set's members): a
/// shared run is kept once and every file that has it is written from it,
/// not copied into a string of its own first.
public struct FleetText: Sendable {
  /// Bytes written once, when made, and only read after: any thread may
  /// hold and read them. Freed with the last holder.
  public final class Run: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer

    public init(_ text: String) {
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: text.utf8.count, alignment: 1)
      if text.utf8.withContiguousStorageIfAvailable({ buffer.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
        buffer.copyBytes(from: Array(text.utf8))
      }
      bytes = UnsafeRawBufferPointer(buffer)
    }

    deinit { bytes.deallocate() }
  }

  public private(set) var runs: [Run] = []
  /// Text of this file alone, not yet a run.
  private var pending = ""
  /// Bytes in all.
  public private(set) var count = 0

  public init() {}

  public init(_ text: String) {
    append(text)
  }

  /// Text of this file alone.
  public mutating func append(_ text: String) {
    pending += text
    count += text.utf8.count
  }

  /// A run other files share.
  public mutating func append(_ run: Run) {
    close()
    runs.append(run)
    count += run.bytes.count
  }

  /// The runs, with the text appended since the last shared run as the last
  /// one.
  public func closed() -> Self {
    var copy = self
    copy.close()
    return copy
  }

  mutating func close() {
    guard !pending.isEmpty else { return }
    runs.append(Run(pending))
    pending = ""
  }

  /// The whole text (for tests and small files).
  public var text: String {
    var out = ""
    out.reserveCapacity(count)
    for run in closed().runs { out += String(decoding: run.bytes, as: UTF8.self) }
    return out
  }

  /// Calls `body` with every run's bytes, in order, kept alive meanwhile;
  /// the text since the last shared run is read where it is, not copied
  /// into a run first (in rules mode that is megabytes per node).
  public func withBuffers<R>(_ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
    var tail = pending
    // Contiguous now, so the storage is always available.
    tail.makeContiguousUTF8()
    return try withExtendedLifetime(runs) {
      try tail.utf8.withContiguousStorageIfAvailable { bytes in
        try body(runs.map(\.bytes) + (bytes.isEmpty ? [] : [UnsafeRawBufferPointer(bytes)]))
      }!
    }
  }
}
