import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

final class ConnectivityDifferTests: XCTestCase {
  func lines(_ diff: ConnectivityDiff) -> [String] { lines(diff.changes) }

  func lines(_ changes: [ConnectivityChange]) -> [String] {
    changes.map {
      "\($0.kind.rawValue) \($0.from) -> \($0.to): \($0.before?.description ?? "-") => \($0.after?.description ?? "-") [\($0.causes.joined(separator: ","))]"
    }
  }

  func testCausesAreThePoliciesThatSelectTheEnds() throws {
    let diff = ConnectivityDiffer.diff(
      old: try Build.input("shop-old"), new: try Build.input("shop-new"))
    let changed = diff.changes.filter { $0.kind == .changed }
    XCTAssertEqual(
      lines(changed),
      [
        "changed backend/api-1 -> backend/db-1: TCP 5432 => none [backend/allow-api-to-db]",
        "changed external 192.168.0.0/16 -> backend/api-1: none => TCP 8080 [backend/allow-web-to-api]",
      ])
    XCTAssertEqual(diff.changedPolicies, ["backend/allow-api-to-db", "backend/allow-web-to-api"])
    XCTAssertEqual(diff.endpointsBefore, 6)
    XCTAssertEqual(diff.endpointsAfter, 7)
  }

  /// Swapping the sides swaps before and after, and added and removed.
  func testReverseDiffMirrors() throws {
    let old = try Build.input("shop-old")
    let new = try Build.input("shop-new")
    let forward = ConnectivityDiffer.diff(old: old, new: new).changes
    let backward = ConnectivityDiffer.diff(old: new, new: old).changes
    XCTAssertEqual(forward.count, backward.count)
    for (f, b) in zip(forward, backward) {
      XCTAssertEqual(f.from, b.from)
      XCTAssertEqual(f.to, b.to)
      XCTAssertEqual(f.before, b.after)
      XCTAssertEqual(f.after, b.before)
      XCTAssertEqual(f.causes, b.causes)
      let mirrored: ConnectivityChange.Kind =
        f.kind == .added ? .removed : f.kind == .removed ? .added : .changed
      XCTAssertEqual(b.kind, mirrored)
    }
  }

  /// A change with no policy edit (a namespace label) has no cause.
  func testNamespaceLabelChangeHasNoCause() throws {
    var new = try Build.input("shop-new")
    new.namespaces = new.namespaces.map {
      $0.name == "frontend" ? Build.namespace("frontend", ["team": "web-2"]) : $0
    }
    let diff = ConnectivityDiffer.diff(old: try Build.input("shop-new"), new: new)
    XCTAssertEqual(
      lines(diff),
      [
        "changed frontend/web-1 -> backend/api-1: TCP 8080 => none []",
        "changed frontend/web-2 -> backend/api-1: TCP 8080 => none []",
      ])
    XCTAssertEqual(diff.changedPolicies, [])
  }

  /// The diff groups pods by class; it must say what comparing every pair
  /// of pods one by one says. Checked on the samples cluster with each
  /// policy removed in turn, and with each pod removed in turn.
  func testAgreesWithPairByPairComparison() throws {
    let base = try Build.load(AnalysisGolden.repository.appendingPathComponent("samples/cluster"))
    var variants: [(String, Inventory)] = []
    for (i, policy) in base.policies.enumerated() {
      var v = base
      v.policies.remove(at: i)
      variants.append(("without policy \(policy.meta.namespace)/\(policy.meta.name)", v))
    }
    for (i, pod) in base.pods.enumerated() where i % 3 == 0 {
      var v = base
      v.pods.remove(at: i)
      variants.append(("without pod \(pod.meta.namespace)/\(pod.meta.name)", v))
    }
    for (label, variant) in variants {
      let diff = ConnectivityDiffer.diff(old: base, new: variant)
      let expected = pairByPair(old: base, new: variant)
      let actual = Dictionary(
        uniqueKeysWithValues: diff.changes.map {
          (
            "\($0.from) -> \($0.to)",
            "\($0.before?.description ?? "-") => \($0.after?.description ?? "-")"
          )
        })
      XCTAssertEqual(actual, expected, label)
    }
  }

