import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

final class ConnectivityEngineTests: XCTestCase {
  func engine(_ pods: [Pod], _ policies: [NetworkPolicy] = [], namespaces: [Namespace] = [])
    -> ConnectivityEngine
  {
    ConnectivityEngine(cluster: Cluster(namespaces: namespaces, pods: pods, policies: policies))
  }

  /// Groups pod names by class, each group and the list sorted.
  func classes(_ e: ConnectivityEngine) -> [[String]] {
    e.classMembers.map { $0.map { e.cluster.pods[$0].meta.name }.sorted() }.sorted { $0[0] < $1[0] }
  }

  func testSameNamespaceLabelsAndPortsShareAClass() {
    let e = engine([
      Build.pod(
        "x", "a", ip: "10.0.0.1", labels: ["app": "web"], ports: [Build.http()], node: "node-a"),
      Build.pod(
        "x", "b", ip: "10.0.0.2", labels: ["app": "web"], ports: [Build.http()], node: "node-b"),
      Build.pod("x", "c", ip: "10.0.9.9", labels: ["app": "web"], ports: [Build.http()]),
      Build.pod(
        "x", "d-other-port", ip: "10.0.0.4", labels: ["app": "web"], ports: [Build.http(8081)]),
      Build.pod("x", "e-no-port", ip: "10.0.0.5", labels: ["app": "web"]),
      Build.pod(
        "x", "f-more-labels", ip: "10.0.0.6", labels: ["app": "web", "canary": "true"],
        ports: [Build.http()]),
      Build.pod(
        "y", "g-other-namespace", ip: "10.0.0.7", labels: ["app": "web"], ports: [Build.http()]),
      Build.pod(
        "x", "h-other-label", ip: "10.0.0.8", labels: ["app": "api"], ports: [Build.http()]),
    ])
    XCTAssertEqual(
      classes(e),
      [
        ["a", "b", "c"], ["d-other-port"], ["e-no-port"], ["f-more-labels"], ["g-other-namespace"],
        ["h-other-label"],
      ])
    XCTAssertEqual(e.classOfPod.count, 8)
    for (c, members) in e.classMembers.enumerated() {
      XCTAssertEqual(members, members.sorted())
      for i in members { XCTAssertEqual(e.classOfPod[i], c) }
    }
  }

  func testWithoutIPBlocksAddressesDoNotMatter() {
    let e = engine(
      [
        Build.pod("x", "a", ip: "10.0.0.5", labels: ["app": "web"]),
        Build.pod("x", "b", ip: "192.168.7.7", labels: ["app": "web"]),
      ],
      [
        Build.policy(
          "x", "p", types: [.ingress], ingress: [Build.rule([Build.pods(["app": "web"])])])
      ])
    XCTAssertEqual(classes(e), [["a", "b"]])
  }

  func testIPBlockMembershipSplitsAClass() {
    let policy = Build.policy(
      "z", "from-block", types: [.ingress],
      ingress: [Build.rule([Build.block("10.0.0.0/24", except: ["10.0.0.128/25"])])])
    let e = engine(
      [
        Build.pod("x", "in-1", ip: "10.0.0.5", labels: ["app": "web"]),
        Build.pod("x", "in-2", ip: "10.0.0.6", labels: ["app": "web"]),
        Build.pod("x", "in-except", ip: "10.0.0.200", labels: ["app": "web"]),
        Build.pod("x", "out", ip: "10.0.1.5", labels: ["app": "web"]),
      ], [policy])
    // Inside the except is outside the block: the same as elsewhere.
    XCTAssertEqual(classes(e), [["in-1", "in-2"], ["in-except", "out"]])
  }

  func testEachBlockCountsOnItsOwn() {
    let policy = Build.policy(
      "z", "two-blocks", types: [.egress],
      egress: [
        Build.rule([Build.block("10.0.0.0/16")]),
        Build.rule([Build.block("10.0.0.0/24")], ports: [Build.port(53, .udp)]),
      ])
    let e = engine(
      [
        Build.pod("x", "a", ip: "10.0.0.5", labels: ["app": "web"]),
        Build.pod("x", "b", ip: "10.0.1.5", labels: ["app": "web"]),
        Build.pod("x", "c", ip: "10.0.2.5", labels: ["app": "web"]),
        Build.pod("x", "d", ip: "10.1.0.5", labels: ["app": "web"]),
      ], [policy])
    XCTAssertEqual(classes(e), [["a"], ["b", "c"], ["d"]])
  }

