import PolicyModel
import RuleModel
import TestSupport
import Testing

@testable import Agent

/// The agent hands the compile the cache's policies in dictionary order
/// (`Agent.currentCluster`, through `Cluster.replacing`), which changes
/// from run to run: the compile must not see it, nor the order of pods.
@Suite struct InputOrderTests {
  @Test func compileIgnoresTheOrderOfTheObjects() throws {
    for seed in 0..<300 {
      var g = SeededGenerator(seed: UInt64(seed))
      let namespaces = PodUpdateTests.namespaces
      let pods = PodUpdateTests.pods(&g)
      let policies = PodUpdateTests.policies(&g)
      let sorted = pods.keys.sorted().compactMap { pods[$0] }
      for family in [IPAddress.Family.ipv4, .ipv6] {
        let options = EmitOptions(node: "node-a", useIPSets: true, family: family)
        let ordered = try RuleCompiler.compile(
          Cluster(namespaces: namespaces, pods: sorted, policies: policies), options: options)
        let shuffled = try RuleCompiler.compile(
          Cluster(
            namespaces: namespaces.shuffled(using: &g), pods: sorted.shuffled(using: &g),
            policies: policies.shuffled(using: &g)), options: options)
        #expect(ordered.chains == shuffled.chains, "seed \(seed): the chains differ")
        #expect(ordered.sets == shuffled.sets, "seed \(seed): the sets differ")
      }
    }
  }
}
