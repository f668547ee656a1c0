import IptablesEmitter
import NftEmitter
import PolicyModel
import RuleModel
import TestSupport
import XCTest

/// `Cluster.updatingPods` (the agent's cluster after pod changes) must be
/// the cluster built from scratch from the same objects: the same pods in
/// the same order, the same namespaces, every pod found by name, and the
/// same rules in every mode, after the first cluster's selector results
/// were filled in by a compile.
final class ClusterUpdateTests: XCTestCase {
  static let here = RandomCluster.here

  /// A pod drawn anew, in one of the cluster's namespaces or sometimes in
  /// one no object names.
  static func newPod(_ g: inout SeededGenerator, name: String) -> Pod {
    Pod(
      meta: ObjectMeta(
        name: name, namespace: ["x", "y", "z", "w"].randomElement(using: &g)!,
        labels: ["pod": ["a", "b", "n"].randomElement(using: &g)!], location: here),
      nodeName: ["node-a", "node-b"].randomElement(using: &g)!, phase: "Running",
      ips: [IPAddress("10.0.9.\(Int.random(in: 1...40, using: &g))")!], ports: [])
  }

  /// One random change to `pods`; returns the key it changed.
  static func edit(_ pods: inout [String: Pod], _ g: inout SeededGenerator, step: Int) -> String {
    let key = pods.keys.sorted().randomElement(using: &g)!
    switch Int.random(in: 0..<8, using: &g) {
    case 0: pods[key] = nil
    case 1: pods[key]?.meta.labels["pod"] = ["a", "b", "c", "n"].randomElement(using: &g)!
    case 2: pods[key]?.phase = ["Succeeded", "Failed", "Pending"].randomElement(using: &g)!
    case 3: pods[key]?.ips = [IPAddress("10.0.9.\(Int.random(in: 1...40, using: &g))")!]
    case 4: pods[key]?.hostNetwork.toggle()
    case 5: pods[key]?.nodeName = ["node-a", "node-b", nil].randomElement(using: &g)!
    default:
      let pod = newPod(&g, name: "new\(step)")
      let added = "\(pod.meta.namespace)/\(pod.meta.name)"
      pods[added] = pod
      return added
    }
    return key
  }

  static func identity(_ pod: Pod) -> String {
    "\(pod.meta.namespace)/\(pod.meta.name) \(pod.meta.labels.sorted { $0.key < $1.key }) \(pod.ips) "
      + "\(pod.nodeName ?? "-") \(pod.phase ?? "-") \(pod.hostNetwork)"
  }

  func testUpdatedPodsCompileAsAFreshCluster() throws {
    var counts = (updated: 0, refused: 0, updates: 0)
    for seed in 0..<150 {
      var g = SeededGenerator(seed: UInt64(5000 + seed))
      let drawn = RandomCluster.draw(&g)
      // Sometimes a namespace exists only through its pods.
      let namespaces = Bool.random(using: &g) ? drawn.namespaces : Array(drawn.namespaces.dropLast())
      var pods = Dictionary(uniqueKeysWithValues: drawn.pods.map { ("\($0.meta.namespace)/\($0.meta.name)", $0) })
      var cluster = Cluster(
        namespaces: namespaces, pods: drawn.pods, policies: drawn.policies, adminPolicies: drawn.admin)
      for step in 0..<6 {
        let context = "seed \(seed) step \(step)"
        // Fill the selector results in, as the compile before the change did.
        _ = try RuleCompiler.compile(cluster, options: EmitOptions(node: "node-a", useIPSets: true))
        var changed = Set<String>()
        for _ in 0..<Int.random(in: 1...3, using: &g) { changed.insert(Self.edit(&pods, &g, step: step)) }
        let updates = changed.sorted().map { key in
          let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
          return Cluster.PodUpdate(namespace: parts[0], name: parts[1], object: pods[key])
        }
        let fresh = Cluster(
          namespaces: namespaces, pods: pods.values.shuffled(using: &g), policies: drawn.policies,
          adminPolicies: drawn.admin)
        guard let updated = cluster.updatingPods(updates.shuffled(using: &g)) else {
          // Only when a touched namespace may come or go.
          let touched = Set(updates.map(\.namespace))
          let participating = Set(fresh.pods.map(\.meta.namespace))
          let written = Set(namespaces.map(\.name))
          XCTAssertTrue(
            touched.contains {
              !cluster.namespaceLabels.keys.contains($0) || !written.union(participating).contains($0)
            }
              || Set(fresh.namespaceLabels.keys) != Set(cluster.namespaceLabels.keys),
            "\(context): refused an update that keeps the namespaces")
          counts.refused += 1
          cluster = fresh
          continue
        }
        counts.updated += 1
        counts.updates += updates.count
        XCTAssertNotEqual(updated.generation, cluster.generation, context)
        XCTAssertEqual(updated.pods.map(Self.identity), fresh.pods.map(Self.identity), context)
        XCTAssertEqual(updated.namespaceLabels, fresh.namespaceLabels, context)
        for (i, pod) in fresh.pods.enumerated() {
          XCTAssertEqual(updated.podIndex(namespace: pod.meta.namespace, name: pod.meta.name), i, context)
        }
        for update in updates where fresh.podIndex(namespace: update.namespace, name: update.name) == nil {
          XCTAssertNil(updated.podIndex(namespace: update.namespace, name: update.name), context)
        }
        for policy in drawn.policies {
          XCTAssertEqual(updated.targets(of: policy), fresh.targets(of: policy), context)
        }
        for useIPSets in [true, false] {
          for family in [IPAddress.Family.ipv4, .ipv6] {
            let options = EmitOptions(node: "node-a", useIPSets: useIPSets, family: family)
            let (got, want) = (
              try IptablesCompiler.compile(updated, options: options),
              try IptablesCompiler.compile(fresh, options: options)
            )
            XCTAssertEqual(RestoreWriter.render(got), RestoreWriter.render(want), "\(context) \(family) \(useIPSets)")
            XCTAssertEqual(IPSetWriter.render(got.sets), IPSetWriter.render(want.sets), context)
          }
        }
        XCTAssertEqual(
          NftWriter.render(try NftCompiler.compile(updated, options: EmitOptions(node: "node-a"))),
          NftWriter.render(try NftCompiler.compile(fresh, options: EmitOptions(node: "node-a"))), context)
        cluster = updated
      }
    }
    XCTAssertGreaterThan(counts.updated, 500, "updates taken \(counts.updated), refused \(counts.refused)")
    XCTAssertGreaterThan(counts.refused, 30, "refusals \(counts.refused)")
  }

