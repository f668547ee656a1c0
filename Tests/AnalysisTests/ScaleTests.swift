import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

/// A 5,000-pod cluster: 100 namespaces in 5 teams, 50 pods each, 20 label
/// combinations (each namespace uses the 4 of its team), 200 policies
/// (default-deny ingress, and ingress on http from the namespaces of the
/// same team). The asserts are on counts; the elapsed seconds are only
/// printed, so they show in the log (CI times nothing).
final class ScaleTests: XCTestCase {
  static let namespaceCount = 100
  static let podsPerNamespace = 50

  static func namespaceName(_ n: Int) -> String { "ns-" + (n < 10 ? "0\(n)" : "\(n)") }

  static func cluster() -> Inventory {
    var namespaces: [Namespace] = []
    var pods: [Pod] = []
    var policies: [NetworkPolicy] = []
    for n in 0..<namespaceCount {
      let ns = namespaceName(n)
      let team = n % 5
      namespaces.append(Build.namespace(ns, ["team": "t\(team)"]))
      for k in 0..<podsPerNamespace {
        let combo = team * 4 + k % 4
        pods.append(
          Build.pod(
            ns, "pod-\(k)", ip: "10.\(n).\(k / 200).\(k % 200 + 1)",
            labels: ["app": "app-\(combo)", "tier": combo % 2 == 0 ? "front" : "back"],
            ports: [Build.http()],
            node: "node-\(k % 10)"))
      }
      policies.append(Build.policy(ns, "default-deny-ingress", types: [.ingress]))
      policies.append(
        Build.policy(
          ns, "allow-team", types: [.ingress],
          ingress: [
            Build.rule([Build.namespaces(["team": "t\(team)"])], ports: [Build.named("http")])
          ]))
    }
    return Build.inventory(namespaces: namespaces, pods: pods, policies: policies)
  }

  /// ns-00's app-0 pods (13 of them) now also take TCP 9090 from the app-4
  /// pods of team t1 (20 namespaces x 13 pods).
  static let monitoring = Build.policy(
    "ns-00", "allow-monitoring", selecting: ["app": "app-0"], types: [.ingress],
    ingress: [
      Build.rule(
        [
          .selectors(
            pods: LabelSelector(matchLabels: ["app": "app-4"]),
            namespaces: LabelSelector(matchLabels: ["team": "t1"]))
        ],
        ports: [Build.port(9090)])
    ])

  func testDiffOfAFiveThousandPodClusterByOnePolicy() {
    let old = Self.cluster()
    var new = old
    new.policies.append(Self.monitoring)
    XCTAssertEqual(old.pods.count, 5000)
    XCTAssertEqual(new.policies.count, 201)
    XCTAssertEqual(ConnectivityEngine(cluster: Cluster(old)).classMembers.count, 400)

    let start = Date()
    let diff = ConnectivityDiffer.diff(old: old, new: new)
    let elapsed = Date().timeIntervalSince(start)
    let seconds = String(format: "%.2f", elapsed)
    print(
      "policyc scale: diff of 5,000 pods, 200 -> 201 policies: \(seconds) s, \(diff.changes.count) changes"
    )

    XCTAssertEqual(diff.changes.count, 13 * 20 * 13)
    XCTAssertEqual(diff.endpointsBefore, 5001)
    XCTAssertEqual(diff.endpointsAfter, 5001)
    XCTAssertEqual(diff.changedPolicies, ["ns-00/allow-monitoring"])
    XCTAssertTrue(diff.changes.allSatisfy { $0.kind == .changed && $0.before == PortSet.none })
    XCTAssertTrue(
      diff.changes.allSatisfy {
        $0.after?.description == "TCP 9090" && $0.causes == ["ns-00/allow-monitoring"]
      })
    XCTAssertEqual(Set(diff.changes.map(\.to)).count, 13)
    XCTAssertEqual(Set(diff.changes.map(\.from)).count, 260)
    XCTAssertTrue(diff.changes.allSatisfy { $0.to.hasPrefix("ns-00/pod-") })
    let sources: Set<String> = Set(diff.changes.map { String($0.from.prefix { $0 != "/" }) })
    let teamOne: Set<String> = Set(
      (0..<20).map { (i: Int) -> String in Self.namespaceName(i * 5 + 1) })
    XCTAssertEqual(sources, teamOne)
  }

  func testMatrixOfAFiveThousandPodClusterForOnePort() {
    let cluster = Cluster(Self.cluster())
    let start = Date()
    let matrix = ConnectivityMatrix.compute(
      cluster: cluster, ports: [PortProbe(port: 8080, proto: .tcp)])
    let elapsed = Date().timeIntervalSince(start)
    var allowed = 0
    for i in matrix.endpoints.indices {
      for j in matrix.endpoints.indices where matrix.isAllowed(i, j, 0) { allowed += 1 }
    }
    let seconds = String(format: "%.2f", elapsed)
    print(
      "policyc scale: matrix of 5,000 pods on 8080/TCP: \(seconds) s, \(allowed) of 25000000 cells allowed"
    )

    XCTAssertEqual(matrix.endpoints.count, 5000)
    // Same team (1,000 pods each): allowed; the diagonal counts as allowed.
    XCTAssertEqual(allowed, 5 * 1000 * 1000)
    let first = matrix.endpoints.firstIndex(of: "ns-00/pod-0")!
    let sameTeam = matrix.endpoints.firstIndex(of: "ns-05/pod-7")!
    let otherTeam = matrix.endpoints.firstIndex(of: "ns-01/pod-7")!
    XCTAssertTrue(matrix.isAllowed(first, sameTeam, 0))
    XCTAssertFalse(matrix.isAllowed(first, otherTeam, 0))
    XCTAssertFalse(matrix.isAllowed(otherTeam, first, 0))
  }
}
