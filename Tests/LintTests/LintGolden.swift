import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

/// Golden files for lint live in `Tests/Golden/lint/`: `rules/<id>.txt`
/// (the text output for each rule's examples), `cases/<name>/` (manifests
/// under `input/`, an optional `config.yaml`, and `expected.txt`) and
/// `formats/` (manifests under `input/` and one `expected.*` per format).
/// POLICYC_RECORD=1 re-records; the run then fails on purpose, so a
/// re-record can never pass silently.
enum LintGolden {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()
  static let root = repository.appendingPathComponent("Tests/Golden/lint")
  static var recording: Bool { ProcessInfo.processInfo.environment["POLICYC_RECORD"] == "1" }

  /// Reads the manifests below `directory/input`, named `input/<relative path>`
  /// as `policyc lint input` would name them when run in `directory`.
  static func sources(in directory: URL) throws -> [InputSource] {
    let input = directory.appendingPathComponent("input")
    let files = (FileManager.default.enumerator(atPath: input.path)?.allObjects as? [String] ?? [])
      .filter { InputFiles.extensions.contains(($0 as NSString).pathExtension.lowercased()) }
      .filter { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }
      .sorted()
    return try files.map { file in
      InputSource(
        path: "input/" + file,
        bytes: [UInt8](try Data(contentsOf: input.appendingPathComponent(file))))
    }
  }

  static func config(in directory: URL) throws -> LintConfig {
    let file = directory.appendingPathComponent("config.yaml")
    guard let data = FileManager.default.contents(atPath: file.path) else { return LintConfig() }
    return try LintConfig.parse([UInt8](data), path: "config.yaml")
  }

  static func lint(_ directory: URL) throws -> LintResult {
    LintEngine.run(
      try sources(in: directory),
      options: LintOptions(config: try config(in: directory), inputPaths: ["input"]))
  }

  static func subdirectories(_ folder: String) throws -> [URL] {
    let base = root.appendingPathComponent(folder)
    return try FileManager.default.contentsOfDirectory(atPath: base.path).filter {
      !$0.hasPrefix(".")
    }.sorted()
      .map { base.appendingPathComponent($0) }
  }

  /// Compares with the golden file, or writes it when recording.
  static func check(
    _ actual: String, _ file: URL, _ label: String, file source: StaticString = #filePath,
    line: UInt = #line
  ) {
    if recording {
      try? actual.write(to: file, atomically: true, encoding: .utf8)
      XCTFail(
        "\(label): recorded \(file.lastPathComponent); review the diff, then rerun without POLICYC_RECORD",
        file: source, line: line)
      return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
      XCTFail(
        "\(label): no golden \(file.path); record with POLICYC_RECORD=1", file: source, line: line)
      return
    }
    if expected != actual {
      XCTFail(
        "\(label): output differs from \(file.lastPathComponent)\n--- expected\n\(expected)\n--- actual\n\(actual)",
        file: source, line: line)
    }
  }
}
