import Foundation
import IptablesEmitter
import NftEmitter
import PolicyAnalysis
import PolicyModel
import XCTest

/// The emitted rules, run through a netfilter evaluator, must give the
/// reference verdict for every endpoint pair, port and protocol that the
/// policies can tell apart: on every golden case, in all three modes
/// (iptables rules, iptables with ipsets, the nft backend), and on hundreds
/// of random clusters.
final class EmitterAgreementTests: XCTestCase {
  static let goldenRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Golden/cases")

  func testGoldenCasesAgreeWithTheReference() throws {
    var checked = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: Self.goldenRoot.path).sorted()
    where !name.hasPrefix(".") {
      let dir = Self.goldenRoot.appendingPathComponent(name)
      let files = (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? [])
        .filter { InputFiles.extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
      let sources = try files.map {
        InputSource(path: $0, bytes: [UInt8](try Data(contentsOf: dir.appendingPathComponent($0))))
      }
      let args = ((try? String(contentsOf: dir.appendingPathComponent("args"), encoding: .utf8)) ?? "")
        .split(whereSeparator: \.isWhitespace).map(String.init)
      let namespace = args.firstIndex(of: "--namespace").map { args[$0 + 1] } ?? "default"
      let inventory = Loader.load(sources, options: LoadOptions(defaultNamespace: namespace))
      XCTAssertTrue(inventory.errors.isEmpty, "\(name): \(inventory.errors.map(\.formatted))")
      let node = args.firstIndex(of: "--node").map { args[$0 + 1] }
      let family: IPAddress.Family = args.firstIndex(of: "--family").map { args[$0 + 1] } == "ipv6" ? .ipv6 : .ipv4
      checked += try Agreement.check(Cluster(inventory), node: node, label: name, family: family)
    }
    XCTAssertGreaterThan(checked, 10_000, "too few probes: the comparison may not be running")
  }

  func testRandomClustersAgreeWithTheReference() throws {
    var generator = SeededGenerator(seed: 20261125)
    var probes = 0
    for round in 0..<150 {
      let cluster = RandomCluster.make(&generator)
      let nodes: [String?] = [nil, "node-a", "node-b"]
      for node in nodes {
        probes += try Agreement.check(cluster, node: node, label: "random #\(round) node \(node ?? "all")")
      }
      // Pods are dual-stack: the IPv6 file must agree too (every third round, to bound the time).
      if round % 3 == 0 {
        probes += try Agreement.check(cluster, node: "node-a", label: "random #\(round) ipv6", family: .ipv6)
      }
    }
    XCTAssertGreaterThan(probes, 100_000)
  }
}

extension EmitterAgreementTests {
  /// `policyc diff` reasons in port sets (ConnectivityEngine), the matrix
  /// and explain in single verdicts: on random clusters with admin tiers
  /// they must say the same.
  func testConnectivityEngineAgreesWithTheReference() {
    var generator = SeededGenerator(seed: 20261205)
    var probes = 0
    for round in 0..<150 {
      let cluster = RandomCluster.make(&generator)
      guard let count = EngineAgreement.check(cluster, label: "random #\(round)") else { return }
      probes += count
    }
    XCTAssertGreaterThan(probes, 100_000)
  }

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

enum Agreement {
  /// Compares every (source, destination, protocol, port) of interest on
  /// one node, in rule mode, ipset mode and the nft backend; returns the probe count.
  static func check(_ cluster: Cluster, node: String?, label: String, family: IPAddress.Family = .ipv4) throws -> Int {
    let reference = ReferenceVerdict(cluster: cluster)
    var endpoints: [(Endpoint, IPAddress, Pod?)] = cluster.pods.compactMap { pod in
      pod.ips.first { $0.family == family }.map { (.pod(namespace: pod.meta.namespace, name: pod.meta.name), $0, pod) }
    }
    let podIPs = Set(endpoints.map(\.1))
    for region in ExternalRegions.regions(
      for: cluster.policies, adminPolicies: cluster.allAdminPolicies, avoiding: podIPs)
    {
      if let ip = region.representative, ip.family == family { endpoints.append((.address(ip), ip, nil)) }
    }
    var ports = Set([1, 65535])
    for pod in cluster.pods { for p in pod.ports { ports.formUnion([p.number, p.number + 1]) } }
    let adminRules = cluster.allAdminPolicies.flatMap { ($0.ingress + $0.egress).map(\.match) }
    for rule in cluster.policies.flatMap({ $0.ingress + $0.egress }) + adminRules {
      do {
        for p in rule.ports {
          if case .number(let n)? = p.port {
            ports.formUnion([n - 1, n, n + 1, (p.endPort ?? n), (p.endPort ?? n) + 1])
          }
        }
      }
    }
    let portList = ports.filter { (1...65535).contains($0) }.sorted()
    var probes = 0
    for mode in ["rules", "ipset", "nft"] {
      let text: String
      let evaluator: PacketEvaluator
      if mode == "nft" {
        // With --log-denied (the kernel log): log rules must not change a verdict.
        text = NftWriter.render(
          try NftCompiler.compile(cluster, options: EmitOptions(node: node, log: DenyLog(target: .log))))
        evaluator = PacketEvaluator(nft: try NftProgram(text), family: family)
      } else {
        let useSets = mode == "ipset"
        let ruleSet = try IptablesCompiler.compile(
          cluster,
          options: EmitOptions(
            node: node, useIPSets: useSets, family: family, log: useSets ? DenyLog(target: .nflog(group: 3)) : nil))
        text = RestoreWriter.render(ruleSet)
        let sets = useSets ? try IPSetState(IPSetWriter.render(ruleSet.sets)) : nil
        evaluator = PacketEvaluator(program: try RestoreProgram(text), sets: sets)
      }
      func local(_ pod: Pod?) -> Bool { pod.map { node == nil || $0.nodeName == node } ?? false }
      for (from, fromIP, fromPod) in endpoints {
        for (to, toIP, toPod) in endpoints where fromIP != toIP {
          guard local(fromPod) || local(toPod) else { continue }
          for proto in NetProtocol.allCases {
            for port in portList {
              let (egress, ingress) = reference.explain(
                from: from, to: to, port: port, proto: proto, family: family)
              let expected = (!local(fromPod) || egress.allows) && (!local(toPod) || ingress.allows)
              let actual =
                evaluator.evaluate(.init(source: fromIP, destination: toIP, proto: proto, port: port)) == .accept
              probes += 1
              if expected != actual {
                XCTFail(
                  "\(label) [\(mode)]: \(from) -> \(to) \(port)/\(proto.rawValue): reference \(expected), rules \(actual)\n\(text)"
                )
                return probes
              }
            }
          }
        }
      }
    }
    return probes
  }
}
