import NftEmitter
import PolicyModel
import RuleModel
import XCTest

@testable import IptablesEmitter

/// `--log-denied`: prefixes within each target's limit, deterministic and
/// distinct; a log rule right before each deny and nowhere else.
final class LogDeniedTests: XCTestCase {
  func testPrefixesFitTheirTargetAndStayApart() {
    let long = String(repeating: "n", count: 63)
    for log in [DenyLog(target: .log), DenyLog(target: .nflog(group: 0))] {
      let a = log.prefix(ingress: true, namespace: long, name: "api-0")
      let b = log.prefix(ingress: true, namespace: long, name: "api-1")
      XCTAssertLessThanOrEqual(a.utf8.count, log.prefixLimit)
      XCTAssertNotEqual(a, b, "two pods whose prefixes share the kept part")
      XCTAssertEqual(a, log.prefix(ingress: true, namespace: long, name: "api-0"), "deterministic")
      XCTAssertNotEqual(a, log.prefix(ingress: false, namespace: long, name: "api-0"), "direction")
      XCTAssertTrue(a.hasPrefix("policyc:in:"))
    }
    XCTAssertEqual(DenyLog(target: .log).prefix(ingress: false, namespace: "x", name: "a"), "policyc:eg:x/a ")
    XCTAssertEqual(DenyLog().prefix(ingress: true, namespace: "x", name: "a"), "policyc:in:x/a")
    // Nothing a name could hold escapes the quotes or adds a word.
    let hostile = DenyLog().prefix(ingress: true, namespace: "x\" -j ACCEPT", name: "a\nb")
    XCTAssertFalse(hostile.contains("\"") || hostile.contains(" ") || hostile.contains("\n"), hostile)
  }

  func testALogRuleComesRightBeforeEachDenyOnly() throws {
    let cluster = Load.cluster(Sample.documents)
    let log = DenyLog(target: .nflog(group: 9), rate: 2, unit: .second)
    let rules = try IptablesCompiler.compile(cluster, options: EmitOptions(node: "node-a", log: log))
    let plain = try IptablesCompiler.compile(cluster, options: EmitOptions(node: "node-a"))
    var logs = 0
    for chain in rules.chains {
      for (i, rule) in chain.rules.enumerated() where rule.target.contains("NFLOG") {
        logs += 1
        XCTAssertEqual(rule.matches, ["-m", "limit", "--limit", "2/sec"])
        XCTAssertEqual(chain.rules[i + 1].target, DenyAction.reject.target(.ipv4), chain.name)
      }
    }
    let denies = plain.chains.flatMap(\.rules).count { $0.target == DenyAction.reject.target(.ipv4) }
    XCTAssertEqual(logs, denies)
    XCTAssertGreaterThan(logs, 2)
    XCTAssertEqual(rules.ruleCount, plain.ruleCount + logs)
    let nft = NftWriter.render(try NftCompiler.compile(cluster, options: EmitOptions(node: "node-a", log: log)))
    XCTAssertEqual(nft.components(separatedBy: "limit rate 2/second burst 5 packets log prefix ").count - 1, logs)
    XCTAssertTrue(nft.contains("\" group 9\n"))
  }
}

extension LogDeniedTests {
  /// `--deny audit`: each deny becomes the log rule `--log-denied` writes
  /// (its defaults when not given), then a RETURN as for allowed traffic;
  /// no deny rejects or drops, and the root clears every tier bit.
  func testAuditLogsEachDenyThenLetsItThrough() throws {
    let cluster = Load.cluster(Sample.documents)
    let plain = try IptablesCompiler.compile(cluster, options: EmitOptions(node: "node-a"))
    let audit = try IptablesCompiler.compile(cluster, options: EmitOptions(node: "node-a", denyAction: .audit))
    let logged = try IptablesCompiler.compile(
      cluster, options: EmitOptions(node: "node-a", log: DenyLog()))
    let denies = plain.chains.flatMap(\.rules).filter { $0.target == DenyAction.reject.target(.ipv4) }
    XCTAssertGreaterThan(denies.count, 2)
    let all = audit.chains.flatMap(\.rules)
    XCTAssertFalse(all.contains { $0.target.contains("REJECT") })
    XCTAssertTrue(
      all.filter { $0.target == ["-j", "DROP"] }.allSatisfy { $0.matches.contains("INVALID") },
      "only invalid packets are still dropped")
    XCTAssertEqual(audit.ruleCount, logged.ruleCount, "the same rules as --log-denied, but the last one allows")
    for chain in audit.chains {
      for (i, rule) in chain.rules.enumerated() where rule.target.contains("NFLOG") {
        XCTAssertEqual(rule.matches, ["-m", "limit", "--limit", "10/min"])
        XCTAssertEqual(chain.rules[i + 1].target, ["-j", "RETURN"], chain.name)
        XCTAssertTrue(chain.rules[i + 1].comment?.contains("deny") == true, chain.name)
      }
    }
    XCTAssertEqual(audit.chains.flatMap(\.rules).count { $0.target.contains("NFLOG") }, denies.count)
    XCTAssertEqual(audit.chains[0].rules.last?.target, ["-j", "MARK", "--set-xmark", "0x0/0x3800000"])
    let nft = NftWriter.render(
      try NftCompiler.compile(cluster, options: EmitOptions(node: "node-a", denyAction: .audit)))
    XCTAssertFalse(nft.contains("reject"))
    XCTAssertEqual(nft.components(separatedBy: "log prefix ").count - 1, denies.count, "the sample is IPv4 only")
  }
}
