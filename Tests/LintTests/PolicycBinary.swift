import Foundation
import XCTest

/// Runs the built `policyc` (or any program) and collects what it says.
enum PolicycBinary {
  static let path = LintGolden.repository.appendingPathComponent(".build/debug/policyc").path

  struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs `policyc ARGS` in `directory` (the lint golden root by default).
  static func policyc(
    _ arguments: [String], in directory: URL? = nil, stdin: String? = nil, environment: [String: String] = [:]
  ) throws -> Run {
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw BinaryMissing("no policyc binary at \(path); build it with `swift build`")
    }
    return try run(
      arguments, executable: path, in: directory ?? LintGolden.root, stdin: stdin, environment: environment)
  }

  /// `environment` is added to (and overrides) this process's environment.
  static func run(
    _ arguments: [String], executable: String, in directory: URL? = nil, stdin: String? = nil,
    environment: [String: String] = [:]
  ) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe()
    let err = Pipe()
    let input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
      input.fileHandleForWriting.write(Data(stdin.utf8))
      try input.fileHandleForWriting.close()
    }
    // Read stderr on another thread so neither pipe can fill up and block.
    let errData = ErrBox()
    let thread = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    thread.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(
      status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: errData.wait(), as: UTF8.self))
  }

  /// Not a skip: a missing binary fails the test.
  struct BinaryMissing: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }
}

final class ErrBox: @unchecked Sendable {
  private let condition = NSCondition()
  private var data: Data?

  func set(_ value: Data) {
    condition.lock()
    data = value
    condition.signal()
    condition.unlock()
  }

  func wait() -> Data {
    condition.lock()
    defer { condition.unlock() }
    while data == nil { condition.wait() }
    return data!
  }
}
