import PolicyModel
import XCTest

@testable import IptablesEmitter
@testable import RuleModel

/// Chain names and the shape of the jumps between chains.
final class EmitterChainTests: XCTestCase {
  var sample: Cluster { Load.cluster(Sample.documents) }

  func testChainAndSetNamesFitIptablesAndCarryThePrefix() throws {
    for (node, ipsets) in [("node-a", false), ("node-b", true)] {
      let rules = try XCTUnwrap(Compile.ruleSet(sample, node: node, ipsets: ipsets))
      let names =
        rules.chains.map(\.name) + rules.sets.map(\.name)
        + rules.sets.map { IPSetWriter.tempName($0.name) }
      XCTAssertGreaterThan(rules.chains.count, 5)
      for name in names {
        XCTAssertLessThanOrEqual(name.count, 28, name)
        XCTAssertTrue(name.hasPrefix("POLICYC-"), name)
        XCTAssertNil(
          name.first { !($0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "-")) }, name)
      }
      XCTAssertEqual(
        Set(rules.chains.map(\.name)).count, rules.chains.count, "chain names are unique")
    }
  }

  func testNamesSeparateTheirParts() {
    var namer = ChainNamer()
    let table: [(String, [String], String, [String])] = [
      ("IN", ["a", "bc"], "IN", ["ab", "c"]),
      ("IN", ["a", "b"], "EG", ["a", "b"]),
      ("IN", ["ns", "p"], "IN", ["ns", "p", ""]),
      ("IP", ["a-b", "c"], "IP", ["a", "b-c"]),
    ]
    for (kind1, parts1, kind2, parts2) in table {
      XCTAssertNotEqual(
        namer.name(kind: kind1, parts1), namer.name(kind: kind2, parts2), "\(parts1) vs \(parts2)")
    }
    XCTAssertEqual(namer.collisions, [])
  }

  func testNamesDependOnlyOnIdentity() {
    var first = ChainNamer()
    var second = ChainNamer()
    _ = second.name(kind: "IN", ["other", "policy"])
    XCTAssertEqual(first.name(kind: "IN", ["a", "bc"]), second.name(kind: "IN", ["a", "bc"]))
  }

  func testPoliciesWhoseIdentitiesConcatenateAlikeGetTheirOwnChains() throws {
    let cluster = Load.cluster([
      Manifest.pod("a", "x", ip: "10.0.0.1"), Manifest.pod("ab", "v", ip: "10.0.0.2"),
      Manifest.policy("a", "bc", "podSelector: {}\ningress:\n- ports: [{port: 1}]"),
      Manifest.policy("ab", "c", "podSelector: {}\ningress:\n- ports: [{port: 2}]"),
    ])
    let rules = try XCTUnwrap(Compile.ruleSet(cluster))
    let first = rules.chains(owner: "a/bc").map(\.name)
    let second = rules.chains(owner: "ab/c").map(\.name)
    XCTAssertEqual(first.count, 1)
    XCTAssertEqual(second.count, 1)
    XCTAssertNotEqual(first, second)
  }

  func testPolicySelectingNoLocalPodGetsNoChain() throws {
    let onA = try XCTUnwrap(Compile.ruleSet(sample, node: "node-a"))
    XCTAssertEqual(onA.chains(owner: "shop/batch-only"), [], "batch runs on node-b")
    XCTAssertNil(onA.chains.first { $0.owner == "shop/batch" })
    let onB = try XCTUnwrap(Compile.ruleSet(sample, node: "node-b"))
    XCTAssertEqual(onB.chains(owner: "shop/batch-only").count, 1)
    XCTAssertEqual(onB.chains(owner: "shop/db-lockdown"), [], "db runs on node-a")
    let nowhere = try XCTUnwrap(Compile.ruleSet(sample, node: "node-z"))
    XCTAssertEqual(
      nowhere.chains.map(\.name), ["POLICYC-FORWARD", "POLICYC-EGRESS", "POLICYC-INGRESS"])
  }

  func testEveryDispatchJumpIsDirectionSpecific() throws {
    let rules = try XCTUnwrap(Compile.ruleSet(sample, node: nil))
    let ingress = try XCTUnwrap(rules.chain("POLICYC-INGRESS")).rules
    let egress = try XCTUnwrap(rules.chain("POLICYC-EGRESS")).rules
    XCTAssertEqual(ingress.count, 3, "web-1, web-2 and db are isolated for ingress")
    XCTAssertEqual(egress.count, 2, "db and batch are isolated for egress")
    for rule in ingress {
      XCTAssertNotNil(rule.value("-d"), "\(rule)")
      XCTAssertNil(rule.value("-s"), "\(rule)")
      XCTAssertTrue(rule.jump?.hasPrefix("POLICYC-IP-") == true, "\(rule)")
    }
    for rule in egress {
      XCTAssertNotNil(rule.value("-s"), "\(rule)")
      XCTAssertNil(rule.value("-d"), "\(rule)")
      XCTAssertTrue(rule.jump?.hasPrefix("POLICYC-EP-") == true, "\(rule)")
    }
    // A policy with both types: its pod chains reach only the chain of their own direction.
    for chain in rules.chains {
      let targets = chain.rules.compactMap(\.jump).filter {
        $0.hasPrefix("POLICYC-IN-") || $0.hasPrefix("POLICYC-EG-")
      }
      if chain.name.hasPrefix("POLICYC-IP-") {
        XCTAssertTrue(targets.allSatisfy { $0.hasPrefix("POLICYC-IN-") }, chain.name)
      }
      if chain.name.hasPrefix("POLICYC-EP-") {
        XCTAssertTrue(targets.allSatisfy { $0.hasPrefix("POLICYC-EG-") }, chain.name)
      }
    }
  }

  func testEachIPBlockWithExceptsGetsItsOwnChain() throws {
    let rules = try XCTUnwrap(Compile.ruleSet(sample))
    let policyChain = try XCTUnwrap(
      rules.chains(owner: "shop/web-in").first { $0.name.hasPrefix("POLICYC-IN-") })
    let blockJumps = policyChain.rules.filter { $0.jump?.hasPrefix("POLICYC-B-") == true }
    XCTAssertEqual(blockJumps.map { $0.value("-s") }, ["10.0.0.0/8", "192.168.0.0/16"])
    let excepts = try blockJumps.map { jump in
      try XCTUnwrap(rules.chain(jump.jump!)).rules.filter { $0.target == ["-j", "RETURN"] }
        .compactMap { $0.value("-s") }
    }
    XCTAssertEqual(
      excepts, [["10.0.1.0/24"], ["192.168.7.0/24"]],
      "one block's except never reaches into another")
  }

  func testIPSetModeKeepsEachBlockInItsOwnSet() throws {
    let rules = try XCTUnwrap(Compile.ruleSet(sample, ipsets: true))
    let blocks = rules.sets.filter { $0.members.contains { $0.hasSuffix(" nomatch") } }.map(
      \.members
    ).sorted { $0[0] < $1[0] }
    XCTAssertEqual(
      blocks,
      [["10.0.0.0/8", "10.0.1.0/24 nomatch"], ["192.168.0.0/16", "192.168.7.0/24 nomatch"]])
  }

  func testOneHookFromForward() throws {
    let rules = try XCTUnwrap(Compile.ruleSet(sample))
    XCTAssertEqual(rules.hooks, [IptablesHook(builtin: "FORWARD", chain: "POLICYC-FORWARD")])
    let root = try XCTUnwrap(rules.chain("POLICYC-FORWARD")).rules
    XCTAssertEqual(
      root.first?.matches, ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"],
      "replies pass first")
    XCTAssertEqual(root.first?.target, ["-j", "RETURN"])
    let text = RestoreWriter.render(rules)
    XCTAssertEqual(
      text.components(separatedBy: "\n").filter { $0.hasSuffix("-j POLICYC-FORWARD") },
      ["-I FORWARD 1 -j POLICYC-FORWARD"])
  }
}
