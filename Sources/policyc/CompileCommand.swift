import ArgumentParser
import IptablesEmitter
import PolicyModel

struct CompileCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compile",
    abstract: "Compile manifests into an iptables-restore file for one node.",
    discussion: """
      The output declares and fills only chains named POLICYC-*, plus the jump
      from FORWARD; load it with `iptables-restore --noflush`, or use
      `policyc apply`, which also removes stale chains and keeps the jump single.

      Examples:
        kubectl get ns,pods,netpol -A -o yaml | policyc compile --node node-a -
        policyc compile --node node-a -o /etc/policyc/rules.v4 manifests/
      """
  )

  @OptionGroup var input: InputOptions
  @OptionGroup var emit: EmitFlags

  func validate() throws {
    if emit.family == "both" {
      throw ValidationError("compile writes one file per family: use --family ipv4 or --family ipv6")
    }
  }

  @Option(name: .shortAndLong, help: "Write the rules here (atomically) instead of standard output.")
  var output: String?

  @Option(help: "Put peer addresses in ipsets and write the `ipset restore` script here (load it first).")
  var ipsetOut: String?

  func run() throws {
    let clock = ContinuousClock()
    let started = clock.now
    let inventory = try input.loadOrExit(pruned: true)
    let loaded = clock.now
    var flags = emit
    flags.useIPSets = ipsetOut != nil
    let cluster = Cluster(inventory)
    let ruleSet = try flags.ruleSet(cluster)
    let compiled = clock.now
    let text = RestoreWriter.render(ruleSet)
    do {
      // The set file first: the rules refer to its sets.
      if let ipsetOut { try Output.atomicWrite(IPSetWriter.render(ruleSet.sets), to: ipsetOut) }
      if let output { try Output.atomicWrite(text, to: output) }
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    if output == nil { Output.stdout(text) }
    if input.verbose {
      Output.stderr(
        "policyc: \(ruleSet.chains.count) chain(s), \(ruleSet.ruleCount) rule(s), \(ruleSet.sets.count) set(s), \(ruleSet.sets.reduce(0) { $0 + $1.members.count }) set entries\n"
      )
      let skipped = flags.otherFamilyBlocks(cluster)
      if skipped > 0 {
        Output.stderr(
          "policyc: \(skipped) ipBlock(s) of the other address family left out of this \(flags.family) file\n")
      }
      Output.stderr("policyc: read \(loaded - started), compiled \(compiled - loaded), wrote \(clock.now - compiled)\n")
    }
  }
}

/// Options that shape the emitted rules, shared by compile and apply.
struct EmitFlags: ParsableArguments {
  @Option(help: "The node whose pods to enforce (spec.nodeName); without it every pod is local.")
  var node: String?

  @Option(help: "What denied traffic gets: reject (fail fast) or drop.")
  var deny: String = DenyAction.reject.rawValue

  @Option(help: "The packet-mark bit policyc may use while evaluating a packet (hex).")
  var markBit: String = "0x800000"

  @Option(
    help: """
      ipv4 (an iptables-restore file) or ipv6 (an ip6tables-restore file, for the pods' IPv6 \
      addresses; ipBlocks of the other family are left out). apply also takes both.
      """)
  var family: String = "ipv4"

  /// Set by commands that write an ipset script.
  var useIPSets = false
  enum CodingKeys: String, CodingKey {
    case node, deny, markBit, family
  }

  func validate() throws {
    if let node, let problem = NameRules.dns1123Subdomain(node) {
      throw ValidationError("invalid --node '\(node)': \(problem)")
    }
    guard DenyAction(rawValue: deny) != nil else { throw ValidationError("--deny must be reject or drop") }
    guard parsedFamily != nil || family == "both" else {
      throw ValidationError("--family must be ipv4, ipv6 or (apply only) both")
    }
    guard let bit = parsedMarkBit, bit != 0, bit & (bit - 1) == 0 else {
      throw ValidationError("--mark-bit must be a single bit such as 0x800000")
    }
  }

  var parsedMarkBit: UInt32? {
    let digits = markBit.hasPrefix("0x") ? String(markBit.dropFirst(2)) : markBit
    return UInt32(digits, radix: 16)
  }

  var parsedFamily: IPAddress.Family? { IPAddress.Family(flag: family) }

  var options: EmitOptions {
    EmitOptions(
      node: node, markBit: parsedMarkBit ?? 0x80_0000, denyAction: DenyAction(rawValue: deny) ?? .reject,
      useIPSets: useIPSets, family: parsedFamily ?? .ipv4)
  }

  /// The ipBlocks a file of this family leaves out, for --verbose.
  func otherFamilyBlocks(_ cluster: Cluster) -> Int {
    let family = parsedFamily ?? .ipv4
    return cluster.policies.flatMap { $0.ingress + $0.egress }.flatMap(\.peers).count {
      if case .ipBlock(let block) = $0.kind { return block.cidr.family != family }
      return false
    }
  }

  func ruleSet(_ cluster: Cluster) throws -> IptablesRuleSet {
    do {
      return try IptablesCompiler.compile(cluster, options: options)
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  func render(_ cluster: Cluster) throws -> String {
    RestoreWriter.render(try ruleSet(cluster))
  }
}
