import ArgumentParser
import IptablesEmitter
import NftEmitter
import PolicyModel

struct CompileCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compile",
    abstract: "Compile manifests into an iptables-restore (or nft) file for one node.",
    discussion: """
      The output declares and fills only chains named POLICYC-*, plus the jump
      from FORWARD; load it with `iptables-restore --noflush`, or use
      `policyc apply`, which also removes stale chains and keeps the jump single.

      With --backend nft the output is one `nft -f` file for both address
      families: it replaces `table inet policyc` (and nothing else) in one
      transaction, with peer addresses in named sets.

      An input that cannot be the cluster is refused (exit 2, nothing
      written): nothing read, no Pod objects, no pod on --node, or no pod
      address of --family. A failing `kubectl` in a pipe must not become
      a node without rules. --allow-empty builds rules from such an input.

      --all-nodes writes the files of every node a pod runs on (spec.nodeName),
      reading the input once: in -o DIR, NODE.rules.v4 (NODE.rules.v6 with
      --family ipv6) or, with --backend nft, NODE.nft; with --ipset-out DIR
      (which may be the same directory), NODE.ipset.v4 (or .v6). Each file is
      byte for byte what `compile --node NODE` writes. All or nothing: every
      file is written to a temporary name first and renamed into place only
      when all are whole; on any error none is changed. Files of nodes no
      longer in the input are left alone. The files are written around the
      page cache (direct I/O) where the file system allows it, and synced
      together before the renames.

      Examples:
        kubectl get -A -o yaml \\
          ns,pods,networkpolicies,adminnetworkpolicies,baselineadminnetworkpolicies |
          policyc compile --node node-a -
        policyc compile --node node-a -o /etc/policyc/rules.v4 manifests/
        policyc compile --node node-a --family ipv6 \\
          -o /etc/policyc/rules.v6 manifests/
        policyc compile --node node-a --backend nft \\
          -o /etc/policyc/policyc.nft manifests/
        policyc compile --all-nodes -o fleet/ --ipset-out fleet/ dump.yaml
          (fleet/node-a.rules.v4, fleet/node-a.ipset.v4, fleet/node-b.rules.v4, ...)
      """
  )

  @OptionGroup var input: InputOptions
  @OptionGroup var emit: EmitFlags

  func validate() throws {
    if allNodes {
      if emit.node != nil { throw ValidationError("--all-nodes compiles every node: leave out --node") }
      if output == nil { throw ValidationError("--all-nodes needs -o DIR: it writes one file per node there") }
    }
    if emit.isNft {
      if ipsetOut != nil { throw ValidationError("--ipset-out is for --backend iptables: the nft file holds its sets") }
    } else if emit.family == .both {
      throw ValidationError("compile writes one file per family: use --family ipv4 or --family ipv6")
    }
  }

  @Option(name: .shortAndLong, help: "Write the rules here (atomically) instead of standard output.")
  var output: String?

  @Option(help: "Put peer addresses in ipsets and write the `ipset restore` script here (load it first).")
  var ipsetOut: String?

  @Flag(
    help: """
      Write the files of every node a pod runs on, reading the input once: -o DIR (and --ipset-out DIR) \
      name directories.
      """)
  var allNodes = false

  func run() throws {
    let clock = ContinuousClock()
    let started = clock.now
    let inventory = try input.loadOrExit(pruned: true)
    defer { ExitTeardown.skip(inventory) }
    try emit.refuseUnenforceable(inventory, inputs: input.paths, consequence: "nothing written")
    let loaded = clock.now
    let addressless = inventory.pods.filter { $0.isAnalysisEndpoint && $0.hasNoAddress }.count
    if input.verbose && addressless > 0 {
      Output.stderr("policyc: \(Wording.count(addressless, "pod")) without an address left out: nothing to match\n")
    }
    if allNodes { return try runAllNodes(inventory, started: started) }
    if emit.isNft { return try runNft(Cluster(inventory), times: (started, loaded)) }
    var flags = emit
    flags.useIPSets = ipsetOut != nil
    let cluster = Cluster(inventory)
    let jobs = input.load.loadOptions.jobs
    let ruleSet = try flags.ruleSet(cluster, jobs: jobs)
    defer { ExitTeardown.skip(cluster, ruleSet) }
    let compiled = clock.now
    let text = RestoreWriter.pieces(ruleSet, jobs: jobs)
    do {
      // The set file first: the rules refer to its sets.
      if let ipsetOut { try Output.atomicWrite(IPSetWriter.render(ruleSet.sets), to: ipsetOut) }
      if let output { try Output.atomicWrite(pieces: text, to: output) }
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    if output == nil { Output.stdout(pieces: text) }
    if input.verbose {
      Output.stderr(
        "policyc: \(Wording.count(ruleSet.chains.count, "chain")), \(Wording.count(ruleSet.ruleCount, "rule")), \(Wording.count(ruleSet.sets.count, "set")), \(Wording.count(ruleSet.sets.reduce(0) { $0 + $1.members.count }, "set entry", "set entries"))\n"
      )
      let skipped = flags.otherFamilyBlocks(cluster)
      if skipped > 0 {
        Output.stderr(
          "policyc: \(Wording.count(skipped, "ipBlock")) of the other address family left out of this \(flags.family) file\n"
        )
      }
      Output.stderr("policyc: read \(loaded - started), compiled \(compiled - loaded), wrote \(clock.now - compiled)\n")
    }
  }
}

extension CompileCommand {
  func runNft(_ cluster: Cluster, times: (started: ContinuousClock.Instant, loaded: ContinuousClock.Instant)) throws {
    let ruleSet = try emit.nftRuleSet(cluster, jobs: input.load.loadOptions.jobs)
    defer { ExitTeardown.skip(cluster, ruleSet) }
    let compiled = ContinuousClock().now
    let text = NftWriter.render(ruleSet)
    if let output {
      do {
        try Output.atomicWrite(text, to: output)
      } catch {
        Output.stderr("policyc: error: \(error)\n")
        throw ExitCode(ExitStatus.trouble)
      }
    } else {
      Output.stdout(text)
    }
    if input.verbose {
      Output.stderr(
        "policyc: nft: \(Wording.count(ruleSet.chains.count + 1, "chain")), \(Wording.count(ruleSet.ruleCount, "rule")), \(Wording.count(ruleSet.sets.count, "set")), \(Wording.count(ruleSet.elementCount, "set element"))\n"
      )
      Output.stderr(
        "policyc: read \(times.loaded - times.started), compiled \(compiled - times.loaded), wrote \(ContinuousClock().now - compiled)\n"
      )
    }
  }
}
