import Foundation
import XCTest

/// Package.swift is honest: every module of this package (or of a package
/// it depends on) that a target's files import is one of that target's
/// declared dependencies, not something that only builds because another
/// dependency happens to pull it in. System modules (Foundation, Glibc,
/// XCTest, ...) are not package modules and need no declaration.
final class PackageManifestTests: XCTestCase {
  struct Target {
    var name: String
    var directory: String
    var dependencies: Set<String>
  }

  /// The targets as SwiftPM reads them (`swift package dump-package`). Its
  /// own scratch folder: `swift test` holds the lock of .build while it runs.
  func targets() throws -> [Target] {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-dump-\(getpid())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let run = try PolicycBinary.run(
      ["package", "--scratch-path", scratch.path, "dump-package"], executable: Self.swift(),
      in: LintGolden.repository)
    XCTAssertEqual(run.status, 0, run.stderr)
    let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    let targets = try XCTUnwrap(manifest["targets"] as? [[String: Any]])
    return try targets.map { target in
      let name = try XCTUnwrap(target["name"] as? String)
      let type = try XCTUnwrap(target["type"] as? String)
      let folder = ["test": "Tests", "plugin": "Plugins"][type] ?? "Sources"
      // A dependency is {"byName": [NAME, ...]}, {"target": [...]} or {"product": [NAME, PACKAGE, ...]}.
      let dependencies = (target["dependencies"] as? [[String: Any]] ?? []).compactMap { dependency in
        dependency.values.compactMap { ($0 as? [Any])?.first as? String }.first
      }
      return Target(
        name: name, directory: target["path"] as? String ?? "\(folder)/\(name)", dependencies: Set(dependencies))
    }
  }

  /// The `swift` that runs these tests, or the one on PATH.
  static func swift() -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
    return path.split(separator: ":").map { "\($0)/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) }
      ?? "/usr/bin/swift"
  }

  /// The modules `import`ed at the start of a line of `text`
  /// (`import X`, `public import X`, `@testable import X`, `import struct X.Y`).
  static func imports(_ text: String) throws -> Set<String> {
    let pattern =
      #"(?m)^\s*(?:@testable\s+)?(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|typealias|func|let|var)\s+)?([A-Za-z_][A-Za-z0-9_]*)"#
    let regex = try NSRegularExpression(pattern: pattern)
    let range = NSRange(text.startIndex..., in: text)
    return Set(
      regex.matches(in: text, range: range).compactMap { match in
        Range(match.range(at: 1), in: text).map { String(text[$0]) }
      })
  }

  func testEveryImportedPackageModuleIsADeclaredDependency() throws {
    let targets = try targets()
    XCTAssertGreaterThan(targets.count, 5, "the manifest lists too few targets")
    // The package's own modules and the products of its package dependencies.
    let packageModules = Set(targets.map(\.name)).union(targets.flatMap(\.dependencies))
    var checked = 0
    for target in targets {
      let root = LintGolden.repository.appendingPathComponent(target.directory)
      let files = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? [])
        .filter { $0.hasSuffix(".swift") }.sorted()
      for file in files {
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        for module in try Self.imports(text) where packageModules.contains(module) && module != target.name {
          checked += 1
          XCTAssertTrue(
            target.dependencies.contains(module),
            "\(target.directory)/\(file) imports \(module), which is not a dependency of \(target.name) in Package.swift"
          )
        }
      }
    }
    XCTAssertGreaterThan(checked, 50, "too few imports found: the scan is broken")
  }

  func testTheImportScanFindsEverySpelling() throws {
    let text = """
      import A
      public import B
      @testable import C
      import struct D.Thing
      internal import E
      // import NotThis
      let s = "import NorThis"
      """
    XCTAssertEqual(try Self.imports(text), ["A", "B", "C", "D", "E"])
  }
}