  /// `Cluster.updatePolicies` (the agent's cluster after policy changes),
  /// after a compile of the old policies filled in the selector results it
  /// shares, compiles as the cluster built from scratch, in every mode.
  func testPolicyUpdatesReplaceAsAllPolicies() throws {
    var counts = (replaced: 0, refused: 0)
    for seed in 0..<300 {
      var g = SeededGenerator(seed: UInt64(7000 + seed))
      let drawn = RandomCluster.draw(&g)
      let base = Cluster(
        namespaces: drawn.namespaces, pods: drawn.pods, policies: drawn.policies, adminPolicies: drawn.admin)
      for family in [IPAddress.Family.ipv4, .ipv6] {
        _ = try RuleCompiler.compile(base, options: EmitOptions(node: "node-a", useIPSets: true, family: family))
      }
      var policies = Dictionary(
        uniqueKeysWithValues: drawn.policies.map { ("\($0.meta.namespace)/\($0.meta.name)", $0) })
      var changed = Set<String>()
      let more = RandomCluster.draw(&g).policies
      for (i, policy) in more.enumerated() {
        var policy = policy
        switch Int.random(in: 0..<3, using: &g) {
        case 0: policy.meta.name = "q\(i)"
        case 1: policy.meta.namespace = ["x", "y", "z", "w"].randomElement(using: &g)!
        default: break
        }
        let key = "\(policy.meta.namespace)/\(policy.meta.name)"
        policies[key] = Bool.random(using: &g) ? policy : nil
        changed.insert(key)
      }
      let updates = changed.shuffled(using: &g).map { key in
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        return Cluster.PolicyUpdate(namespace: parts[0], name: parts[1], object: policies[key])
      }
      let fresh = Cluster(
        namespaces: drawn.namespaces, pods: drawn.pods, policies: Array(policies.values), adminPolicies: drawn.admin)
      var replaced = base
      guard replaced.updatePolicies(updates, adminPolicies: drawn.admin) else {
        XCTAssertNotEqual(Set(fresh.namespaceLabels.keys), Set(base.namespaceLabels.keys), "seed \(seed)")
        counts.refused += 1
        continue
      }
      counts.replaced += 1
      XCTAssertEqual(replaced.generation, base.generation, "seed \(seed)")
      XCTAssertEqual(
        replaced.policies.map { "\($0.meta.namespace)/\($0.meta.name) \($0.podSelector)" },
        fresh.policies.map { "\($0.meta.namespace)/\($0.meta.name) \($0.podSelector)" }, "seed \(seed)")
      XCTAssertEqual(replaced.namespaceLabels, fresh.namespaceLabels, "seed \(seed)")
      for family in [IPAddress.Family.ipv4, .ipv6] {
        for useIPSets in [true, false] {
          let options = EmitOptions(node: "node-a", useIPSets: useIPSets, family: family)
          let want = try IptablesCompiler.compile(fresh, options: options)
          let got = try IptablesCompiler.compile(replaced, options: options)
          XCTAssertEqual(RestoreWriter.render(got), RestoreWriter.render(want), "seed \(seed) \(family) \(useIPSets)")
          XCTAssertEqual(IPSetWriter.render(got.sets), IPSetWriter.render(want.sets), "seed \(seed)")
        }
      }
      XCTAssertEqual(
        NftWriter.render(try NftCompiler.compile(replaced, options: EmitOptions(node: "node-a"))),
        NftWriter.render(try NftCompiler.compile(fresh, options: EmitOptions(node: "node-a"))), "seed \(seed)")
    }
    XCTAssertGreaterThan(counts.replaced, 150, "replaced \(counts.replaced), refused \(counts.refused)")
    XCTAssertGreaterThan(counts.refused, 10, "refused \(counts.refused)")
  }

  /// The analysis view is not updated in place.
  func testAnalysisViewIsRebuilt() {
    var g = SeededGenerator(seed: 7)
    let cluster = RandomCluster.make(&g, withoutAddresses: true)
    XCTAssertNil(cluster.updatingPods([Cluster.PodUpdate(namespace: "x", name: "a", object: nil)]))
  }
}
