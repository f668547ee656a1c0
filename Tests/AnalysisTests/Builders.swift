import Foundation
import PolicyModel

/// Small builders for namespaces, pods, workloads and policies, after
/// kube-network-policies' `makeNetworkPolicyCustom`.
enum Build {
  /// A location to hang built objects on (the decoder has its own tests).
  static let here: SourceLocation = {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: built\n"
    return Loader.load([InputSource(path: "built", bytes: Array(yaml.utf8))]).namespaces[0]
      .location!
  }()

  static func namespace(_ name: String, _ labels: [String: String] = [:]) -> Namespace {
    Namespace(name: name, labels: labels, location: here)
  }

  static func pod(
    _ namespace: String, _ name: String, ip: String, labels: [String: String] = [:],
    ports: [ContainerPort] = [],
    node: String = "node-a"
  ) -> Pod {
    Pod(
      meta: ObjectMeta(name: name, namespace: namespace, labels: labels, location: here),
      nodeName: node, phase: "Running",
      ips: [IPAddress(ip)!], ports: ports)
  }

  static func workload(
    _ kind: String, _ namespace: String, _ name: String, labels: [String: String],
    ports: [ContainerPort] = []
  ) -> Pod {
    Pod(
      meta: ObjectMeta(name: name, namespace: namespace, labels: labels, location: here),
      nodeName: nil, phase: nil,
      ips: [], ports: ports, workloadKind: kind)
  }

  static func http(_ number: Int = 8080) -> ContainerPort {
    ContainerPort(name: "http", number: number, proto: .tcp)
  }

  static func policy(
    _ namespace: String, _ name: String, selecting labels: [String: String] = [:],
    types: [PolicyType],
    ingress: [PolicyRule] = [], egress: [PolicyRule] = []
  ) -> NetworkPolicy {
    NetworkPolicy(
      meta: ObjectMeta(name: name, namespace: namespace, location: here),
      podSelector: LabelSelector(matchLabels: labels),
      policyTypes: types, policyTypesWritten: true, ingress: ingress, egress: egress)
  }

  static func rule(_ peers: [PeerKind] = [], ports: [PolicyPort] = []) -> PolicyRule {
    PolicyRule(peers: peers.map { Peer(kind: $0, location: here) }, ports: ports, location: here)
  }

  static func pods(_ labels: [String: String]) -> PeerKind {
    .selectors(pods: LabelSelector(matchLabels: labels), namespaces: nil)
  }

  static func namespaces(_ labels: [String: String]) -> PeerKind {
    .selectors(pods: nil, namespaces: LabelSelector(matchLabels: labels))
  }

  static func block(_ cidr: String, except: [String] = []) -> PeerKind {
    .ipBlock(IPBlock(cidr: CIDR(cidr)!, except: except.map { CIDR($0)! }))
  }

  static func port(_ number: Int, _ proto: NetProtocol = .tcp, end: Int? = nil) -> PolicyPort {
    PolicyPort(proto: proto, port: .number(number), endPort: end, location: here)
  }

  static func named(_ name: String, _ proto: NetProtocol = .tcp) -> PolicyPort {
    PolicyPort(proto: proto, port: .name(name), location: here)
  }

  static func inventory(
    namespaces: [Namespace] = [], pods: [Pod] = [], workloads: [Pod] = [],
    policies: [NetworkPolicy] = []
  ) -> Inventory {
    var inventory = Inventory()
    inventory.namespaces = namespaces
    inventory.pods = pods
    inventory.workloads = workloads
    inventory.policies = policies
    return inventory
  }

  /// Manifests below `directory` (recursive), loaded as the command line does.
  static func load(_ directory: URL) throws -> Inventory {
    let sources = try InputFiles.read([directory.path])
    let inventory = Loader.load(sources)
    guard inventory.errors.isEmpty else {
      throw AnalysisGolden.Failure(inventory.errors.map(\.formatted).joined(separator: "\n"))
    }
    return inventory
  }

  static func input(_ name: String) throws -> Inventory {
    try load(AnalysisGolden.root.appendingPathComponent("inputs/\(name)"))
  }
}
