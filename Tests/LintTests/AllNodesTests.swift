import Foundation
import XCTest

/// `compile --all-nodes` writes, for every node, the bytes `compile --node`
/// writes for it, and all of its files or none.
final class AllNodesTests: XCTestCase {
  let repository = LintGolden.repository

  func scratch(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-all-\(getpid())-\(name)")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }

  func files(_ directory: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
  }

  /// Runs --all-nodes with `args`, then `--node N` for every node, and
  /// compares every file; returns the nodes seen.
  @discardableResult
  func checkAgainstSingleNodeRuns(
    _ inputs: [String], args: [String], rulesSuffix: String, ipsetSuffix: String?, in directory: URL? = nil,
    name: String
  ) throws -> [String] {
    let out = try scratch(name)
    let ipsetArgs = ipsetSuffix == nil ? [] : ["--ipset-out", out.path]
    let all = try PolicycBinary.policyc(
      ["compile", "--all-nodes", "-o", out.path] + ipsetArgs + args + inputs, in: directory ?? repository)
    XCTAssertEqual(all.status, 0, "\(name): \(all.stderr)")
    let written = files(out)
    let nodes = written.filter { $0.hasSuffix(rulesSuffix) }.map { String($0.dropLast(rulesSuffix.count)) }
    XCTAssertFalse(nodes.isEmpty, "\(name): no node files in \(written)")
    let expected = nodes.map { $0 + rulesSuffix } + (ipsetSuffix.map { s in nodes.map { $0 + s } } ?? [])
    XCTAssertEqual(written, expected.sorted(), "\(name): unexpected files")
    for node in nodes {
      let single = out.appendingPathComponent(".single-\(node)")
      let singleIPSet = out.appendingPathComponent(".single-\(node).ipset")
      let one = try PolicycBinary.policyc(
        ["compile", "--node", node, "-o", single.path] + (ipsetSuffix == nil ? [] : ["--ipset-out", singleIPSet.path])
          + args + inputs, in: directory ?? repository)
      XCTAssertEqual(one.status, 0, "\(name) \(node): \(one.stderr)")
      XCTAssertEqual(
        try Data(contentsOf: out.appendingPathComponent(node + rulesSuffix)), try Data(contentsOf: single),
        "\(name): \(node)\(rulesSuffix) differs from compile --node \(node)")
      if let ipsetSuffix {
        XCTAssertEqual(
          try Data(contentsOf: out.appendingPathComponent(node + ipsetSuffix)), try Data(contentsOf: singleIPSet),
          "\(name): \(node)\(ipsetSuffix) differs from compile --node \(node) --ipset-out")
      }
    }
    return nodes
  }

  func testSamplesMatchSingleNodeRunsInEveryMode() throws {
    var nodes = 0
    for sample in ["samples/cluster", "samples/admin", "samples/kubectl-dump.yaml"] {
      nodes += try checkAgainstSingleNodeRuns(
        [sample], args: [], rulesSuffix: ".rules.v4", ipsetSuffix: nil, name: "rules-\(sample.count)"
      ).count
      try checkAgainstSingleNodeRuns(
        [sample], args: ["--jobs", "1"], rulesSuffix: ".rules.v4", ipsetSuffix: ".ipset.v4",
        name: "ipset-\(sample.count)")
      try checkAgainstSingleNodeRuns(
        [sample], args: ["--backend", "nft", "--deny", "drop"], rulesSuffix: ".nft", ipsetSuffix: nil,
        name: "nft-\(sample.count)")
    }
    XCTAssertGreaterThan(nodes, 4, "the samples name too few nodes to prove much")
  }

  /// Every golden case, with its own flags (family, deny, log, namespace).
  func testGoldenCasesMatchSingleNodeRuns() throws {
    let root = repository.appendingPathComponent("Tests/Golden/cases")
    var multiNode = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() where !name.hasPrefix(".") {
      let directory = root.appendingPathComponent(name)
      let argsText = (try? String(contentsOf: directory.appendingPathComponent("args"), encoding: .utf8)) ?? ""
      var args = argsText.split(whereSeparator: \.isWhitespace).map(String.init)
      if let i = args.firstIndex(of: "--node") { args.removeSubrange(i...(i + 1)) }
      let family = args.contains("ipv6") ? "v6" : "v4"
      // Cases whose pods name no node have nothing to write per node.
      let probe = try PolicycBinary.policyc(
        ["compile", "--all-nodes", "-o", try scratch("probe").path] + args + ["."], in: directory)
      guard probe.status == 0 else {
        XCTAssertTrue(probe.stderr.contains("no pod names a node"), "\(name): \(probe.stderr)")
        continue
      }
      let nodes = try checkAgainstSingleNodeRuns(
        ["."], args: args, rulesSuffix: ".rules.\(family)", ipsetSuffix: ".ipset.\(family)", in: directory,
        name: "case-\(name)")
      if nodes.count > 1 { multiNode += 1 }
    }
    XCTAssertGreaterThan(multiNode, 5)
  }

  /// A failure at any node leaves every file as it was, and no temporary
  /// file behind.
  func testAFailureWritesNothing() throws {
    let out = try scratch("failure")
    try Data("old\n".utf8).write(to: out.appendingPathComponent("node-a.rules.v4"))
    // A directory where node-b's rules go: found before any rename.
    try FileManager.default.createDirectory(
      at: out.appendingPathComponent("node-b.rules.v4"), withIntermediateDirectories: false)
    let run = try PolicycBinary.policyc(
      ["compile", "--all-nodes", "-o", out.path, "--ipset-out", out.path, "samples/cluster"], in: repository)
    XCTAssertEqual(run.status, 2)
    XCTAssertTrue(run.stderr.contains("node-b.rules.v4: cannot write: not a regular file"), run.stderr)
    XCTAssertEqual(files(out), ["node-a.rules.v4", "node-b.rules.v4"])
    XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("node-a.rules.v4"), encoding: .utf8), "old\n")
  }

  func testRefusals() throws {
    let out = try scratch("refusals")
    let withNode = try PolicycBinary.policyc(
      ["compile", "--all-nodes", "--node", "node-a", "-o", out.path, "samples/cluster"], in: repository)
    XCTAssertEqual(withNode.status, 2)
    XCTAssertTrue(withNode.stderr.contains("leave out --node"), withNode.stderr)
    let noOutput = try PolicycBinary.policyc(["compile", "--all-nodes", "samples/cluster"], in: repository)
    XCTAssertEqual(noOutput.status, 2)
    XCTAssertTrue(noOutput.stderr.contains("--all-nodes needs -o DIR"), noOutput.stderr)
    XCTAssertEqual(files(out), [])
  }
}
