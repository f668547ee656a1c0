import Foundation

/// Writes whole files around the page cache (`O_DIRECT`), for runs that
/// write a gigabyte and more at once (`compile --all-nodes`).
///
/// A buffered write copies every byte into page-cache pages the kernel
/// takes fresh for each new file. On a virtual machine, touching fresh
/// memory is slow: a 1.3 GB fleet took about 2.8 s of CPU in the kernel
/// that way, more than compiling it. Direct I/O copies the bytes once into
/// this writer's own buffer, which stays warm from file to file, and the
/// device reads them from there: the CPU is free while the disk works.
///
/// A writer serves one thread at a time (a pool hands writers out); it
/// keeps its buffer (at most `chunkSize`) for the next file.
public final class DirectWriter: @unchecked Sendable {
  /// The alignment direct I/O asks of memory, offsets and lengths: a page
  /// covers every logical block size in use.
  static let alignment = 4096
  let chunkSize: Int
  private var buffer: UnsafeMutableRawBufferPointer?

  /// `chunkSize` (rounded up to `alignment`) bounds the buffer: a larger
  /// file is written in chunks of it.
  public init(chunkSize: Int = 8 << 20) {
    self.chunkSize = max(Self.alignment, (chunkSize + Self.alignment - 1) / Self.alignment * Self.alignment)
  }

  deinit { buffer?.deallocate() }

  /// Linux's `O_DIRECT`, which the Swift Glibc module leaves out: its
  /// value differs between architectures.
  static var directFlag: Int32? {
    #if os(Linux) && arch(x86_64)
      return 0o40000
    #elseif os(Linux) && arch(arm64)
      return 0o200000
    #else
      return nil
    #endif
  }

  /// The outcome of `write`.
  public enum Outcome: Equatable, Sendable {
    /// Every byte is in the file, and the file is exactly that long.
    case written
    /// The file system takes no direct I/O here: nothing was written, and
    /// the file is as it was (empty); write it the buffered way.
    case unsupported
    /// A write failed, for the reason `errno` gives: the file holds a part.
    case failed(errno: Int32)
  }

  /// Writes `buffers`, in order, to the empty file `fd` opened for
  /// writing, and cuts it to their length. The descriptor is left without
  /// `O_DIRECT`.
  public func write(_ fd: Int32, _ buffers: [UnsafeRawBufferPointer]) -> Outcome {
    let total = buffers.reduce(0) { $0 + $1.count }
    guard total > 0 else { return .unsupported }
    let flags = fcntl(fd, F_GETFL)
    guard let direct = Self.directFlag, flags >= 0, fcntl(fd, F_SETFL, flags | direct) == 0 else {
      return .unsupported
    }
    defer { _ = fcntl(fd, F_SETFL, flags) }
    let chunk = self.chunk(for: total)
    var offset = 0
    var filled = 0
    var pieces = buffers.filter { $0.count > 0 }[...]
    while offset < total {
      // Fill the chunk from the buffers, then pad the last one to a block.
      while filled < chunk.count, let head = pieces.first {
        let n = min(head.count, chunk.count - filled)
        (chunk.baseAddress! + filled).copyMemory(from: head.baseAddress!, byteCount: n)
        filled += n
        if n == head.count { pieces.removeFirst() } else { pieces[pieces.startIndex] = .init(rebasing: head[n...]) }
      }
      let length = (filled + Self.alignment - 1) / Self.alignment * Self.alignment
      if length > filled {
        (chunk.baseAddress! + filled).initializeMemory(as: UInt8.self, repeating: 0, count: length - filled)
      }
      var done = 0
      while done < length {
        let n = pwrite(fd, chunk.baseAddress! + done, length - done, off_t(offset + done))
        if n < 0, errno == EINTR { continue }
        if n < 0, errno == EINVAL {
          // The file system refused an aligned write (or a short one left
          // the rest unaligned): start again the buffered way.
          return ftruncate(fd, 0) == 0 ? .unsupported : .failed(errno: errno)
        }
        guard n > 0 else { return .failed(errno: n == 0 ? EIO : errno) }
        done += n
      }
      offset += filled
      filled = 0
    }
    return ftruncate(fd, off_t(total)) == 0 ? .written : .failed(errno: errno)
  }

  /// The buffer, grown to hold `total` bytes rounded up to a block, or a
  /// whole chunk.
  private func chunk(for total: Int) -> UnsafeMutableRawBufferPointer {
    let wanted = min(chunkSize, (total + Self.alignment - 1) / Self.alignment * Self.alignment)
    if let buffer, buffer.count >= wanted { return buffer }
    buffer?.deallocate()
    let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: Self.alignment)
    buffer = grown
    return grown
  }
}
