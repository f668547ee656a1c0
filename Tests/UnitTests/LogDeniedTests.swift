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
