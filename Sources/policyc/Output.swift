import Foundation
import NodeApply

/// Writing results: whole or not at all.
enum Output {
  static func stderr(_ text: String) { write(2, text) }

  /// Writes to standard output; a reader that went away ends us quietly.
  static func stdout(_ text: String) {
    if !write(1, text) { exit(ExitStatus.ok) }
  }

  @discardableResult
  static func write(_ fd: Int32, _ text: String) -> Bool { AtomicFile.writeAll(fd, text.utf8) }

  /// Writes `text` to a temporary file beside `path` and renames it into
  /// place, so readers see the old file or the new one, never a part.
  /// Missing parent directories are created first (`-o out/node-a/rules.v4`).
  static func atomicWrite(_ text: String, to path: String) throws(CLIError) {
    try atomicWrite(pieces: [text], to: path)
  }

  /// `atomicWrite` of the pieces' concatenation, which is never built.
  static func atomicWrite(pieces: [String], to path: String) throws(CLIError) {
    do {
      try AtomicFile.write(pieces: pieces, to: path)
    } catch {
      throw CLIError(error.message)
    }
  }

  /// `stdout` of the pieces' concatenation.
  static func stdout(pieces: [String]) {
    if !AtomicFile.withUTF8(pieces, { AtomicFile.writeAll(1, $0) }) { exit(ExitStatus.ok) }
  }
}

/// A failure the command line reports as `policyc: error: ...` with exit 2.
struct CLIError: Error, CustomStringConvertible {
  var message: String
  init(_ message: String) { self.message = message }
  var description: String { message }
}
