import IptablesEmitter
import NftEmitter
import PolicyModel
import RuleModel
import TestSupport
import XCTest

/// The agent keeps each policy's chains between compiles (`KeptChains`):
/// after any sequence of policy edits, and pod changes between them, a
/// compile that reuses what it kept is a fresh compile, byte for byte, in
/// every mode, and holds nothing of a policy that is gone.
final class KeptChainsTests: XCTestCase {
  typealias Objects = (namespaces: [Namespace], pods: [Pod], policies: [NetworkPolicy], admin: [AdminPolicy])

  static let modes: [EmitOptions] = [IPAddress.Family.ipv4, .ipv6].flatMap { family in
    [true, false].map { EmitOptions(node: "node-a", useIPSets: $0, family: family) }
  }

  func testKeptChainsCompileAsAFreshCompile() throws {
    var counts = (reused: 0, built: 0, edits: 0, podChanges: 0)
    for seed in 0..<120 {
      var g = SeededGenerator(seed: UInt64(1000 + seed))
      var objects: Objects = RandomCluster.draw(&g)
      let kept = KeptChains()
      var cluster = Cluster(
        namespaces: objects.namespaces, pods: objects.pods, policies: objects.policies, adminPolicies: objects.admin)
      var markBit: UInt32 = 0x0080_0000
      // The agent's lowering of each mode reuses the last one's sets.
      var lowered = Self.modes.map { _ in IptablesLowering.SetMemo() }
      for step in 0..<10 {
        let context = "seed \(seed) step \(step)"
        var podsChanged = false
        if step > 0 {
          podsChanged = Self.edit(&objects, &g, markBit: &markBit)
          counts.edits += 1
          if podsChanged { counts.podChanges += 1 }
        }
        // As the agent builds it: the last cluster with other policies
        // while the pods and namespaces stay, else a new one.
        let policies = objects.policies.shuffled(using: &g)
        cluster =
          (podsChanged ? nil : cluster.withPolicies(policies, adminPolicies: objects.admin))
          ?? Cluster(
            namespaces: objects.namespaces, pods: objects.pods, policies: policies, adminPolicies: objects.admin)
        let fresh = Cluster(
          namespaces: objects.namespaces, pods: objects.pods, policies: objects.policies, adminPolicies: objects.admin)
        for (mode, var options) in Self.modes.enumerated() {
          options.markBit = markBit
          let want = try RuleCompiler.compile(fresh, options: options)
          let got = try RuleCompiler.compile(cluster, options: options, kept: kept)
          XCTAssertEqual(got, want, "\(context) \(options.family) ipsets \(options.useIPSets)")
          XCTAssertEqual(got.podDependence, want.podDependence, context)
          let (wantRules, gotRules) = (
            IptablesLowering.ruleSet(want), IptablesLowering.ruleSet(got, reusing: &lowered[mode])
          )
          XCTAssertEqual(RestoreWriter.render(gotRules), RestoreWriter.render(wantRules), context)
          XCTAssertEqual(IPSetWriter.render(gotRules.sets), IPSetWriter.render(wantRules.sets), context)
        }
        let nft = EmitOptions(node: "node-a", markBit: markBit)
        XCTAssertEqual(
          NftWriter.render(try NftCompiler.compile(cluster, options: nft, kept: kept)),
          NftWriter.render(try NftCompiler.compile(fresh, options: nft)), context)
        // Nothing kept of a policy that is gone.
        let names =
          Set(objects.policies.map { "policy/\($0.meta.namespace)/\($0.meta.name)" })
          .union(objects.admin.map { "\($0.kind)//\($0.meta.name)" })
        for owner in kept.owners { XCTAssertTrue(names.contains(owner), "\(context): \(owner) kept") }
        let taken = kept.takeCounts()
        counts.reused += taken.reused
        counts.built += taken.built
      }
    }
    XCTAssertGreaterThan(counts.reused, counts.built, "reused \(counts.reused), built \(counts.built)")
    XCTAssertGreaterThan(counts.podChanges, 40, "pods changed \(counts.podChanges) times of \(counts.edits) edits")
  }

