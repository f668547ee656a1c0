import Foundation

/// Writing results: whole or not at all.
enum Output {
  static func stderr(_ text: String) { write(2, text) }

  /// Writes to standard output; a reader that went away ends us quietly.
  static func stdout(_ text: String) {
    if !write(1, text) { exit(ExitStatus.ok) }
  }

  @discardableResult
  static func write(_ fd: Int32, _ text: String) -> Bool {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
      let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        return false
      }
      bytes = bytes.dropFirst(n)
    }
    return true
  }

  /// Writes `text` to a temporary file beside `path` and renames it into
  /// place, so readers see the old file or the new one, never a part.
  /// Missing parent directories are created first (`-o out/node-a/rules.v4`).
  static func atomicWrite(_ text: String, to path: String) throws(CLIError) {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw CLIError("\(path): cannot write: cannot create the directory \(directory)")
    }
    let temp = "\(directory)/.\(url.lastPathComponent).policyc-\(getpid()).tmp"
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CLIError("\(path): cannot write: \(String(cString: strerror(errno)))") }
    let ok = write(fd, text) && fsync(fd) == 0
    close(fd)
    guard ok, rename(temp, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temp)
      throw CLIError("\(path): cannot write: \(reason)")
    }
  }
}

/// A failure the command line reports as `policyc: error: ...` with exit 2.
struct CLIError: Error, CustomStringConvertible {
  var message: String
  init(_ message: String) { self.message = message }
  var description: String { message }
}
