import ArgumentParser
import NodeApply

struct RemoveCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remove",
    abstract: "Remove everything policyc loaded from the node (root).",
    discussion: """
      Deletes policyc's chains and the FORWARD jump in iptables and ip6tables, its ipsets
      (POLICYC-*), table inet policyc (nft) and the state files. Other software's rules,
      chains, sets and tables are not touched. Running it again, or on a node without
      policyc, changes nothing and exits 0.

      Examples:
        policyc remove
        policyc remove --state /run/policyc/apply.state
      """
  )

  @Option(help: "The state file apply used (default: /var/lib/policyc/apply.state; also FILE.ipv6 and apply6.state).")
  var state: String?
  @Flag(name: .shortAndLong, help: "Print nothing on success.") var quiet = false
  @Option(help: "The iptables-save program.") var iptablesSave = "iptables-save"
  @Option(help: "The iptables-restore program.") var iptablesRestore = "iptables-restore"
  @Option(help: "The ip6tables-save program.") var ip6tablesSave = "ip6tables-save"
  @Option(help: "The ip6tables-restore program.") var ip6tablesRestore = "ip6tables-restore"
  @Option(help: "The ipset program.") var ipset = "ipset"
  @Option(help: "The nft program.") var nft = "nft"

  func run() async throws {
    var tools = NodeTools()
    (tools.iptablesSave, tools.iptablesRestore) = (iptablesSave, iptablesRestore)
    (tools.ip6tablesSave, tools.ip6tablesRestore) = (ip6tablesSave, ip6tablesRestore)
    (tools.ipset, tools.nft) = (ipset, nft)
    try await NodeCommands.remove(tools: tools, state: state, quiet: quiet)
  }
}
