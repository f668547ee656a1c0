import Foundation
import IptablesEmitter
import NodeApply
import Synchronization

/// Many files written all or nothing: each goes to a temporary file beside
/// its final name first; only when every one is whole (written and synced)
/// are they renamed into place. A failure before that removes every
/// temporary file and leaves the directories as they were.
///
/// The files are synced together at commit, not one by one: a fleet's
/// files come to a gigabyte and more, and a sync per file waits for the
/// disk hundreds of times (on this machine 500 files take tens of seconds
/// that way, several times the whole compile). Each file's writeback starts
/// as soon as it is written, so it overlaps the compile of the next nodes:
/// with direct I/O (where the file system has it) it is on its way when
/// the write returns, and otherwise it is started then.
///
/// Stage from several threads at once; commit or discard from one.
final class StagedFiles: Sendable {
  private struct Staged {
    var temp: String
    var path: String
  }
  private let staged = Mutex<[Staged]>([])
  /// Idle direct writers, each with its buffer: one per queue at most.
  private let writers = Mutex<[DirectWriter]>([])
  /// The writers' threads: two, so one copies while the other waits.
  private let queues = (0..<2).map { DispatchQueue(label: "policyc.staged-files.\($0)") }
  private let queued = Atomic(0)
  /// At most this many texts wait for a writer.
  private let slots = DispatchSemaphore(value: 4)
  private let writes = DispatchGroup()
  private let failure = Mutex<CLIError?>(nil)

  /// Writes `text` to a temporary file beside `path` (creating the
  /// directory), to be renamed to `path` by `commit`. The file is created
  /// now; its bytes are written on the writers' threads, so the caller
  /// goes on compiling while the disk works. A failed write is reported by
  /// the next `stage`, and by `commit`.
  func stage(_ text: FleetText, to path: String) throws(CLIError) {
    if let failed = failure.withLock({ $0 }) { throw failed }
    let fd: Int32
    let temp: String
    do {
      (fd, temp) = try AtomicFile.openTemporary(beside: path)
    } catch {
      throw CLIError(error.message)
    }
    staged.withLock { $0.append(Staged(temp: temp, path: path)) }
    // Bounds the texts held for writing.
    slots.wait()
    writes.enter()
    queues[queued.add(1, ordering: .relaxed).oldValue % queues.count].async { [self] in
      defer {
        slots.signal()
        writes.leave()
      }
      if let failed = write(text, fd, path) { failure.withLock { if $0 == nil { $0 = failed } } }
    }
  }

  /// Writes a staged file's bytes and closes it.
  /// Writes a staged file's bytes and closes it: around the page cache
  /// where the file system allows it, else the buffered way.
  private func write(_ text: FleetText, _ fd: Int32, _ path: String) -> CLIError? {
    let failure: Int32? = text.withBuffers { buffers in
      switch write(fd, buffers) {
      case .written: return nil
      case .failed(let code): return code
      case .unsupported:
        guard AtomicFile.writeAll(fd, buffers) else { return errno }
        // Starts writing the pages back now (commit waits for them).
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        return nil
      }
    }
    close(fd)
    return failure.map { CLIError("\(path): cannot write: \(String(cString: strerror($0)))") }
  }

  /// Writes with direct I/O (`DirectWriter`), on a writer no other thread
  /// holds meanwhile.
  private func write(_ fd: Int32, _ buffers: [UnsafeRawBufferPointer]) -> DirectWriter.Outcome {
    let writer = writers.withLock { $0.popLast() } ?? DirectWriter()
    defer { writers.withLock { $0.append(writer) } }
    return writer.write(fd, buffers)
  }

  /// Waits for every staged file's bytes; the first write that failed.
  private func finishWrites() -> CLIError? {
    writes.wait()
    return failure.withLock { $0 }
  }

  /// Makes every staged file durable: one sync for all of them, then each
  /// file's fsync (which has little left to do) reports its own errors.
  private func syncAll(_ files: [Staged]) throws(CLIError) {
    sync()
    for file in files {
      let fd = open(file.temp, O_RDONLY)
      let ok = fd >= 0 && fsync(fd) == 0
      let reason = String(cString: strerror(errno))
      if fd >= 0 { close(fd) }
      guard ok else { throw CLIError("\(file.path): cannot write: \(reason)") }
    }
  }

  /// Renames every staged file into place, in the order given by `first`
  /// (true first), then by path. On failure no temporary file is left.
  func commit(first: (String) -> Bool = { _ in false }) throws(CLIError) {
    let failed = finishWrites()
    let files = staged.withLock { files in
      defer { files = [] }
      return files
    }
    if let failed {
      for file in files { unlink(file.temp) }
      throw failed
    }
    let ordered = files.sorted { (first($0.path) ? 0 : 1, $0.path) < (first($1.path) ? 0 : 1, $1.path) }
    // What would make a rename fail (a directory in the way) fails here,
    // before the first rename.
    for file in ordered {
      var info = stat()
      if lstat(file.path, &info) == 0, info.st_mode & S_IFMT != S_IFREG, info.st_mode & S_IFMT != S_IFLNK {
        for file in ordered { unlink(file.temp) }
        throw CLIError("\(file.path): cannot write: not a regular file")
      }
    }
    do {
      try syncAll(ordered)
    } catch {
      for file in ordered { unlink(file.temp) }
      throw error
    }
    for (i, file) in ordered.enumerated() where rename(file.temp, file.path) != 0 {
      // Same directory, so only a vanished directory or a full disk gets
      // here: the files already renamed are whole, the rest are removed.
      let reason = String(cString: strerror(errno))
      for rest in ordered[i...] { unlink(rest.temp) }
      throw CLIError("\(file.path): cannot write: \(reason)")
    }
  }

  /// Removes every staged file: nothing of this run stays behind.
  func discard() {
    _ = finishWrites()
    let files = staged.withLock { files in
      defer { files = [] }
      return files
    }
    for file in files { unlink(file.temp) }
  }
}
