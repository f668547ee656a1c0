import ArgumentParser
import IptablesEmitter
import NftEmitter
import PolicyModel
import RuleModel

/// Options that shape the emitted rules, shared by compile and apply.
struct EmitFlags: ParsableArguments {
  @Option(help: "The node whose pods to enforce (spec.nodeName); without it every pod is local.")
  var node: String?

  @Option(
    help: """
      What denied traffic gets: reject (fail fast), drop, or audit (log it as --log-denied does, \
      with the --log-* settings, then let it through: a dry run for new policies).
      """)
  var deny: DenyFlag = .reject

  @Option(help: "The packet-mark bit policyc may use while evaluating a packet (hex).")
  var markBit: String = "0x800000"

  @Option(
    help: """
      ipv4 (an iptables-restore file) or ipv6 (an ip6tables-restore file, for the pods' IPv6 \
      addresses; ipBlocks of the other family are left out). apply also takes both.
      """)
  var family: FamilyFlag = .ipv4

  @Option(
    help: """
      iptables (iptables-restore/ip6tables-restore files, one per family) or nft \
      (one nft -f file with table inet policyc, both families).
      """)
  var backend: BackendFlag = .iptables

  @Flag(help: "Log denied packets (rate-limited) before each deny, prefixed policyc:in|eg:<namespace>/<pod>.")
  var logDenied = false

  @Option(
    name: .customLong("log-rate"),
    help:
      "With --log-denied: how many denied packets per pod and direction get logged: N/second, N/minute or N/hour (default: 10/minute)."
  )
  var logRateFlag: String?

  @Option(
    name: .customLong("log-target"),
    help: "With --log-denied: nflog (a netlink group, see --log-group) or log (the kernel log) (default: nflog).")
  var logTargetFlag: LogTargetFlag?

  @Option(name: .customLong("log-group"), help: "With --log-denied: the NFLOG group, 0-65535 (default: 0).")
  var logGroupFlag: Int?

  @Flag(
    help: """
      Build rules even from an input that cannot be the whole cluster: nothing read, no pods, no pod on \
      --node, no address of --family. For a drained or new node, or an empty cluster.
      """)
  var allowEmpty = false

  /// Set by commands that write an ipset script.
  var useIPSets = false
  enum CodingKeys: String, CodingKey {
    case node, deny, markBit, family, backend, logDenied, logRateFlag, logTargetFlag, logGroupFlag, allowEmpty
  }

  var logRate: String { logRateFlag ?? "10/minute" }
  var logTarget: LogTargetFlag { logTargetFlag ?? .nflog }
  var logGroup: Int { logGroupFlag ?? 0 }

  /// `10/minute` -> (10, .minute).
  var parsedLogRate: (Int, DenyLog.Unit)? {
    let parts = logRate.split(separator: "/")
    guard parts.count == 2, let n = Int(parts[0]), (1...10_000).contains(n),
      let unit = DenyLog.Unit(rawValue: String(parts[1]))
    else { return nil }
    return (n, unit)
  }

  /// Audit mode logs without --log-denied: the log is its point.
  var logsDenied: Bool { logDenied || deny == .audit }

  var denyLog: DenyLog? {
    guard logsDenied, let (rate, unit) = parsedLogRate else { return nil }
    return DenyLog(target: logTarget == .log ? .log : .nflog(group: logGroup), rate: rate, unit: unit)
  }

  var isNft: Bool { backend == .nft }

  func validate() throws {
    if let node, let problem = NameRules.dns1123Subdomain(node) {
      throw ValidationError("invalid --node '\(node)': \(problem)")
    }
    if !logsDenied {
      let given = [
        ("--log-rate", logRateFlag != nil), ("--log-target", logTargetFlag != nil),
        ("--log-group", logGroupFlag != nil),
      ]
      if let (flag, _) = given.first(where: \.1) {
        throw ValidationError("\(flag) only applies with --log-denied: add --log-denied, or leave \(flag) out")
      }
    }
    guard parsedLogRate != nil else {
      throw ValidationError(
        "invalid --log-rate '\(logRate)': must be N/second, N/minute or N/hour with N from 1 to 10000, such as 10/minute"
      )
    }
    guard (0...65535).contains(logGroup) else {
      throw ValidationError("invalid --log-group \(logGroup): must be 0-65535")
    }
    if isNft, family != .ipv4 {
      throw ValidationError("--family is for --backend iptables: the nft file always holds both families")
    }
    guard let bit = parsedMarkBit, bit != 0, bit & (bit - 1) == 0 else {
      throw ValidationError("invalid --mark-bit '\(markBit)': must be a single bit in hex, such as 0x800000")
    }
  }

