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
        let data = FileHandle.standardInput.readDataToEndOfFile()
        sources.append(InputSource(path: stdinName, bytes: [UInt8](data)))
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

  static func readFile(_ path: String) throws(InputError) -> InputSource {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError(path: path, reason: "cannot read file")
    }
    return InputSource(path: path, bytes: [UInt8](data))
  }
}
