import Foundation
import XCTest

/// The oracle must not share semantic code with what it judges: the
/// PolicyReference module may read PolicyModel's decoded objects but must
/// not import the emitters, the analysis module or node apply, nor call the
/// selector, lookup, participation, port-resolution or CIDR helpers that
/// the emitters and the connectivity engine use.
final class ReferenceIndependenceTests: XCTestCase {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let moduleDirectory = root.appendingPathComponent("Sources/PolicyReference")

  /// Helpers of PolicyModel that carry semantics (and their callers' names).
  static let forbiddenCalls = [
    ".matches(", "policies(selecting:", "adminPolicies(selecting:", "baseline(selecting:", "numbers(forPortName:",
    "resolve(portName:", "participates", "peerPods(", "peerContains(", "Cluster(", "Cluster.", "ReferenceVerdict",
    ".selects(", "applies(to:", ".contains(address", "block.contains(", "cidr.contains(", "strictlyContains(",
    "targets(of:", "namespaces(matching:", "isPoliced(", "AdminPolicy.ordered", "Namespace.nameLabel",
    ".rules(", "forAnalysis(", "canonicalText", "ConnectivityEngine",
  ]
  static let allowedImports: Set<String> = ["PolicyModel"]
  static let forbiddenModules = ["IptablesEmitter", "NftEmitter", "PolicyAnalysis", "NodeApply", "YAMLBridge"]

  func sources() throws -> [(name: String, text: String)] {
    let names = try FileManager.default.contentsOfDirectory(atPath: Self.moduleDirectory.path)
      .filter { $0.hasSuffix(".swift") }.sorted()
    XCTAssertFalse(names.isEmpty, "no sources in \(Self.moduleDirectory.path)")
    return try names.map {
      ($0, try String(contentsOf: Self.moduleDirectory.appendingPathComponent($0), encoding: .utf8))
    }
  }

  func testTheReferenceImportsOnlyTheObjectModel() throws {
    for (name, text) in try sources() {
      for line in text.split(separator: "\n") {
        let words = line.split(separator: " ").map(String.init)
        guard let i = words.firstIndex(of: "import") else { continue }
        // `import X`, `public import X`, `@testable import X`, `import struct X.Y`.
        let module = words[(i + 1)...].first { !["struct", "enum", "class", "func"].contains($0) }
        let root = module.map { String($0.split(separator: ".")[0]) } ?? ""
        XCTAssertTrue(Self.allowedImports.contains(root), "\(name): \(line) (only PolicyModel may be imported)")
      }
    }
  }

  func testTheReferenceCallsNoSharedSemanticHelper() throws {
    for (name, text) in try sources() {
      for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let code = line.components(separatedBy: "//")[0]
        for call in Self.forbiddenCalls where code.contains(call) {
          XCTFail("\(name):\(number + 1): calls the shared helper \"\(call)\": \(line)")
        }
      }
    }
  }

  func testThePackageGivesTheReferenceNoOtherDependency() throws {
    let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
    guard let start = manifest.range(of: ".target(name: \"PolicyReference\"") else {
      return XCTFail("Package.swift has no PolicyReference target")
    }
    let declaration = manifest[start.lowerBound...].prefix { $0 != ")" }
    XCTAssertTrue(declaration.contains("\"PolicyModel\""), String(declaration))
    for module in Self.forbiddenModules {
      XCTAssertFalse(declaration.contains("\"\(module)\""), "PolicyReference depends on \(module): \(declaration)")
    }
  }

  /// The deny-list itself works: a line calling a helper is caught.
  func testTheDenyListCatchesACall() {
    let line = "    if selector.matches(pod.meta.labels) { return true }"
    XCTAssertTrue(Self.forbiddenCalls.contains { line.contains($0) })
  }
}
