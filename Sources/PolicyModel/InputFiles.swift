import Foundation

/// A path the user named that cannot be read.
public struct InputError: Error, Sendable, CustomStringConvertible {
  public var path: String
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var description: String { "\(path): error: \(reason)" }
}

public enum InputFiles {
  public static let extensions: Set<String> = ["yaml", "yml", "json"]

  /// Expands PATH arguments: a file as is, a directory recursively (only
  /// .yaml/.yml/.json, hidden entries skipped, sorted by path), `-` as stdin.
  public static func read(_ paths: [String], stdinName: String = "<stdin>") throws(InputError) -> [InputSource] {
    var sources: [InputSource] = []
    let fm = FileManager.default
    for path in paths {
      if path == "-" {
        guard let bytes = readAll(0) else {
          throw InputError(path: stdinName, reason: "cannot read standard input (\(errorText()))")
        }
        sources.append(InputSource(path: stdinName, bytes: bytes))
        continue
      }
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw InputError(path: path, reason: "no such file or directory")
      }
      if isDirectory.boolValue {
        for file in try files(under: path) { sources.append(try readFile(file)) }
      } else {
        sources.append(try readFile(path))
      }
    }
    return sources
  }

  static func files(under directory: String) throws(InputError) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
      throw InputError(path: directory, reason: "cannot read directory")
    }
    var out: [String] = []
    while let relative = enumerator.nextObject() as? String {
      let parts = relative.split(separator: "/")
      if parts.contains(where: { $0.hasPrefix(".") }) { continue }
      let ext = (relative as NSString).pathExtension.lowercased()
      guard extensions.contains(ext) else { continue }
      let full = directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
        out.append(full)
      }
    }
    return out.sorted()
  }

  /// One file, whole; the error carries the operating system's reason.
  public static func readFile(_ path: String) throws(InputError) -> InputSource {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw InputError(path: path, reason: "cannot read file (\(errorText()))") }
    defer { close(fd) }
    guard let bytes = readAll(fd) else { throw InputError(path: path, reason: "cannot read file (\(errorText()))") }
    return InputSource(path: path, bytes: bytes)
  }

  /// Everything up to end of file, read straight into the array (through
  /// Data a 230 MB dump would be copied twice); nil on a read error.
  static func readAll(_ fd: Int32) -> [UInt8]? {
    var info = stat()
    // One more byte than the size, so a regular file ends in one chunk.
    var chunk = fstat(fd, &info) == 0 && info.st_size > 0 ? Int(info.st_size) + 1 : 1 << 16
    var result: [UInt8] = []
    while true {
      var failed = false
      var atEnd = false
      let size = chunk
      let part = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
        var filled = 0
        while filled < size {
          let got = systemRead(fd, buffer.baseAddress! + filled, size - filled)
          if got < 0 && errno == EINTR { continue }
          if got <= 0 {
            failed = got < 0
            atEnd = true
            break
          }
          filled += got
        }
        initialized = filled
      }
      if failed { return nil }
      if result.isEmpty { result = part } else { result += part }
      if atEnd { return result }
      chunk = max(chunk, 1 << 20)
    }
  }

  static func errorText() -> String { String(cString: strerror(errno)) }
}

/// `read(2)`, out of the reach of `InputFiles.read`'s name.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  read(fd, buffer, count)
}
