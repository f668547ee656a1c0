import IptablesEmitter
import NftEmitter
import PolicyModel
import TestSupport
import XCTest

@testable import RuleModel

/// `compile` with `--jobs` above 1 builds the node's policy chains on
/// several threads first (`RuleCompiler.warm`), and the node's compile
/// replays them: on random clusters, every node, family and mode, the
/// rules and sets (and the nft ruleset) are a one-thread compile's, byte
/// for byte.
final class WarmCompileTests: XCTestCase {
  func testWarmedCompileIsAOneThreadCompile() throws {
    var generator = PropertySeed.generator(salt: 19)
    let rerun = PropertySeed.reproduce("WarmCompileTests/testWarmedCompileIsAOneThreadCompile")
    var warmed = 0
    for round in 0..<(60 * PropertySeed.scale) {
      let inputs = EmitterAgreementTests.inputs(round: round, &generator)
      let cluster = inputs.cluster
      for node in [nil, "node-a", "node-b"] as [String?] {
        for family in [IPAddress.Family.ipv4, .ipv6] {
          for ipsets in [false, true] {
            let options = EmitOptions(node: node, useIPSets: ipsets, family: family)
            let context = "round \(round) node \(node ?? "all") \(family) ipsets \(ipsets) (\(rerun))"
            let want = try IptablesCompiler.compile(cluster, options: options)
            let jobs = 2 + round % 3
            let got = try IptablesCompiler.compile(cluster, options: options, jobs: jobs)
            XCTAssertEqual(RestoreWriter.render(got), RestoreWriter.render(want), context)
            XCTAssertEqual(IPSetWriter.render(got.sets), IPSetWriter.render(want.sets), context)
            // The model too, with what the node's rules depend on.
            let memo = FleetMemo()
            RuleCompiler.warm(memo, cluster: cluster, options: options, jobs: jobs)
            warmed += memo.chains.withLock { $0.count }
            let model = try RuleCompiler.compile(cluster, options: options, memo: memo)
            let plain = try RuleCompiler.compile(cluster, options: options)
            XCTAssertEqual(model, plain, context)
            XCTAssertEqual(model.podDependence, plain.podDependence, context)
          }
        }
        let nft = EmitOptions(node: node)
        XCTAssertEqual(
          NftWriter.render(try NftCompiler.compile(cluster, options: nft, jobs: 2 + round % 3)),
          NftWriter.render(try NftCompiler.compile(cluster, options: nft)), "round \(round) nft (\(rerun))")
      }
    }
    XCTAssertGreaterThan(warmed, 1000, "the warm-up built too few chains to prove much")
  }
}
