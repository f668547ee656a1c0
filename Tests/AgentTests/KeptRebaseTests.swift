import NftEmitter
import NodeApply
import PolicyModel
import RuleModel
import TestSupport
import Testing

@testable import Agent

/// What the agent does between compiles: pod updates go to the kernel as
/// set member changes, then a policy change compiles the cluster of the
/// last compile with those pods updated in place (`Cluster.updatingPods`),
/// reusing the chains kept from that compile with the members in force
/// (`KeptChains.rebase`). That compile must be a fresh compile of the same
/// objects: the same chains, sets, members and dependence, in both
/// families, and the same nft text.
@Suite struct KeptRebaseTests {
  static let families: [IPAddress.Family] = [.ipv4, .ipv6]

  static func options(_ family: IPAddress.Family) -> EmitOptions {
    EmitOptions(node: "node-a", useIPSets: true, family: family)
  }

  /// As `Enforcer.apply` compiles: kept chains only when the cluster is of
  /// the generation the last compile saw.
  static func compile(_ cluster: Cluster, kept: KeptChains) throws -> [RuleSet] {
    let using = kept.admits(cluster) ? kept : nil
    return try families.map { try RuleCompiler.compile(cluster, options: options($0), kept: using) }
  }

  @Test func rebasedChainsCompileAsAFreshCompile() throws {
    var counts = (rebased: 0, reused: 0, compiled: 0, refused: 0, membersChanged: 0)
    for seed in 0..<300 {
      var g = SeededGenerator(seed: UInt64(9000 + seed))
      let namespaces = PodUpdateTests.namespaces
      var pods = PodUpdateTests.pods(&g)
      var policies = PodUpdateTests.policies(&g)
      let kept = KeptChains()
      let first = Cluster(namespaces: namespaces, pods: Array(pods.values), policies: policies)
      _ = try Self.compile(first, kept: kept)
      // The second compile of one generation keeps each policy's chains.
      var cluster = first.withPolicies(policies.reversed(), adminPolicies: [])!
      var models = try Self.compile(cluster, kept: kept)
      // The agent's pod sets after each compile, reusing unchanged sets' members.
      let lowered = LoweredSets()
      for model in models { _ = lowered.podSets(model, state: nil, statePath: nil) }
      for round in 0..<3 {
        let context = "seed \(seed) round \(round)"
        var sets = models.map {
          PodSets(model: $0, state: ApplyState(fingerprint: "", chainHashes: [:], sets: [:]), statePath: "")
        }
        var addresses = PodAddresses(pods)
        var changedSets: [IPAddress.Family: Set<String>] = [:]
        var touched = Set<String>()
        var inStep = true
        // A few batches of pod updates, each applied as member changes.
        for batch in 0..<Int.random(in: 1...3, using: &g) {
          var touches = PodTouches(needsCompile: false)
          for step in 0..<Int.random(in: 1...3, using: &g) {
            guard let key = pods.keys.sorted().randomElement(using: &g) else { continue }
            var next = pods[key]
            switch Int.random(in: 0..<5, using: &g) {
            case 0: next = nil
            case 1: next?.meta.labels["app"] = ["a", "b", "c"].randomElement(using: &g)!
            case 2: next?.phase = "Failed"
            case 3: next?.ips = [IPAddress("10.0.0.\(Int.random(in: 1...12, using: &g))")!]
            default:
              let pod = PodUpdateTests.pod(&g, name: "new\(round)-\(batch)-\(step)")
              let newKey = "\(pod.meta.namespace)/\(pod.meta.name)"
              touches.note(newKey, previous: pods[newKey])
              if let old = pods[newKey] { addresses.remove(newKey, old) }
              pods[newKey] = pod
              addresses.insert(newKey, pod)
              touched.insert(newKey)
              continue
            }
            touches.note(key, previous: pods[key])
            if let old = pods[key] { addresses.remove(key, old) }
            if let next { addresses.insert(key, next) }
            pods[key] = next
            touched.insert(key)
          }
          let plan = PodUpdates.plan(
            touches, node: "node-a", sets: sets, addresses: addresses, pod: { pods[$0] },
            namespace: { name in namespaces.first { $0.name == name } })
          guard case .success(let changes) = plan else {
            inStep = false
            break
          }
          for (index, familyChanges) in changes.enumerated() {
            for change in familyChanges {
              for member in change.added { sets[index].members[change.set, default: []].insert(IPAddress(member)!) }
              for member in change.removed { sets[index].members[change.set]?.remove(IPAddress(member)!) }
              changedSets[sets[index].family, default: []].insert(change.set)
              counts.membersChanged += change.added.count + change.removed.count
            }
          }
        }
        // Sometimes a policy changes too (the compile's reason).
        if Bool.random(using: &g) { policies = PodUpdateTests.policies(&g) }
        let fresh = Cluster(namespaces: namespaces, pods: Array(pods.values), policies: policies)
        let want = try Self.families.map { try RuleCompiler.compile(fresh, options: Self.options($0)) }
        let updates = touched.sorted().map { key in
          let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
          return Cluster.PodUpdate(namespace: parts[0], name: parts[1], object: pods[key])
        }
        guard let updated = cluster.updatingPods(updates)?.withPolicies(policies, adminPolicies: []) else {
          counts.refused += 1
          cluster = fresh
          models = try Self.compile(cluster, kept: kept)
          continue
        }
        if inStep {
          var members: [IPAddress.Family: [String: Set<IPAddress>]] = [:]
          for family in sets {
            members[family.family] = family.members.filter { changedSets[family.family]?.contains($0.key) ?? false }
          }
          #expect(kept.rebase(from: cluster.generation, to: updated.generation, members: members), "\(context)")
          counts.rebased += 1
        } else {
          counts.compiled += 1
        }
        models = try Self.compile(updated, kept: kept)
        counts.reused += kept.takeCounts().reused
        for (index, model) in models.enumerated() {
          #expect(
            lowered.podSets(model, state: nil, statePath: nil).members
              == PodSets(model: model, state: nil, statePath: nil).members, "\(context)")
          #expect(model == want[index], "\(context) \(model.family)")
          #expect(model.podDependence == want[index].podDependence, "\(context)")
        }
        let nft = EmitOptions(node: "node-a")
        #expect(
          NftWriter.render(try NftCompiler.compile(updated, options: nft, kept: kept))
            == NftWriter.render(try NftCompiler.compile(fresh, options: nft)), "\(context)")
        cluster = updated
      }
    }
    // Not vacuous: the rebase is taken, kept chains are reused over changed
    // members, and the other paths are seen too.
    #expect(counts.rebased > 300, "rebased \(counts.rebased), compiled \(counts.compiled), refused \(counts.refused)")
    #expect(counts.reused > 400, "chains reused \(counts.reused)")
    #expect(counts.membersChanged > 150, "members changed \(counts.membersChanged)")
    #expect(counts.compiled > 50, "compiled without the kept chains \(counts.compiled)")
    #expect(counts.refused > 5, "refused \(counts.refused)")
  }
}
