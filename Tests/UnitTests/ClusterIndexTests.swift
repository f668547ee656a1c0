import TestSupport
import XCTest
import YAMLBridge

@testable import PolicyModel

/// The cluster's lookups a fleet asks many times (pods by node, peer
/// addresses, the policies selecting a pod) are kept or computed another
/// way; each must answer what the plain scan over every pod or policy does.
final class ClusterIndexTests: XCTestCase {
  static let here = SourceLocation(file: "f", mark: Mark(line: 1, column: 1))
  static let namespaces = ["a", "b", "c", "d"]
  static let apps = ["web", "api", "db"]

  /// Pods on four nodes (and none, and ""), labelled from a few values,
  /// with IPv4, IPv6 or both; some share an address.
  static func cluster(seed: UInt64) -> Cluster {
    var g = SeededGenerator(seed: seed)
    let nodes: [String?] = [nil, "", "n1", "n2", "n3", "n4"]
    var pods: [Pod] = []
    for i in 0..<300 {
      let ns = namespaces.randomElement(using: &g)!
      var labels = ["app": apps.randomElement(using: &g)!]
      if Bool.random(using: &g) { labels["tier"] = ["front", "back"].randomElement(using: &g)! }
      // Addresses from a small range, so some pods share one.
      let v4 = IPAddress(family: .ipv4, value: 0x0a00_0000 | UInt128(Int.random(in: 0..<250, using: &g)))
      let v6 = IPAddress(family: .ipv6, value: (UInt128(0xfd00) << 112) | UInt128(Int.random(in: 0..<250, using: &g)))
      let ips = [[v4], [v6], [v4, v6], [v6, v4]].randomElement(using: &g)!
      pods.append(
        Pod(
          meta: ObjectMeta(name: "p\(i)", namespace: ns, labels: labels, location: here),
          nodeName: nodes.randomElement(using: &g)!, phase: "Running", ips: ips, ports: []))
    }
    var policies: [NetworkPolicy] = []
    for i in 0..<60 {
      let ns = namespaces.randomElement(using: &g)!
      let types = [[PolicyType.ingress], [.egress], [.ingress, .egress]].randomElement(using: &g)!
      policies.append(
        NetworkPolicy(
          meta: ObjectMeta(name: "np\(i)", namespace: ns, location: here),
          podSelector: selector(&g) ?? .everything, policyTypes: types, policyTypesWritten: true, ingress: [],
          egress: []))
    }
    let spaces = namespaces.enumerated().map { i, name in
      Namespace(name: name, labels: ["team": i % 2 == 0 ? "even" : "odd"], location: here)
    }
    return Cluster(namespaces: spaces, pods: pods, policies: policies)
  }

  static func selector(_ g: inout SeededGenerator) -> LabelSelector? {
    switch Int.random(in: 0..<5, using: &g) {
    case 0: return nil
    case 1: return .everything
    case 2: return LabelSelector(matchLabels: ["app": apps.randomElement(using: &g)!])
    case 3: return LabelSelector(expressions: [SelectorRequirement(key: "tier", op: .exists, values: [])])
    default: return LabelSelector(matchLabels: ["team": ["even", "odd"].randomElement(using: &g)!])
    }
  }

  func testPodsOnANodeAreThoseNamingIt() {
    let cluster = Self.cluster(seed: 1)
    var seen = 0
    for node in ["", "n1", "n2", "n3", "n4", "n5"] {
      let want = cluster.pods.indices.filter { cluster.pods[$0].nodeName == node }
      XCTAssertEqual(cluster.pods(onNode: node), want, node)
      seen += want.count
    }
    // Pods without a nodeName are on no node, not on "".
    XCTAssertEqual(seen, cluster.pods.filter { $0.nodeName != nil }.count)
    XCTAssertLessThan(seen, cluster.pods.count)
  }

  func testPeerAddressesAreThePeersAddressesSortedOnce() {
    var g = SeededGenerator(seed: 2)
    for seed in 1...3 {
      let cluster = Self.cluster(seed: UInt64(seed))
      var shared = 0
      for _ in 0..<200 {
        let (pods, spaces) = (Self.selector(&g), Self.selector(&g))
        let ns = Self.namespaces.randomElement(using: &g)!
        for family in [IPAddress.Family.ipv4, .ipv6] {
          let picked = cluster.peerPods(pods: pods, namespaces: spaces, policyNamespace: ns)
          let plain = Set(picked.compactMap { i in cluster.pods[i].ips.first { $0.family == family } }).sorted()
          let got = cluster.peerAddresses(pods: pods, namespaces: spaces, policyNamespace: ns, family: family)
          XCTAssertEqual(got, plain)
          // Asked again, from what was kept.
          XCTAssertEqual(
            cluster.peerAddresses(pods: pods, namespaces: spaces, policyNamespace: ns, family: family), plain)
          if got.count < picked.count { shared += 1 }
        }
      }
      // Some peers hold two pods of one address, or pods of the other family only.
      XCTAssertGreaterThan(shared, 0)
    }
  }

  func testSortedUniqueIsTheSortedSet() {
    var g = SeededGenerator(seed: 3)
    for _ in 0..<500 {
      let items = (0..<Int.random(in: 0..<40, using: &g)).map { _ in Int.random(in: 0..<20, using: &g) }
      XCTAssertEqual(Cluster.sortedUnique(items), Set(items).sorted(), "\(items)")
    }
  }

  func testPoliciesSelectingAPodAreThePlainFilter() {
    let cluster = Self.cluster(seed: 4)
    var picked = 0
    for pod in cluster.pods {
      for direction in [PolicyType.ingress, .egress] {
        let want = cluster.policies.filter {
          $0.meta.namespace == pod.meta.namespace && $0.applies(to: direction)
            && $0.podSelector.matches(pod.meta.labels)
        }
        XCTAssertEqual(cluster.policies(selecting: pod, for: direction).map(\.meta.name), want.map(\.meta.name))
        picked += want.count
      }
    }
    XCTAssertGreaterThan(picked, 0)
  }
}