  func testWorkloadKindsAreNeverMerged() {
    let e = engine([
      Build.workload("Deployment", "x", "web", labels: ["app": "web"]),
      Build.workload("StatefulSet", "x", "web-db", labels: ["app": "web"]),
      Build.workload("Deployment", "x", "web-canary", labels: ["app": "web"]),
    ])
    XCTAssertEqual(classes(e), [["web", "web-canary"], ["web-db"]])
  }

  func testAllowedPortsIsTheIntersectionOfEgressAndIngress() {
    let pods = [
      Build.pod("x", "client", ip: "10.0.0.1", labels: ["app": "client"]),
      Build.pod(
        "x", "server", ip: "10.0.0.2", labels: ["app": "server"], ports: [Build.http(8080)]),
    ]
    let policies = [
      Build.policy(
        "x", "client-out", selecting: ["app": "client"], types: [.egress],
        egress: [Build.rule(ports: [Build.port(8000, end: 8100), Build.port(53, .udp)])]),
      Build.policy(
        "x", "server-in", selecting: ["app": "server"], types: [.ingress],
        ingress: [
          Build.rule(
            [Build.pods(["app": "client"])], ports: [Build.named("http"), Build.port(9000)])
        ]),
    ]
    let e = engine(pods, policies)
    let client = ConnectivityEngine.Side.pod(0)
    let server = ConnectivityEngine.Side.pod(1)
    let outside = ConnectivityEngine.Side.address(IPAddress("203.0.113.1")!)
    XCTAssertEqual(e.allowedPorts(from: client, to: server).description, "TCP 8080")
    XCTAssertEqual(e.allowedPorts(from: server, to: client).description, "all")
    XCTAssertEqual(e.allowedPorts(from: client, to: outside).description, "TCP 8000-8100; UDP 53")
    XCTAssertEqual(e.allowedPorts(from: outside, to: server).description, "none")
    XCTAssertEqual(e.allowedPorts(from: client, to: client).description, "all")
  }

  // The engine and the reference verdict must agree everywhere: every pair
  // of pods and outside regions, every port a policy or pod mentions.

  func testAgreesWithTheReferenceVerdictOnTheAnalysisInputs() throws {
    for name in ["shop-old", "shop-new", "workloads-old", "workloads-new"] {
      try assertAgreement(Cluster.forAnalysis(try Build.input(name)), name)
    }
    let equivalence = AnalysisGolden.root.appendingPathComponent("inputs/equivalence")
    for name in try FileManager.default.contentsOfDirectory(atPath: equivalence.path).sorted() {
      try assertAgreement(Cluster(try Build.load(equivalence.appendingPathComponent(name))), name)
    }
  }