  /// Every named pair (pods only, no regions), its ports before and after.
  func pairByPair(old: Inventory, new: Inventory) -> [String: String] {
    let a = Cluster.forAnalysis(old)
    let b = Cluster.forAnalysis(new)
    let ea = ConnectivityEngine(cluster: a)
    let eb = ConnectivityEngine(cluster: b)
    let regions = ExternalRegions.regions(
      for: a.policies + b.policies, avoiding: Set((a.pods + b.pods).flatMap(\.ips)))
    func sides(_ c: Cluster) -> [String: ConnectivityEngine.Side] {
      var out: [String: ConnectivityEngine.Side] = [:]
      for (i, pod) in c.pods.enumerated() { out[AnalysisEndpoint.name(of: pod)] = .pod(i) }
      for r in regions { out[r.name] = .address(r.representative!) }
      return out
    }
    let sa = sides(a)
    let sb = sides(b)
    var out: [String: String] = [:]
    for from in Set(sa.keys).union(sb.keys) {
      for to in Set(sa.keys).union(sb.keys) where from != to {
        let was = sa[from].flatMap { f in sa[to].map { ea.allowedPorts(from: f, to: $0) } }
        let now = sb[from].flatMap { f in sb[to].map { eb.allowedPorts(from: f, to: $0) } }
        if was != now {
          out["\(from) -> \(to)"] = "\(was?.description ?? "-") => \(now?.description ?? "-")"
        }
      }
    }
    return out
  }

  /// A workload stands for all its replicas, and replicas are distinct pods
  /// that policies govern like any other pair. A policy that lets api
  /// replicas talk to each other (or a default-deny that stops a
  /// StatefulSet's members from replicating) changes connectivity, so the
  /// diff must show `backend/Deployment/api -> backend/Deployment/api`.
  /// Today the pair is skipped (`from != to` in ConnectivityDiffer, and
  /// `a == b` returns `.all` in ConnectivityEngine.allowedPorts) and the
  /// diff is empty: exit 0 for a real change.
  func testWorkloadReplicasAreAPair() {
    let api = Build.workload(
      "Deployment", "backend", "api", labels: ["app": "api"], ports: [Build.http()])
    let deny = Build.policy("backend", "default-deny", types: [.ingress])
    let peers = Build.policy(
      "backend", "api-peers", selecting: ["app": "api"], types: [.ingress],
      ingress: [Build.rule([Build.pods(["app": "api"])], ports: [Build.named("http")])])
    let diff = ConnectivityDiffer.diff(
      old: Build.inventory(workloads: [api], policies: [deny]),
      new: Build.inventory(workloads: [api], policies: [deny, peers]))
    XCTAssertEqual(
      lines(diff).filter {
        $0.contains("-> backend/Deployment/api:") && $0.contains("backend/Deployment/api ->")
      },
      [
        "changed backend/Deployment/api -> backend/Deployment/api: none => TCP 8080 [backend/api-peers]"
      ])
  }

  /// Real pods keep the rule: a pod talking to itself is never blocked, so
  /// there is no self pair to show.
  func testPodsHaveNoSelfPair() {
    let pod = Build.pod("backend", "api-1", ip: "10.0.0.1", labels: ["app": "api"])
    let diff = ConnectivityDiffer.diff(
      old: Build.inventory(pods: [pod]),
      new: Build.inventory(
        pods: [pod], policies: [Build.policy("backend", "deny", types: [.ingress, .egress])]))
    XCTAssertFalse(diff.changes.contains { $0.from == $0.to })
    XCTAssertEqual(
      lines(diff),
      [
        "changed backend/api-1 -> external 0.0.0.0/0: all => none [backend/deny]",
        "changed external 0.0.0.0/0 -> backend/api-1: all => none [backend/deny]",
      ])
  }

  /// Two pods of one class stand in for each other, so a class of two must
  /// still report both directions between its members.
  func testPairsInsideOneClass() {
    let pods = (1...3).map {
      Build.pod("x", "web-\($0)", ip: "10.0.0.\($0)", labels: ["app": "web"])
    }
    let deny = Build.policy("x", "deny", types: [.ingress])
    let diff = ConnectivityDiffer.diff(
      old: Build.inventory(pods: pods), new: Build.inventory(pods: pods, policies: [deny]))
    XCTAssertEqual(
      diff.changes.filter { $0.from.hasPrefix("x/") && $0.to.hasPrefix("x/") }.count, 6)
    XCTAssertEqual(diff.changes.count, 9)
    XCTAssertTrue(diff.changes.allSatisfy { $0.after == PortSet.none && $0.causes == ["x/deny"] })
  }
}
