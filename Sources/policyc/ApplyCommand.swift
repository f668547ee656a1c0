import ArgumentParser
import NodeApply
import PolicyModel

struct ApplyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apply",
    abstract: "Load the node's rules into the running kernel (root).",
    discussion: """
      Loads only what differs from the last apply (--state): sets are filled
      under temporary names and swapped in, or updated by member deltas; chains
      change in one `iptables-restore --noflush` transaction. --backend nft
      replaces table inet policyc in one `nft -f` transaction. Other software's
      rules, chains and sets are never touched.

      All or nothing: if a step fails, sets and rules are put back as they were,
      the state file is kept, and apply exits 2. Refused (exit 2, nothing
      changed): loading one backend while the other is loaded, and removing
      enforcement from more than half of the node's enforced pods at once
      (unless --force). `policyc remove` takes policyc off a node.

      Examples:
        kubectl get -A -o yaml \\
          ns,pods,networkpolicies,adminnetworkpolicies,baselineadminnetworkpolicies |
          policyc apply --node "$NODE_NAME" --ipsets -
        policyc apply --node node-a --dry-run manifests/
        # dual-stack: IPv4, then IPv6
        policyc apply --node node-a --family both --ipsets manifests/
        # nftables: both families in one transaction
        policyc apply --node node-a --backend nft manifests/
      """
  )

  @OptionGroup var input: InputOptions
  @OptionGroup var emit: EmitFlags
  @Flag(help: "Keep peer addresses in ipsets (recommended for large clusters).") var ipsets = false
  @Flag(help: "Print the steps that would be run and change nothing.") var dryRun = false
  @Flag(help: "Apply even when more than half of the enforced pods would lose their rules.") var force = false
  @Flag(name: .shortAndLong, help: "Print nothing on success.") var quiet = false
  @Option(help: "Where apply remembers what it loaded (default: /var/lib/policyc/apply.state; IPv6: apply6.state).")
  var state: String?
  @Flag(help: "Ignore the state file and reload everything.") var full = false
  @Option(help: "The iptables-save program (default: iptables-save, or ip6tables-save for IPv6).") var iptablesSave:
    String?
  @Option(help: "The iptables-restore program (default: iptables-restore, or ip6tables-restore for IPv6).")
  var iptablesRestore: String?
  @Option(help: "The ipset program.") var ipset = "ipset"
  @Option(help: "The nft program.") var nft = "nft"

  func validate() throws {
    if emit.isNft, ipsets {
      throw ValidationError("--ipsets is for --backend iptables: the nft table holds its own sets")
    }
    if emit.family == .both, iptablesSave != nil || iptablesRestore != nil {
      throw ValidationError("--iptables-save and --iptables-restore name one family's tools: use --family ipv4 or ipv6")
    }
  }

  /// With --state FILE, IPv6 uses FILE.ipv6 under --family both.
  func statePath(ipv6: Bool) -> String { StateFile.path(state, ipv6: ipv6, alone: emit.family == .ipv6) }

  /// --iptables-save and --iptables-restore name the one family applied (see validate).
  var applier: NodeApplier {
    var tools = NodeTools()
    if let iptablesSave { (tools.iptablesSave, tools.ip6tablesSave) = (iptablesSave, iptablesSave) }
    if let iptablesRestore { (tools.iptablesRestore, tools.ip6tablesRestore) = (iptablesRestore, iptablesRestore) }
    (tools.ipset, tools.nft) = (ipset, nft)
    return NodeApplier(tools: tools, runner: ProcessRunner())
  }

  func run() throws {
    do {
      let inventory = try input.loadOrExit(pruned: true)
      try emit.refuseUnenforceable(inventory, inputs: input.paths, consequence: "nothing changed")
      let cluster = Cluster(inventory)
      var reports: [ApplyReport] = []
      if emit.isNft {
        let prepared = try applier.prepare(nft: try emit.nftRuleSet(cluster))
        if dryRun { return Output.stdout("# policyc apply --dry-run: nft -f -\n" + prepared.text) }
        reports.append(try applier.commit(prepared, force: force))
      } else {
        var families: [(NodeApplier.IptablesPrepared, statePath: String?)] = []
        for family in emit.family.families {
          var flags = emit
          (flags.family, flags.useIPSets) = (family == .ipv6 ? .ipv6 : .ipv4, ipsets)
          let path = statePath(ipv6: family == .ipv6)
          families.append(
            (try applier.prepare(try flags.ruleSet(cluster), state: full ? nil : StateFile.read(path)), path))
        }
        if dryRun { return Output.stdout(families.map(\.0.dryRunText).joined()) }
        reports = try applier.commit(families, force: force)
      }
      for report in reports {
        if let warning = report.warning { Output.stderr("policyc: warning: \(warning)\n") }
        if input.verbose { Output.stderr("policyc: \(report.details)\n") }
      }
      if !reports.isEmpty, !quiet { Output.stdout("policyc: " + reports.map(\.summary).joined(separator: "; ") + "\n") }
    } catch let error as ApplyError {
      Output.stderr("policyc: error: \(error.message)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }
}
