import ArgumentParser
import NodeApply
import PolicyModel

struct ApplyCommand: AsyncParsableCommand {
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
      (unless --force). `policyc apply --remove` (or `policyc remove`) takes
      policyc off a node.

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

  @Argument(help: "Manifest files, directories (recursive), or - for standard input.") var paths: [String] = []
  @OptionGroup var load: LoadFlags
  @OptionGroup var emit: EmitFlags
  @Flag(help: "Keep peer addresses in ipsets (recommended for large clusters).") var ipsets = false
  @Flag(help: "Print the steps that would be run and change nothing.") var dryRun = false
  @Flag(help: "Apply even when more than half of the enforced pods would lose their rules.") var force = false
  @Flag(help: "Remove everything policyc loaded from the node instead, as `policyc remove` does.") var remove = false
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
    let oneFamilyTools = iptablesSave != nil || iptablesRestore != nil
    if remove, !paths.isEmpty || dryRun || oneFamilyTools {
      throw ValidationError(
        "--remove takes no manifests, --dry-run, --iptables-save or --iptables-restore (`policyc remove` names each family's programs)"
      )
    }
    if !remove, paths.isEmpty { throw ValidationError("no input: name at least one file, directory or -") }
    if emit.isNft, ipsets {
      throw ValidationError("--ipsets is for --backend iptables: the nft table holds its own sets")
    }
    if emit.family == .both, oneFamilyTools {
      throw ValidationError("--iptables-save and --iptables-restore name one family's tools: use --family ipv4 or ipv6")
    }
  }

  var tools: NodeTools {
    NodeCommands.tools(oneFamily: (iptablesSave, iptablesRestore), ipset: ipset, nft: nft)
  }

  func run() async throws {
    if remove { return try await NodeCommands.remove(tools: tools, state: state, quiet: quiet) }
    let inventory = try load.decode(try load.read(paths), pruned: true)
    try emit.refuseUnenforceable(inventory, inputs: paths, consequence: "nothing changed")
    let cluster = Cluster(inventory)
    defer { ExitTeardown.skip(inventory, cluster) }
    let applier = NodeApplier(tools: tools, runner: ProcessRunner())
    let reports = try await NodeCommands.exitOnApplyError { () async throws -> [ApplyReport]? in
      if emit.isNft {
        let prepared = try await applier.prepare(nft: try emit.nftRuleSet(cluster))
        if dryRun {
          Output.stdout("# policyc apply --dry-run: nft -f -\n" + prepared.text)
          return nil
        }
        return [try await applier.commit(prepared, force: force)]
      }
      let ruleSets = try emit.family.families.map { try emit.ruleSet(cluster, family: $0, ipsets: ipsets) }
      let families = try await applier.prepare(ruleSets, state: state, full: full)
      if dryRun {
        Output.stdout(families.map(\.0.dryRunText).joined())
        return nil
      }
      return try await applier.commit(families, force: force)
    }
    if let reports { NodeCommands.print(reports, verbose: load.verbose, quiet: quiet) }
  }
}
