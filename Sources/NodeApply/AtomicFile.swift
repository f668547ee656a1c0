import Foundation

/// Whole files or nothing: the one way policyc replaces a file it owns
/// (rules, sets, state, the agent's record). The bytes go to a temporary
/// file beside the target, are synced to disk, and the temporary file is
/// renamed over the target, so a reader, or the next boot, sees the old
/// file or the new one, never a part or an empty file.
public enum AtomicFile {
  /// Writes `bytes` to `path`, creating missing parent folders first.
  public static func write(_ bytes: some Collection<UInt8>, to path: String) throws(ApplyError) {
    try replace(path) { writeAll($0, bytes) }
  }

  /// Fills a temporary file beside `path` with `fill` (false: it failed,
  /// errno says why), syncs it and renames it to `path`; on any failure
  /// the temporary file is removed and `path` is as it was.
  static func replace(_ path: String, _ fill: (Int32) -> Bool) throws(ApplyError) {
    let (fd, temp) = try openTemporary(beside: path)
    let ok = fill(fd) && fsync(fd) == 0
    close(fd)
    guard ok, rename(temp, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temp)
      throw ApplyError("\(path): cannot write: \(reason)")
    }
  }

  /// A new temporary file beside `path` (its folder created if missing),
  /// open for writing: the caller writes, syncs and renames it to `path`,
  /// or unlinks it.
  public static func openTemporary(beside path: String) throws(ApplyError) -> (fd: Int32, temp: String) {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw ApplyError("\(path): cannot write: cannot create the directory \(directory)")
    }
    let temp = "\(directory)/.\(url.lastPathComponent).policyc-\(getpid()).tmp"
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0o644)
    guard fd >= 0 else { throw ApplyError("\(path): cannot write: \(String(cString: strerror(errno)))") }
    return (fd, temp)
  }

  /// Writes `text` as UTF-8 to `path` (see `write(_:to:)` for bytes),
  /// straight from the string's own storage.
  public static func write(_ text: String, to path: String) throws(ApplyError) {
    try write(pieces: [text], to: path)
  }

  /// Writes the pieces, one after another, as one file to `path`: with
  /// writev, from the strings' own storage, never joined into one.
  public static func write(pieces: [String], to path: String) throws(ApplyError) {
    try replace(path) { fd in withUTF8(pieces) { writeAll(fd, $0) } }
  }

  /// Calls `body` with the UTF-8 bytes of every piece, in order, valid
  /// for the length of the call.
  public static func withUTF8<R>(_ pieces: [String], _ body: ([UnsafeRawBufferPointer]) -> R) -> R {
    var contiguous = pieces
    for i in contiguous.indices { contiguous[i].makeContiguousUTF8() }
    func nest(_ i: Int, _ buffers: inout [UnsafeRawBufferPointer]) -> R {
      guard i < contiguous.count else { return body(buffers) }
      return contiguous[i].utf8.withContiguousStorageIfAvailable { bytes in
        buffers.append(UnsafeRawBufferPointer(bytes))
        return nest(i + 1, &buffers)
      }!
    }
    var buffers: [UnsafeRawBufferPointer] = []
    buffers.reserveCapacity(contiguous.count)
    return nest(0, &buffers)
  }

  /// Writes every byte to `fd`, again after an interrupted call; false on
  /// any other failure (errno says which).
  public static func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
    if let written = bytes.withContiguousStorageIfAvailable({ writeAll(fd, UnsafeRawBufferPointer($0)) }) {
      return written
    }
    return Array(bytes).withUnsafeBytes { writeAll(fd, $0) }
  }

  /// Writes every byte of `buffers`, in order: `writev` takes up to 1,024
  /// of them a call (IOV_MAX), and a short write resumes where it stopped.
  public static func writeAll(_ fd: Int32, _ buffers: [UnsafeRawBufferPointer]) -> Bool {
    var rest = buffers.filter { $0.count > 0 }[...]
    while !rest.isEmpty {
      let batch = rest.prefix(1024).map {
        iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
      }
      let n = writev(fd, batch, Int32(batch.count))
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { return false }
      var written = n
      while written > 0, let head = rest.first {
        if head.count <= written {
          written -= head.count
          rest.removeFirst()
        } else {
          rest[rest.startIndex] = UnsafeRawBufferPointer(rebasing: head[written...])
          written = 0
        }
      }
    }
    return true
  }

  static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { return false }
      offset += n
    }
    return true
  }
}