  /// The agent uses the kept chains only for a cluster of the generation
  /// it compiled last: a rebuilt cluster drops them, `withPolicies` (an update in place) keeps them.
  func testAdmitsOnlyTheLastGeneration() throws {
    var g = SeededGenerator(seed: 7)
    let o = RandomCluster.draw(&g)
    let kept = KeptChains()
    let first = Cluster(namespaces: o.namespaces, pods: o.pods, policies: o.policies, adminPolicies: o.admin)
    XCTAssertFalse(kept.admits(first))
    XCTAssertTrue(kept.admits(first))
    _ = try RuleCompiler.compile(first, options: EmitOptions(node: "node-a", useIPSets: true), kept: kept)
    XCTAssertFalse(kept.owners.isEmpty)
    let replaced = try XCTUnwrap(first.withPolicies(o.policies, adminPolicies: o.admin))
    XCTAssertTrue(kept.admits(replaced))
    XCTAssertFalse(kept.owners.isEmpty)
    let rebuilt = Cluster(namespaces: o.namespaces, pods: o.pods, policies: o.policies, adminPolicies: o.admin)
    XCTAssertFalse(kept.admits(rebuilt))
    XCTAssertTrue(kept.owners.isEmpty)
  }

  /// One random edit: a policy or admin policy added, changed in one field,
  /// or deleted; sometimes a pod relabelled or the mark bit moved. True when
  /// the pods changed.
  static func edit(_ o: inout Objects, _ g: inout SeededGenerator, markBit: inout UInt32) -> Bool {
    let here = RandomCluster.here
    switch Int.random(in: 0..<12, using: &g) {
    case 0, 1:
      let drawn = RandomCluster.draw(&g)
      guard var added = drawn.policies.first else { return false }
      added.meta.name = "n\(Int.random(in: 0..<1000, using: &g))"
      o.policies.removeAll { $0.meta.namespace == added.meta.namespace && $0.meta.name == added.meta.name }
      o.policies.append(added)
    case 2, 3, 4:
      guard !o.policies.isEmpty else { return false }
      let i = Int.random(in: o.policies.indices, using: &g)
      changeField(&o.policies[i], &g)
    case 5:
      if !o.policies.isEmpty { o.policies.remove(at: Int.random(in: o.policies.indices, using: &g)) }
    case 6, 7:
      let name = ["anp0", "anp1", "anp5"].randomElement(using: &g)!
      let priority = o.admin.first { $0.meta.name == name }?.priority ?? Int.random(in: 10...20, using: &g)
      o.admin.removeAll { $0.meta.name == name }
      if Bool.random(using: &g) {
        o.admin.append(RandomCluster.adminPolicy(&g, name: name, tier: .admin(priority: priority)))
      }
    case 8:
      o.admin.removeAll { $0.tier == .baseline }
      if Bool.random(using: &g) { o.admin.append(RandomCluster.adminPolicy(&g, name: "default", tier: .baseline)) }
    case 9:
      // The same policy with one rule's ports or peers changed, nothing else.
      guard let i = o.policies.indices.randomElement(using: &g), !o.policies[i].ingress.isEmpty else { return false }
      o.policies[i].ingress[0].ports = [
        PolicyPort(proto: .tcp, port: .number(Int.random(in: 1...9, using: &g)), location: here)
      ]
    case 10:
      let i = Int.random(in: o.pods.indices, using: &g)
      o.pods[i].meta.labels["tier"] = ["web", "db", nil].randomElement(using: &g)!
      return true
    default:
      markBit = [0x0080_0000, 0x0000_0100, 0x4000_0000].randomElement(using: &g)!
    }
    return false
  }

  /// Changes one field of a policy, keeping its namespace and name.
  static func changeField(_ policy: inout NetworkPolicy, _ g: inout SeededGenerator) {
    switch Int.random(in: 0..<6, using: &g) {
    case 0: policy.podSelector = RandomCluster.selector(&g)
    case 1: policy.ingress.append(RandomCluster.rule(&g))
    case 2: policy.egress = (0..<Int.random(in: 0...2, using: &g)).map { _ in RandomCluster.rule(&g) }
    case 3: policy.policyTypes = [[.ingress], [.egress], [.ingress, .egress]].randomElement(using: &g)!
    case 4:
      if !policy.egress.isEmpty { policy.egress[0].peers = RandomCluster.rule(&g).peers }
    default:
      if !policy.ingress.isEmpty { policy.ingress[0].peers = RandomCluster.rule(&g).peers }
    }
  }
}
