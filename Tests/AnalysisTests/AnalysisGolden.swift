import Foundation
import XCTest

/// Golden transcripts for the review commands live in `Tests/Golden/analysis/`:
/// `inputs/` holds manifests, `expected/<name>.txt` one run of the built
/// binary (command, exit status, stdout, stderr). The binary runs with the
/// analysis folder as its current directory, so every path it prints is
/// relative. POLICYC_RECORD=1 re-records, and the run then fails on purpose,
/// so a re-record can never pass silently.
enum AnalysisGolden {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()
  static let root = repository.appendingPathComponent("Tests/Golden/analysis")
  static let binary = repository.appendingPathComponent(".build/debug/policyc").path
  static var recording: Bool { ProcessInfo.processInfo.environment["POLICYC_RECORD"] == "1" }

  struct Run: Equatable {
    var status: Int32
    var stdout: String
    var stderr: String

    /// What the golden file holds.
    func transcript(_ arguments: [String]) -> String {
      "$ policyc \(arguments.joined(separator: " "))\nexit status \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)"
    }
  }

  /// Runs `policyc ARGS` in `directory` (the analysis golden root by default).
  static func policyc(_ arguments: [String], in directory: URL? = nil) throws -> Run {
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      throw Failure("no policyc binary at \(binary); build it with `swift build`")
    }
    return try run(binary, arguments, in: directory ?? root)
  }

  static func run(_ executable: String, _ arguments: [String], in directory: URL) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain stderr on another thread so neither pipe can fill up and block.
    let errData = DataBox()
    let thread = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    thread.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let status =
      process.terminationReason == .uncaughtSignal
      ? 128 + process.terminationStatus : process.terminationStatus
    return Run(
      status: status, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: errData.wait(), as: UTF8.self))
  }

  /// Runs the binary and compares its transcript with `expected/<name>.txt`.
  @discardableResult
  static func check(
    _ name: String, _ arguments: [String], status: Int32, file: StaticString = #filePath,
    line: UInt = #line
  ) throws -> Run {
    let run = try policyc(arguments)
    XCTAssertEqual(
      run.status, status, "\(name): exit status\n\(run.stderr)", file: file, line: line)
    compare(
      run.transcript(arguments), root.appendingPathComponent("expected/\(name).txt"), name,
      file: file, line: line)
    return run
  }

  /// Compares with the golden file, or writes it when recording.
  static func compare(
    _ actual: String, _ golden: URL, _ label: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    if recording {
      try? FileManager.default.createDirectory(
        at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
      try? actual.write(to: golden, atomically: true, encoding: .utf8)
      XCTFail(
        "\(label): recorded \(golden.lastPathComponent); review it, then rerun without POLICYC_RECORD",
        file: file, line: line)
      return
    }
    guard let expected = try? String(contentsOf: golden, encoding: .utf8) else {
      XCTFail(
        "\(label): no golden \(golden.path); record with POLICYC_RECORD=1", file: file, line: line)
      return
    }
    if expected != actual {
      XCTFail(
        "\(label): output differs from \(golden.lastPathComponent)\n--- expected\n\(expected)\n--- actual\n\(actual)",
        file: file, line: line)
    }
  }

  /// JSON output must parse, and its keys must already be in sorted order:
  /// serialising it again with sorted keys gives the same bytes.
  static func assertSortedJSON(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
      XCTFail("not JSON: \(text)", file: file, line: line)
      return
    }
    guard
      let data = try? JSONSerialization.data(
        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    else {
      XCTFail("cannot serialise", file: file, line: line)
      return
    }
    XCTAssertEqual(
      String(decoding: data, as: UTF8.self) + "\n", text, "keys not sorted or not compact",
      file: file, line: line)
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }
}

final class DataBox: @unchecked Sendable {
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
