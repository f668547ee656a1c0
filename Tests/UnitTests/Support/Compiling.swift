import IptablesEmitter
import PolicyModel
import RuleModel
import XCTest

/// A small cluster with something of everything the emitter lowers:
/// selectors across namespaces, ipBlocks with excepts, named ports, pods on
/// two nodes, and a policy that selects only pods of the other node.
enum Sample {
  typealias Port = Manifest.Port

  static let documents: [String] = [
    Manifest.namespace("shop", labels: ["team": "web"]),
    Manifest.namespace("ops", labels: ["team": "ops"]),
    Manifest.pod(
      "shop", "web-1", labels: ["app": "web"], ip: "10.0.0.11", ports: [Port(8080, "http")]),
    Manifest.pod(
      "shop", "web-2", labels: ["app": "web"], ip: "10.0.0.12", node: "node-b",
      ports: [Port(8081, "http")]),
    Manifest.pod("shop", "db", labels: ["app": "db"], ip: "10.0.0.21", ports: [Port(5432, "sql")]),
    Manifest.pod("shop", "batch", labels: ["app": "batch"], ip: "10.0.0.31", node: "node-b"),
    Manifest.pod("ops", "probe", labels: ["app": "probe"], ip: "10.0.1.5"),
    Manifest.policy(
      "shop", "web-in",
      """
      podSelector: {matchLabels: {app: web}}
      ingress:
      - from:
        - namespaceSelector: {matchLabels: {team: ops}}
        - podSelector: {}
        ports: [{port: http}, {port: 443}]
      - from:
        - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.1.0/24]}
        - ipBlock: {cidr: 192.168.0.0/16, except: [192.168.7.0/24]}
        ports: [{port: 80}, {protocol: UDP, port: 53}]
      """),
    Manifest.policy(
      "shop", "db-lockdown",
      """
      podSelector: {matchLabels: {app: db}}
      policyTypes: [Ingress, Egress]
      ingress:
      - from: [{podSelector: {matchLabels: {app: web}}}]
        ports: [{port: sql}]
      egress:
      - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
        ports: [{port: 53, protocol: UDP}]
      """),
    Manifest.policy(
      "shop", "batch-only",
      "podSelector: {matchLabels: {app: batch}}\npolicyTypes: [Egress]\negress:\n- to: [{podSelector: {matchLabels: {app: db}}}]\n  ports: [{port: sql}]"
    ),
  ]
}

enum Compile {
  static func ruleSet(
    _ cluster: Cluster, node: String? = "node-a", ipsets: Bool = false,
    file: StaticString = #filePath, line: UInt = #line
  )
    -> IptablesRuleSet?
  {
    do {
      return try IptablesCompiler.compile(
        cluster, options: EmitOptions(node: node, useIPSets: ipsets))
    } catch {
      XCTFail("compile failed: \(error)", file: file, line: line)
      return nil
    }
  }

  static func text(
    _ files: [(path: String, text: String)], node: String? = "node-a", ipsets: Bool = false
  ) -> String {
    let inventory = Load.inventory(files)
    XCTAssertEqual(inventory.errors.map(\.formatted), [])
    guard let rules = ruleSet(Cluster(inventory), node: node, ipsets: ipsets) else { return "" }
    return RestoreWriter.render(rules) + IPSetWriter.render(rules.sets)
  }
}

extension IptablesRuleSet {
  func chain(_ name: String) -> IptablesChain? { chains.first { $0.name == name } }
  func chains(owner: String) -> [IptablesChain] { chains.filter { $0.owner == owner } }
}

extension IptablesRule {
  /// The value after `flag` in the matches, if any.
  func value(_ flag: String) -> String? {
    guard let i = matches.firstIndex(of: flag), i + 1 < matches.count else { return nil }
    return matches[i + 1]
  }

  /// The chain this rule jumps or goes to, if any.
  var jump: String? {
    guard target.count == 2, target[0] == "-j" || target[0] == "-g", target[1].hasPrefix("POLICYC-")
    else { return nil }
    return target[1]
  }
}
