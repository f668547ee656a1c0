import Foundation
import PolicyAnalysis
import PolicyModel
import TestSupport
import XCTest

/// Analysis keeps pods without an address as endpoints by identity. The
/// oracle here is `ReferenceVerdict` over `Cluster.forAnalysis`: the
/// independent reference (PolicyReference) models enforcement, where such a
/// pod cannot be addressed at all.
final class AddresslessAgreementTests: XCTestCase {
  /// The same with pods without an address, which analysis keeps as
  /// endpoints by identity: selectors match them, no ipBlock does. And with
  /// an address assumed for them (how explain, matrix and diff find answers
  /// that depend on it), the engine agrees with the reference verdict on a
  /// cluster where they have that address.
  func testConnectivityEngineAgreesWithTheReferenceOnPodsWithoutAddresses() {
    var generator = SeededGenerator(seed: 20261206)
    var probes = 0
    var addressless = 0
    var dependent = 0
    for round in 0..<150 {
      let cluster = RandomCluster.make(&generator, withoutAddresses: true)
      addressless += cluster.pods.filter(\.hasNoAddress).count
      guard let count = EngineAgreement.check(cluster, label: "no-address #\(round)") else { return }
      probes += count
      let engine = ConnectivityEngine(cluster: cluster)
      for a in cluster.pods.indices {
        for b in cluster.pods.indices
        where !engine.addressDependence(from: .pod(a), to: .pod(b), addresses: engine.assumableAddresses).isEmpty {
          dependent += 1
        }
      }
      for address in engine.assumableAddresses.prefix(2) {
        let pods = cluster.pods.map { pod -> Pod in
          var pod = pod
          if pod.hasNoAddress { pod.ips = [address] }
          return pod
        }
        let assumed = Cluster.forAnalysis(
          namespaces: cluster.namespaceLabels.map {
            Namespace(name: $0.key, labels: $0.value, location: RandomCluster.here)
          },
          pods: pods, policies: cluster.policies, adminPolicies: cluster.allAdminPolicies)
        guard
          let count = EngineAgreement.check(
            cluster, label: "no-address #\(round) assuming \(address)", assuming: address,
            reference: ReferenceVerdict(cluster: assumed))
        else { return }
        probes += count
      }
    }
    XCTAssertGreaterThan(addressless, 300, "too few pods without an address")
    XCTAssertGreaterThan(dependent, 100, "too few answers that depend on an address")
    XCTAssertGreaterThan(probes, 100_000)
  }
}

/// Compares the engine's port sets with single verdicts of the reference.
enum EngineAgreement {
  /// Every pair of pods and region representatives, every protocol and a
  /// spread of ports; the probe count, or nil after reporting a failure.
  static func check(
    _ cluster: Cluster, label: String, assuming: IPAddress? = nil, reference: ReferenceVerdict? = nil
  ) -> Int? {
    let engine = ConnectivityEngine(cluster: cluster)
    let reference = reference ?? ReferenceVerdict(cluster: cluster)
    var probes = 0
    var sides = cluster.pods.indices.map { ConnectivityEngine.Side.pod($0) }
    sides += ExternalRegions.regions(
      for: cluster.policies, adminPolicies: cluster.allAdminPolicies, avoiding: Set(cluster.pods.flatMap(\.ips))
    ).compactMap { $0.representative.flatMap { $0.family == .ipv4 ? .address($0) : nil } }
    func endpoint(_ side: ConnectivityEngine.Side) -> Endpoint {
      switch side {
      case .pod(let i): return .pod(namespace: cluster.pods[i].meta.namespace, name: cluster.pods[i].meta.name)
      case .address(let ip): return .address(ip)
      }
    }
    for from in sides {
      for to in sides {
        let ports = engine.allowedPorts(from: from, to: to, assuming: assuming)
        for proto in NetProtocol.allCases {
          for port in [1, 53, 79, 80, 81, 8000, 8079, 8080, 8081, 8082, 65535] {
            probes += 1
            let expected = reference.allows(from: endpoint(from), to: endpoint(to), port: port, proto: proto)
            guard ports.contains(port, proto) == expected else {
              XCTFail(
                "\(label): \(endpoint(from)) -> \(endpoint(to)) \(port)/\(proto.rawValue): engine \(ports), reference \(expected)"
              )
              return nil
            }
          }
        }
      }
    }
    return probes
  }
}
