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

      Examples:
        kubectl get ns,pods,netpol -A -o yaml | policyc compile --node node-a -
        policyc compile --node node-a -o /etc/policyc/rules.v4 manifests/
        policyc compile --node node-a --family ipv6 -o /etc/policyc/rules.v6 manifests/
        policyc compile --node node-a --backend nft -o /etc/policyc/policyc.nft manifests/
      """
  )

  @OptionGroup var input: InputOptions
  @OptionGroup var emit: EmitFlags

  func validate() throws {
    if emit.isNft {
      if ipsetOut != nil { throw ValidationError("--ipset-out is for --backend iptables: the nft file holds its sets") }
    } else if emit.family == "both" {
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
    if emit.isNft { return try runNft(Cluster(inventory), times: (started, loaded)) }
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

extension CompileCommand {
  func runNft(_ cluster: Cluster, times: (started: ContinuousClock.Instant, loaded: ContinuousClock.Instant)) throws {
    let ruleSet = try emit.nftRuleSet(cluster)
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
        "policyc: nft: \(ruleSet.chains.count + 1) chain(s), \(ruleSet.ruleCount) rule(s), \(ruleSet.sets.count) set(s), \(ruleSet.elementCount) set element(s)\n"
      )
      Output.stderr(
        "policyc: read \(times.loaded - times.started), compiled \(compiled - times.loaded), wrote \(ContinuousClock().now - compiled)\n"
      )
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

  @Option(
    help: """
      iptables (iptables-restore/ip6tables-restore files, one per family) or nft \
      (one nft -f file with table inet policyc, both families).
      """)
  var backend: String = "iptables"

  @Flag(help: "Log denied packets (rate-limited) before each deny, prefixed policyc:in|eg:<namespace>/<pod>.")
  var logDenied = false

  @Option(help: "How many denied packets per pod and direction get logged: N/second, N/minute or N/hour.")
  var logRate = "10/minute"

  @Option(help: "Where --log-denied logs: nflog (a netlink group, see --log-group) or log (the kernel log).")
  var logTarget = "nflog"

  @Option(help: "The NFLOG group for --log-denied (0-65535).")
  var logGroup = 0

  /// Set by commands that write an ipset script.
  var useIPSets = false
  enum CodingKeys: String, CodingKey {
    case node, deny, markBit, family, backend, logDenied, logRate, logTarget, logGroup
  }

  /// `10/minute` -> (10, .minute).
  var parsedLogRate: (Int, DenyLog.Unit)? {
    let parts = logRate.split(separator: "/")
    guard parts.count == 2, let n = Int(parts[0]), (1...10_000).contains(n),
      let unit = DenyLog.Unit(rawValue: String(parts[1]))
    else { return nil }
    return (n, unit)
  }

  var denyLog: DenyLog? {
    guard logDenied, let (rate, unit) = parsedLogRate else { return nil }
    return DenyLog(target: logTarget == "log" ? .log : .nflog(group: logGroup), rate: rate, unit: unit)
  }

  var isNft: Bool { backend == "nft" }

  func validate() throws {
    if let node, let problem = NameRules.dns1123Subdomain(node) {
      throw ValidationError("invalid --node '\(node)': \(problem)")
    }
    guard DenyAction(rawValue: deny) != nil else { throw ValidationError("--deny must be reject or drop") }
    guard ["iptables", "nft"].contains(backend) else { throw ValidationError("--backend must be iptables or nft") }
    guard parsedLogRate != nil else {
      throw ValidationError("--log-rate must be N/second, N/minute or N/hour with N from 1 to 10000, such as 10/minute")
    }
    guard ["nflog", "log"].contains(logTarget) else { throw ValidationError("--log-target must be nflog or log") }
    guard (0...65535).contains(logGroup) else { throw ValidationError("--log-group must be 0-65535") }
    if isNft, family != "ipv4" {
      throw ValidationError("--family is for --backend iptables: the nft file always holds both families")
    }
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
      useIPSets: useIPSets, family: parsedFamily ?? .ipv4, log: denyLog)
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

  func nftRuleSet(_ cluster: Cluster) throws -> NftRuleSet {
    do {
      return try NftCompiler.compile(cluster, options: options)
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  func render(_ cluster: Cluster) throws -> String {
    RestoreWriter.render(try ruleSet(cluster))
  }
}
