import IptablesEmitter
import NftEmitter
import PolicyModel
import RuleModel
import TestSupport
import XCTest

/// `Cluster.replacing` (the agent's compile after a policy-only change)
/// must compile to the same bytes as a cluster built from scratch from the
/// same objects, after the first cluster's selector results were filled in
/// by a compile of other policies.
final class ClusterReplacingTests: XCTestCase {
  func testReplacedPoliciesCompileAsAFreshCluster() throws {
    var reused = 0
    var rebuilt = 0
    for seed in 0..<150 {
      var g = SeededGenerator(seed: UInt64(seed))
      let first = RandomCluster.draw(&g)
      var second = RandomCluster.draw(&g)
      // The second draw's policies and admin tiers over the first draw's pods and namespaces;
      // sometimes the same policies with one dropped (a policy deleted).
      if Bool.random(using: &g) { second.policies = Array(first.policies.dropLast()) }
      // A policy in a namespace nothing else names: the namespaces change, no reuse.
      if Int.random(in: 0..<5, using: &g) == 0, var moved = second.policies.first {
        moved.meta.namespace = "w"
        second.policies.append(moved)
      }
      let base = Cluster(
        namespaces: first.namespaces, pods: first.pods, policies: first.policies, adminPolicies: first.admin)
      for family in [IPAddress.Family.ipv4, .ipv6] {
        let options = EmitOptions(node: "node-a", useIPSets: true, family: family)
        _ = try RuleCompiler.compile(base, options: options)
      }
      let fresh = Cluster(
        namespaces: first.namespaces, pods: first.pods, policies: second.policies, adminPolicies: second.admin)
      guard let replaced = base.replacing(policies: second.policies.reversed(), adminPolicies: second.admin) else {
        // Only when the policies change which namespaces exist.
        XCTAssertNotEqual(Set(fresh.namespaceLabels.keys), Set(base.namespaceLabels.keys), "seed \(seed)")
        rebuilt += 1
        continue
      }
      reused += 1
      XCTAssertEqual(replaced.namespaceLabels, fresh.namespaceLabels, "seed \(seed)")
      for family in [IPAddress.Family.ipv4, .ipv6] {
        for useIPSets in [true, false] {
          let options = EmitOptions(node: "node-a", useIPSets: useIPSets, family: family)
          let want = RestoreWriter.render(try IptablesCompiler.compile(fresh, options: options))
          let got = RestoreWriter.render(try IptablesCompiler.compile(replaced, options: options))
          XCTAssertEqual(got, want, "seed \(seed) \(family) ipsets \(useIPSets)")
          let wantSets = IPSetWriter.render(try IptablesCompiler.compile(fresh, options: options).sets)
          XCTAssertEqual(
            IPSetWriter.render(try IptablesCompiler.compile(replaced, options: options).sets), wantSets, "seed \(seed)")
        }
      }
      XCTAssertEqual(
        NftWriter.render(try NftCompiler.compile(replaced, options: EmitOptions(node: "node-a"))),
        NftWriter.render(try NftCompiler.compile(fresh, options: EmitOptions(node: "node-a"))), "seed \(seed)")
    }
    XCTAssertGreaterThan(reused, 80, "the reuse was taken \(reused) times of 150")
    XCTAssertGreaterThan(rebuilt, 10, "a new namespace refused the reuse \(rebuilt) times")
  }
}
