import Agent
import Foundation
import NodeApply
import PolicyModel
import RuleModel
import Testing
import YAMLBridge

/// The nft enforcer in a network namespace this test creates (and
/// deletes): a policy change after the agent's own load is an incremental
/// load, and when the kernel is not what the agent loaded (the table was
/// deleted by hand), the incremental load fails whole and the table is
/// loaded whole instead.
@Suite struct NftIncrementalTests {
  static func cluster(port: Int) -> Cluster {
    let yaml = """
      apiVersion: v1
      kind: Namespace
      metadata: {name: nx}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: web, namespace: nx, labels: {app: web}}
      spec: {nodeName: node-a, containers: [{name: c, image: i}]}
      status: {phase: Running, podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: client, namespace: nx, labels: {app: client}}
      spec: {nodeName: node-b, containers: [{name: c, image: i}]}
      status: {phase: Running, podIP: 10.0.1.1, podIPs: [{ip: 10.0.1.1}]}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: in, namespace: nx}
      spec:
        podSelector: {matchLabels: {app: web}}
        ingress:
        - from: [{podSelector: {matchLabels: {app: client}}}]
          ports: [{port: \(port)}]

      """
    let inventory = Loader.load([InputSource(path: "cluster.yaml", bytes: Array(yaml.utf8))])
    return Cluster(inventory)
  }

  func shell(_ command: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ApplyError("\(command): status \(process.terminationStatus)") }
    return String(decoding: data, as: UTF8.self)
  }

  @Test func policyChangesLoadIncrementallyAndFallBackToTheWholeTable() async throws {
    #expect(getuid() == 0, "network namespaces need root")
    let namespace = "pc-nfti-\(getpid())"
    let folder = NSTemporaryDirectory() + namespace
    try FileManager.default.createDirectory(atPath: folder + "/state", withIntermediateDirectories: true)
    _ = try shell("ip netns add \(namespace)")
    defer {
      _ = try? shell("ip netns del \(namespace)")
      try? FileManager.default.removeItem(atPath: folder)
    }
    // Every kernel tool runs in the namespace.
    var tools = NodeTools()
    for name in ["nft", "iptables-save", "ip6tables-save", "ipset"] {
      let path = "\(folder)/\(name)"
      try "#!/bin/sh\nexec ip netns exec \(namespace) \(name) \"$@\"\n".write(
        toFile: path, atomically: true, encoding: .utf8)
      chmod(path, 0o755)
    }
    tools.nft = folder + "/nft"
    tools.iptablesSave = folder + "/iptables-save"
    tools.ip6tablesSave = folder + "/ip6tables-save"
    tools.ipset = folder + "/ipset"
    let enforcer = Enforcer(
      backend: .nft, families: [.ipv4], options: EmitOptions(node: "node-a"), stateDirectory: folder + "/state",
      applier: NodeApplier(tools: tools))
    let list = "ip netns exec \(namespace) nft list table inet policyc"

    let first = try await enforcer.apply(Self.cluster(port: 80))
    #expect(first.summary.hasPrefix("nft: table inet policyc loaded"), "\(first.summary)")
    #expect(try shell(list).contains("tcp dport 80"))

    let second = try await enforcer.apply(Self.cluster(port: 81), lastApplyInForce: true)
    #expect(second.summary.hasPrefix("nft: incremental load"), "\(second.summary)")
    #expect(second.listingStale)
    let listed = try shell(list)
    #expect(listed.contains("tcp dport 81") && !listed.contains("tcp dport 80"), "\(listed)")

    let same = try await enforcer.apply(Self.cluster(port: 81), lastApplyInForce: true)
    #expect(same.summary == "nft: no change" && !same.changed)

    _ = try shell("ip netns exec \(namespace) nft delete table inet policyc")
    let third = try await enforcer.apply(Self.cluster(port: 82), lastApplyInForce: true)
    #expect(third.summary.hasPrefix("incremental load failed"), "\(third.summary)")
    #expect(third.summary.contains("nft: table inet policyc loaded"), "\(third.summary)")
    #expect(try shell(list).contains("tcp dport 82"))
  }
}
