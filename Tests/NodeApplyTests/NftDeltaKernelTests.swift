import Foundation
import NodeApply
import XCTest

@testable import NftEmitter

/// In the kernel, an incremental load gives what a whole load of the same
/// rule set gives: two network namespaces this test creates (and
/// deletes), one loaded step by step with `NftDelta`, the other loaded
/// whole at every step, and their tables compared after each step.
final class NftDeltaKernelTests: XCTestCase {
  var namespaces: [String] = []
  var folder = ""

  override func setUpWithError() throws {
    XCTAssertEqual(getuid(), 0, "network namespaces need root")
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("pc-nftd-\(getpid())").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for role in ["inc", "full"] {
      let name = "pc-nftd-\(role)-\(getpid())"
      try run(["ip", "netns", "add", name])
      namespaces.append(name)
    }
  }

  override func tearDown() {
    for name in namespaces { _ = try? run(["ip", "netns", "del", name]) }
    try? FileManager.default.removeItem(atPath: folder)
  }

  @discardableResult
  func run(_ arguments: [String], input: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    let feed = Pipe()
    process.standardOutput = output
    process.standardInput = feed
    try process.run()
    if let input { feed.fileHandleForWriting.write(Data(input.utf8)) }
    try feed.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw ApplyError("\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
  }

  /// An applier whose `nft` runs in `namespace`.
  func applier(_ namespace: String) throws -> NodeApplier {
    let path = folder + "/nft-\(namespace)"
    try "#!/bin/sh\nexec ip netns exec \(namespace) nft \"$@\"\n".write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
    var tools = NodeTools()
    tools.nft = path
    return NodeApplier(tools: tools)
  }

  /// `nft -j list table`, without handles and with every element list
  /// sorted (a hash set lists in the kernel's order, which depends on
  /// its history), sets and chains in name order, and each chain's rules
  /// in their order.
  func listing(_ namespace: String) throws -> [String] {
    let json = try run(["ip", "netns", "exec", namespace, "nft", "-j", "list", "table", "inet", "policyc"])
    let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let items = try XCTUnwrap(document["nftables"] as? [Any])
    var objects: [String] = []
    var rules: [String: [String]] = [:]
    for item in items {
      guard let item = item as? [String: Any], item["metainfo"] == nil else { continue }
      let clean = canonical(item)
      let text = String(
        decoding: try JSONSerialization.data(withJSONObject: clean, options: .sortedKeys), as: UTF8.self)
      if let rule = item["rule"] as? [String: Any] {
        rules[rule["chain"] as? String ?? "", default: []].append(text)
      } else {
        objects.append(text)
      }
    }
    return objects.sorted() + rules.keys.sorted().flatMap { ["chain \($0):"] + rules[$0]! }
  }

  func canonical(_ value: Any, key: String = "") -> Any {
    if let object = value as? [String: Any] {
      var out: [String: Any] = [:]
      for (name, inner) in object where name != "handle" { out[name] = canonical(inner, key: name) }
      return out
    }
    if let array = value as? [Any] {
      let inner = array.map { canonical($0) }
      guard key == "elem" || key == "set" else { return inner }
      return inner.sorted { describe($0) < describe($1) }
    }
    return value
  }

  func describe(_ value: Any) -> String {
    guard JSONSerialization.isValidJSONObject([value]),
      let data = try? JSONSerialization.data(withJSONObject: [value], options: .sortedKeys)
    else { return "\(value)" }
    return String(decoding: data, as: UTF8.self)
  }

  func testIncrementalLoadsEqualWholeLoadsOverRandomSteps() async throws {
    let incremental = try applier(namespaces[0])
    let whole = try applier(namespaces[1])
    var maker = NftRuleSetMaker(seed: 7)
    var loaded = maker.step()
    for applier in [incremental, whole] {
      _ = try await applier.commit(try await applier.prepare(nft: loaded, readingKernel: false), force: true)
    }
    var changedSteps = 0
    for step in 1...40 {
      let next = maker.step()
      let delta = try XCTUnwrap(NftDelta.plan(from: loaded, to: next), "step \(step)")
      if !delta.isEmpty { changedSteps += 1 }
      _ = try await incremental.load(delta)
      _ = try await whole.commit(try await whole.prepare(nft: next, readingKernel: false), force: true)
      XCTAssertEqual(try listing(namespaces[0]), try listing(namespaces[1]), "step \(step):\n\(delta.text)")
      loaded = next
    }
    XCTAssertGreaterThan(changedSteps, 30)
  }

  func testAFailedIncrementalLoadLeavesTheTableInForce() async throws {
    let incremental = try applier(namespaces[0])
    var maker = NftRuleSetMaker(seed: 11)
    let first = maker.step()
    _ = try await incremental.commit(try await incremental.prepare(nft: first, readingKernel: false), force: true)
    let before = try listing(namespaces[0])
    // A script from a table the kernel does not hold: it deletes a chain
    // that is not there, so nft refuses the whole transaction.
    var believed = first
    believed.chains.append(NftChain(name: "v4-GONE", owner: "policyc", rules: []))
    let delta = try XCTUnwrap(NftDelta.plan(from: believed, to: maker.step()))
    XCTAssertTrue(delta.text.contains("delete chain inet policyc v4-GONE"))
    do {
      _ = try await incremental.load(delta)
      XCTFail("nft loaded a script that deletes a missing chain")
    } catch {
      XCTAssertTrue("\(error)".contains("the table in force is unchanged"), "\(error)")
    }
    XCTAssertEqual(try listing(namespaces[0]), before)
  }
}
