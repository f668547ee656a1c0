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
/// as soon as it is written, so it overlaps the compile of the next nodes.
///
/// Stage from several threads at once; commit or discard from one.
final class StagedFiles: Sendable {
  private struct Staged {
    var temp: String
    var path: String
  }
  private let staged = Mutex<[Staged]>([])

  /// Writes `text` to a temporary file beside `path` (creating the
  /// directory), to be renamed to `path` by `commit`.
  func stage(_ text: FleetText, to path: String) throws(CLIError) {
    let fd: Int32
    let temp: String
    do {
      (fd, temp) = try AtomicFile.openTemporary(beside: path)
    } catch {
      throw CLIError(error.message)
    }
    staged.withLock { $0.append(Staged(temp: temp, path: path)) }
    let ok = text.withBuffers { AtomicFile.writeAll(fd, $0) }
    let reason = String(cString: strerror(errno))
    // Starts writing the pages back now (commit waits for them).
    if ok { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) }
    close(fd)
    guard ok else { throw CLIError("\(path): cannot write: \(reason)") }
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
    let files = staged.withLock { files in
      defer { files = [] }
      return files
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
    let files = staged.withLock { files in
      defer { files = [] }
      return files
    }
    for file in files { unlink(file.temp) }
  }
}