  var parsedMarkBit: UInt32? {
    let digits = markBit.hasPrefix("0x") ? String(markBit.dropFirst(2)) : markBit
    return UInt32(digits, radix: 16)
  }

  /// The one family of this file (ipv4 for `both`, which apply splits first).
  var oneFamily: IPAddress.Family { family.families[0] }

  var options: EmitOptions {
    EmitOptions(
      node: node, markBit: parsedMarkBit ?? 0x80_0000, denyAction: deny.action, useIPSets: useIPSets,
      family: oneFamily, log: denyLog)
  }

  /// The ipBlocks a file of this family leaves out, for --verbose.
  func otherFamilyBlocks(_ cluster: Cluster) -> Int {
    let family = oneFamily
    return cluster.policies.flatMap { $0.ingress + $0.egress }.flatMap(\.peers).count {
      if case .ipBlock(let block) = $0.kind { return block.cidr.family != family }
      return false
    }
  }

  /// The node's rules; with `jobs` above 1, its policy chains are built on
  /// that many threads first.
  func ruleSet(_ cluster: Cluster, jobs: Int = 1) throws -> IptablesRuleSet {
    do {
      return try IptablesCompiler.compile(cluster, options: options, jobs: jobs)
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  /// One family's rules of a `--family` that may be `both` (apply).
  func ruleSet(_ cluster: Cluster, family: IPAddress.Family, ipsets: Bool) throws -> IptablesRuleSet {
    var flags = self
    (flags.family, flags.useIPSets) = (family == .ipv6 ? .ipv6 : .ipv4, ipsets)
    return try flags.ruleSet(cluster)
  }

  /// The node's nft ruleset, with a fleet's `memo`, or with its policy
  /// chains first built on `jobs` threads.
  func nftRuleSet(_ cluster: Cluster, memo: FleetMemo? = nil, jobs: Int = 1) throws -> NftRuleSet {
    do {
      if let memo { return try NftCompiler.compile(cluster, options: options, memo: memo) }
      return try NftCompiler.compile(cluster, options: options, jobs: jobs)
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  func render(_ cluster: Cluster) throws -> String {
    RestoreWriter.render(try ruleSet(cluster))
  }
}

extension EmitFlags {
  /// The families this command enforces, for the "no address" check; nil
  /// for nft, whose one file always holds both.
  var enforcedFamilies: [IPAddress.Family]? {
    isNft ? nil : family.families
  }

  /// Ends the command (exit 2, nothing written or changed) when `inventory`
  /// cannot be the cluster this node's rules come from, unless --allow-empty.
  func refuseUnenforceable(_ inventory: Inventory, inputs: [String], consequence: String) throws {
    guard !allowEmpty else { return }
    let refusal =
      if let families = enforcedFamilies {
        families.lazy.compactMap { InputRefusal.check(inventory, node: node, family: $0) }.first
      } else {
        InputRefusal.check(inventory, node: node, family: nil)
      }
    guard let refusal else { return }
    let named = inputs.map { $0 == "-" ? "<stdin>" : $0 }.joined(separator: ", ")
    Output.stderr("policyc: error: \(refusal.message(inputs: named, consequence: consequence))\n")
    Output.stderr("policyc: note: \(InputRefusal.override)\n")
    throw ExitCode(ExitStatus.trouble)
  }
}

/// `--family`: the address family of an iptables file, or (apply) both.
enum FamilyFlag: String, ExpressibleByArgument, CaseIterable, Sendable {
  case ipv4, ipv6, both

  var families: [IPAddress.Family] {
    switch self {
    case .ipv4: [.ipv4]
    case .ipv6: [.ipv6]
    case .both: [.ipv4, .ipv6]
    }
  }
}

/// `--backend`.
enum BackendFlag: String, ExpressibleByArgument, CaseIterable, Sendable {
  case iptables, nft
}

/// `--deny`.
enum DenyFlag: String, ExpressibleByArgument, CaseIterable, Sendable {
  case reject, drop, audit

  var action: DenyAction {
    switch self {
    case .reject: .reject
    case .drop: .drop
    case .audit: .audit
    }
  }
}

/// `--log-target`.
enum LogTargetFlag: String, ExpressibleByArgument, CaseIterable, Sendable {
  case nflog, log
}
