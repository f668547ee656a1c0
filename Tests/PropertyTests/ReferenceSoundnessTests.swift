import PolicyAnalysis
import PolicyModel
import PolicyReference
import XCTest

/// `policyc matrix`, the expectation of the kernel suite, asks the product's
/// `ReferenceVerdict` once per pair of connectivity-engine classes. Both the
/// verdict (which shares helpers with the emitters) and the class key are
/// held here against the independent reference, for every pair of
/// endpoints, every port of the boundary list, every protocol and both
/// families.
final class ReferenceSoundnessTests: XCTestCase {
  func testMatrixCellsAreTheIndependentVerdict() {
    var generator = PropertySeed.generator(salt: 3)
    let rerun = PropertySeed.reproduce("ReferenceSoundnessTests/testMatrixCellsAreTheIndependentVerdict")
    var probes = 0
    for round in 0..<(30 * PropertySeed.scale) {
      let inputs = EmitterAgreementTests.inputs(round: round, &generator)
      let cluster = inputs.cluster
      let reference = inputs.reference
      let old = ReferenceVerdict(cluster: cluster)
      let ports = Agreement.boundaryPorts(inputs).flatMap { port in
        NetProtocol.allCases.map { PortProbe(port: port, proto: $0) }
      }
      for family in [IPAddress.Family.ipv4, .ipv6] {
        let addresses =
          (ExternalRegions.regions(
            for: cluster.policies, adminPolicies: cluster.allAdminPolicies,
            avoiding: Set(cluster.pods.flatMap(\.ips))
          ).compactMap(\.representative) + inputs.bystanderAddresses).filter { $0.family == family }
        let matrix = ConnectivityMatrix.compute(cluster: cluster, ports: ports, addresses: addresses, family: family)
        let endpoints: [Endpoint] =
          cluster.pods.map { .pod(namespace: $0.meta.namespace, name: $0.meta.name) } + addresses.map { .address($0) }
        XCTAssertEqual(matrix.endpoints.count, endpoints.count)
        for (i, from) in endpoints.enumerated() {
          for (j, to) in endpoints.enumerated() {
            for (p, probe) in ports.enumerated() {
              probes += 1
              let expected = reference.allows(
                from: from, to: to, port: probe.port, proto: probe.proto, family: family)
              let verdict = old.allows(from: from, to: to, port: probe.port, proto: probe.proto, family: family)
              let cell = matrix.isAllowed(i, j, p)
              guard verdict == expected, cell == expected else {
                return XCTFail(
                  "random #\(round) \(family): \(from) -> \(to) \(probe): independent reference \(expected), ReferenceVerdict \(verdict), matrix cell \(cell) (\(rerun))"
                )
              }
            }
          }
        }
      }
    }
    XCTAssertGreaterThan(probes, 100_000)
  }
}
