import Foundation
import IptablesEmitter
import NftEmitter
import PolicyAnalysis
import PolicyModel
import PolicyReference
import RuleModel
import TestSupport
import XCTest

/// The emitted rules, run through a netfilter evaluator, must give the
/// independent reference (PolicyReference) for every endpoint pair, port and protocol that the
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
      let inputs = RandomInputs(
        namespaces: inventory.namespaces, pods: inventory.pods, policies: inventory.policies,
        admin: inventory.adminPolicies)
      checked += try Agreement.check(inputs, node: node, label: name, family: family)
    }
    XCTAssertGreaterThan(checked, 10_000, "too few probes: the comparison may not be running")
  }

  /// Even rounds draw from the first generator, odd rounds from the wide one.
  static func inputs(round: Int, _ generator: inout SeededGenerator) -> RandomInputs {
    round % 2 == 0 ? RandomInputs(RandomCluster.make(&generator)) : WideRandomCluster.make(&generator)
  }

  func testRandomClustersAgreeWithTheReference() throws {
    var generator = PropertySeed.generator(salt: 1)
    let rerun = PropertySeed.reproduce("EmitterAgreementTests/testRandomClustersAgreeWithTheReference")
    var probes = 0
    for round in 0..<(150 * PropertySeed.scale) {
      let inputs = Self.inputs(round: round, &generator)
      let nodes: [String?] = [nil, "node-a", "node-b"]
      for node in nodes {
        probes += try Agreement.check(
          inputs, node: node, label: "random #\(round) node \(node ?? "all") (\(rerun))")
      }
      // Pods are dual-stack: the IPv6 file must agree too (every third round, to bound the time).
      if round % 3 == 0 {
        probes += try Agreement.check(inputs, node: "node-a", label: "random #\(round) ipv6 (\(rerun))", family: .ipv6)
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
    var generator = PropertySeed.generator(salt: 2)
    let rerun = PropertySeed.reproduce("EmitterAgreementTests/testConnectivityEngineAgreesWithTheReference")
    var probes = 0
    for round in 0..<(150 * PropertySeed.scale) {
      let inputs = EmitterAgreementTests.inputs(round: round, &generator)
      let cluster = inputs.cluster
      let reference = inputs.reference
      // IPv4 every round, IPv6 every other round (to bound the time).
      for family in round % 2 == 0 ? [IPAddress.Family.ipv4, .ipv6] : [.ipv4] {
        let engine = ConnectivityEngine(cluster: cluster, family: family)
        var sides = cluster.pods.indices.map { ConnectivityEngine.Side.pod($0) }
        let addresses =
          ExternalRegions.regions(
            for: cluster.policies, adminPolicies: cluster.allAdminPolicies,
            avoiding: Set(cluster.pods.flatMap(\.ips))
          ).compactMap(\.representative) + inputs.bystanderAddresses
        sides += addresses.filter { $0.family == family }.map { .address($0) }
        func endpoint(_ side: ConnectivityEngine.Side) -> Endpoint {
          switch side {
          case .pod(let i): return .pod(namespace: cluster.pods[i].meta.namespace, name: cluster.pods[i].meta.name)
          case .address(let ip): return .address(ip)
          }
        }
        let ports = Agreement.boundaryPorts(inputs)
        for from in sides {
          for to in sides {
            let allowed = engine.allowedPorts(from: from, to: to)
            for proto in NetProtocol.allCases {
              for port in ports {
                probes += 1
                let expected = reference.allows(
                  from: endpoint(from), to: endpoint(to), port: port, proto: proto, family: family)
                guard allowed.contains(port, proto) == expected else {
                  return XCTFail(
                    "random #\(round) \(family): \(endpoint(from)) -> \(endpoint(to)) \(port)/\(proto.rawValue): engine \(allowed), reference \(expected) (\(rerun))"
                  )
                }
              }
            }
          }
        }
      }
    }
    XCTAssertGreaterThan(probes, 100_000)
  }
}

enum Agreement {
  /// Compares every (source, destination, protocol, port) of interest on
  /// one node, in rule mode, ipset mode and the nft backend; returns the probe count.
  static func check(_ inputs: RandomInputs, node: String?, label: String, family: IPAddress.Family = .ipv4) throws
    -> Int
  {
    let cluster = inputs.cluster
    let reference = inputs.reference
    var endpoints: [(Endpoint, IPAddress, Pod?)] = cluster.pods.compactMap { pod in
      pod.ips.first { $0.family == family }.map { (.pod(namespace: pod.meta.namespace, name: pod.meta.name), $0, pod) }
    }
    let podIPs = Set(endpoints.map(\.1))
    for region in ExternalRegions.regions(
      for: cluster.policies, adminPolicies: cluster.allAdminPolicies, avoiding: podIPs)
    {
      if let ip = region.representative, ip.family == family { endpoints.append((.address(ip), ip, nil)) }
    }
    // Host-network and finished pods: their addresses are outside addresses to the rules.
    for ip in inputs.bystanderAddresses where ip.family == family && !podIPs.contains(ip) {
      endpoints.append((.address(ip), ip, nil))
    }
    let portList = boundaryPorts(inputs)
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
              let (egress, ingress) = reference.decide(
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

extension Agreement {
  /// The ports where a verdict can change: 1 and 65535, every container
  /// port and the next, and each rule port's boundaries (port-1, port,
  /// port+1, endPort, endPort+1).
  static func boundaryPorts(_ inputs: RandomInputs) -> [Int] {
    var ports = Set([1, 65535])
    for pod in inputs.pods { for p in pod.ports { ports.formUnion([p.number, p.number + 1]) } }
    let adminRules = inputs.admin.flatMap { ($0.ingress + $0.egress).map(\.match) }
    for rule in inputs.policies.flatMap({ $0.ingress + $0.egress }) + adminRules {
      for p in rule.ports {
        if case .number(let n)? = p.port {
          ports.formUnion([n - 1, n, n + 1, (p.endPort ?? n), (p.endPort ?? n) + 1])
        }
      }
    }
    return ports.filter { (1...65535).contains($0) }.sorted()
  }
}