  func testAgreesWithTheReferenceVerdictOnTheSamplesAndCompileCases() throws {
    try assertAgreement(
      Cluster(try Build.load(AnalysisGolden.repository.appendingPathComponent("samples/cluster"))),
      "samples")
    try assertAgreement(
      Cluster(try Build.load(AnalysisGolden.repository.appendingPathComponent("samples/admin"))), "samples/admin")
    let cases = AnalysisGolden.repository.appendingPathComponent("Tests/Golden/cases")
    var checked = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: cases.path).sorted() {
      guard let inventory = try? Build.load(cases.appendingPathComponent(name)) else { continue }
      try assertAgreement(Cluster(inventory), name)
      checked += 1
    }
    XCTAssertGreaterThan(checked, 50, "too few compile cases loaded")
  }

  func assertAgreement(
    _ cluster: Cluster, _ label: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let engine = ConnectivityEngine(cluster: cluster)
    let verdict = ReferenceVerdict(cluster: cluster)
    var probes = Set<PortProbe>([
      PortProbe(port: 1, proto: .tcp), PortProbe(port: 65535, proto: .udp),
    ])
    let adminRules = cluster.allAdminPolicies.flatMap { ($0.ingress + $0.egress).map(\.match) }
    for rule in cluster.policies.flatMap({ $0.ingress + $0.egress }) + adminRules {
      do {
        for entry in rule.ports {
          guard case .number(let n)? = entry.port else { continue }
          for p in [n - 1, n, n + 1, entry.endPort ?? n, (entry.endPort ?? n) + 1]
          where (1...65535).contains(p) {
            probes.insert(PortProbe(port: p, proto: entry.proto))
          }
        }
      }
    }
    for pod in cluster.pods {
      for port in pod.ports { probes.insert(PortProbe(port: port.number, proto: port.proto)) }
    }
    var sides = cluster.pods.indices.map { ConnectivityEngine.Side.pod($0) }
    let regions = ExternalRegions.regions(
      for: cluster.policies, adminPolicies: cluster.allAdminPolicies, avoiding: Set(cluster.pods.flatMap(\.ips)))
    sides += regions.filter { $0.representative?.family == .ipv4 }.map {
      .address($0.representative!)
    }
    func endpoint(_ side: ConnectivityEngine.Side) -> Endpoint {
      switch side {
      case .pod(let i):
        return .pod(namespace: cluster.pods[i].meta.namespace, name: cluster.pods[i].meta.name)
      case .address(let ip): return .address(ip)
      }
    }
    var disagreements: [String] = []
    for from in sides {
      // A workload with itself is two replicas, which the reference (one pod
      // talking to itself) cannot say; testWorkloadReplicasAreAPair covers it.
      for to in sides
      where !(from == to && { if case .pod(let i) = from { cluster.pods[i].workloadKind != nil } else { false } }()) {
        let ports = engine.allowedPorts(from: from, to: to)
        for probe in probes.sorted() {
          let expected = verdict.allows(
            from: endpoint(from), to: endpoint(to), port: probe.port, proto: probe.proto)
          if ports.contains(probe.port, probe.proto) != expected {
            disagreements.append(
              "\(endpoint(from)) -> \(endpoint(to)) \(probe): engine \(ports), reference \(expected)"
            )
          }
        }
      }
    }
    XCTAssertEqual(
      disagreements.count, 0, "\(label):\n" + disagreements.prefix(10).joined(separator: "\n"),
      file: file, line: line)
  }

  /// The matrix asks the verdict once per pair of classes; the answer must
  /// be the one asking per pair of pods gives.
  func testMatrixByClassEqualsMatrixByPod() throws {
    let cluster = Cluster(
      try Build.load(AnalysisGolden.repository.appendingPathComponent("samples/cluster")))
    let probes = [
      PortProbe(port: 53, proto: .udp), PortProbe(port: 8000, proto: .tcp),
      PortProbe(port: 9090, proto: .tcp),
    ]
    let addresses = [IPAddress("8.8.8.8")!, IPAddress("10.244.1.200")!]
    let matrix = ConnectivityMatrix.compute(cluster: cluster, ports: probes, addresses: addresses)
    let verdict = ReferenceVerdict(cluster: cluster)
    let endpoints: [Endpoint] =
      cluster.pods.map { .pod(namespace: $0.meta.namespace, name: $0.meta.name) }
      + addresses.map { .address($0) }
    XCTAssertEqual(matrix.endpoints.count, endpoints.count)
    XCTAssertGreaterThan(ConnectivityEngine(cluster: cluster).classMembers.count, 1)
    for (i, from) in endpoints.enumerated() {
      for (j, to) in endpoints.enumerated() {
        for (p, probe) in probes.enumerated() {
          let expected =
            i == j || verdict.allows(from: from, to: to, port: probe.port, proto: probe.proto)
          XCTAssertEqual(
            matrix.allowed[i][j][p], expected,
            "\(matrix.endpoints[i]) -> \(matrix.endpoints[j]) \(probe)")
        }
      }
    }
  }

  // The outside world, split into the regions the policies can tell apart.

  func testExternalRegions() throws {
    let shop = Cluster(try Build.input("shop-new"))
    let regions = ExternalRegions.regions(
      for: shop.policies, avoiding: Set(shop.pods.flatMap(\.ips)))
    XCTAssertEqual(
      regions.map(\.name),
      [
        "external 0.0.0.0/0 except 10.0.0.0/8,192.168.0.0/16", "external 10.0.0.0/8",
        "external 192.168.0.0/16",
      ])
    let blocks = ["0.0.0.0/0", "10.0.0.0/8", "192.168.0.0/16"].map { CIDR($0)! }
    for region in regions {
      let ip = try XCTUnwrap(region.representative)
      XCTAssertFalse(
        shop.pods.contains { $0.ips.contains(ip) }, "\(region.name): \(ip) is a pod's address")
      XCTAssertEqual(region.kind, .external)
      // The representative lies in the smallest block the name starts with.
      let named = CIDR(String(region.name.dropFirst("external ".count).prefix { $0 != " " }))!
      XCTAssertTrue(named.contains(ip))
      XCTAssertEqual(blocks.filter { $0.contains(ip) }.max { $0.prefix < $1.prefix }, named)
    }
    XCTAssertEqual(
      ExternalRegions.regions(for: [], avoiding: []).map(\.name), ["external 0.0.0.0/0"])
    let v6 = Build.policy(
      "x", "v6", types: [.egress],
      egress: [Build.rule([Build.block("fd00::/8", except: ["fd00:1::/32"])])])
    XCTAssertEqual(
      ExternalRegions.regions(for: [v6], avoiding: []).map(\.name),
      [
        "external 0.0.0.0/0", "external ::/0 except fd00::/8", "external fd00:1::/32",
        "external fd00::/8 except fd00:1::/32",
      ])
  }
}
