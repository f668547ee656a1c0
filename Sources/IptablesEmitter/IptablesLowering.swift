import PolicyModel
import RuleModel

/// Compiles a cluster and spells it for iptables-restore and ipset: the
/// decisions are RuleModel's, this only writes them in iptables-save's
/// spelling (apply compares what it loaded with that).
public enum IptablesCompiler {
  public typealias Failure = RuleCompiler.Failure

  public static func compile(_ cluster: Cluster, options: EmitOptions) throws(Failure) -> IptablesRuleSet {
    IptablesLowering.ruleSet(try RuleCompiler.compile(cluster, options: options))
  }

  /// `compile`, with the node's policy chains first built on up to `jobs`
  /// threads (`RuleCompiler.warm`): the same rules.
  public static func compile(_ cluster: Cluster, options: EmitOptions, jobs: Int) throws(Failure) -> IptablesRuleSet {
    guard jobs > 1 else { return try compile(cluster, options: options) }
    let memo = FleetMemo()
    RuleCompiler.warm(memo, cluster: cluster, options: options, jobs: jobs)
    return IptablesLowering.ruleSet(try RuleCompiler.compile(cluster, options: options, memo: memo))
  }
}

/// Typed rules -> iptables tokens.
public enum IptablesLowering {
  public static func ruleSet(_ model: consuming RuleSet) -> IptablesRuleSet {
    let lowering = Lowering(family: model.family)
    // Chain by chain, each typed chain let go once spelled, so a large
    // node never holds both forms of all its rules at once.
    var chains: [IptablesChain] = []
    chains.reserveCapacity(model.chains.count)
    for i in model.chains.indices {
      let chain = model.chains[i]
      model.chains[i].rules = []
      chains.append(
        IptablesChain(name: name(chain.name), owner: chain.owner, rules: chain.rules.map(lowering.rule)))
    }
    var ruleSet = IptablesRuleSet(
      chains: chains, hooks: [IptablesHook(builtin: "FORWARD", chain: name(model.entry))], summary: model.summary)
    ruleSet.sets = model.sets.map(set)
    ruleSet.family = model.family
    return ruleSet
  }

  /// The sets of one lowering, by model name, with the model sets they
  /// were lowered from: the next lowering of the same node reuses those
  /// that did not change.
  public struct SetMemo: Sendable {
    var sets: [String: (model: AddressSet, set: IPSetDefinition)] = [:]

    public init() {}
  }

  /// `ruleSet(model)`, reusing each set of the last lowering (`memo`,
  /// which comes out holding this one's) whose model set is unchanged:
  /// an agent lowers its node after every policy change, and turning a
  /// node's 50,000 set members into text each time was about a tenth of
  /// the sync.
  public static func ruleSet(_ model: consuming RuleSet, reusing memo: inout SetMemo) -> IptablesRuleSet {
    var next = SetMemo()
    let sets = model.sets.map { set in
      let lowered = memo.sets[set.name].flatMap { $0.model == set ? $0.set : nil } ?? Self.set(set)
      next.sets[set.name] = (set, lowered)
      return lowered
    }
    memo = next
    model.sets = []
    var ruleSet = ruleSet(model)
    ruleSet.sets = sets
    return ruleSet
  }

  /// `EP-XXXX` -> `POLICYC-EP-XXXX`: chains and sets.
  public static func name(_ stem: String) -> String { ChainNamer.prefix + stem }

  public static func set(_ set: AddressSet) -> IPSetDefinition {
    IPSetDefinition(
      name: name(set.name), type: set.kind == .hosts ? .hashIP : .hashNet, family: set.family,
      members: members(set.members), owner: set.owner)
  }

  /// The members' text, sorted as text (the order `ipset save` lists).
  static func members(_ members: [AddressSet.Member]) -> [String] {
    var out: [String] = []
    out.reserveCapacity(members.count)
    for member in members {
      switch member {
      case .host(let ip): out.append(ip.description)
      default: out += Self.members(member)
      }
    }
    out.sort()
    return out
  }

  /// `10.0.0.1`, `10.0.0.0/8`, `10.1.0.0/16 nomatch`; hash:net takes
  /// prefixes from 1, so a /0 becomes its two halves.
  static func members(_ member: AddressSet.Member) -> [String] {
    switch member {
    case .host(let ip): return [ip.description]
    case .network(let cidr) where cidr.prefix == 0:
      return cidr.family == .ipv4 ? ["0.0.0.0/1", "128.0.0.0/1"] : ["::/1", "8000::/1"]
    case .network(let cidr): return [cidr.description]
    case .except(let cidr): return ["\(cidr) nomatch"]
    }
  }

  struct Lowering {
    let family: IPAddress.Family

    func rule(_ rule: Rule) -> IptablesRule {
      var matches = rule.matches.flatMap(match)
      let target: [String]
      switch rule.action {
      case .jump(let chain): target = ["-j", name(chain)]
      case .goto(let chain): target = ["-g", name(chain)]
      case .return: target = ["-j", "RETURN"]
      case .accept: target = ["-j", "ACCEPT"]
      case .drop: target = ["-j", "DROP"]
      case .reject(.adminProhibited):
        target = ["-j", "REJECT", "--reject-with", family == .ipv4 ? "icmp-admin-prohibited" : "icmp6-adm-prohibited"]
      case .mark(.set(let bits)): target = ["-j", "MARK", "--set-xmark", "\(hex(bits))/\(hex(bits))"]
      case .mark(.clear(let bits)): target = ["-j", "MARK", "--set-xmark", "0x0/\(hex(bits))"]
      case .log(let log):
        matches += ["-m", "limit", "--limit", "\(log.rate)/\(Self.unit(log.unit))"]
        target = Self.logTarget(log)
      }
      return IptablesRule(matches: matches, target: target, comment: rule.comment)
    }

    func match(_ match: Match) -> [String] {
      switch match {
      case .address(let field, let value):
        let flag = field == .source ? "-s" : "-d"
        switch value {
        case .host(let ip): return [flag, "\(ip)/\(ip.family.bits)"]
        case .prefix(let cidr): return [flag, cidr.description]
        case .set(let set): return ["-m", "set", "--match-set", name(set), field == .source ? "src" : "dst"]
        }
      case .transport(let proto, let ports):
        // `-p tcp -m tcp --dport 80:90`, spelled as iptables-save prints it.
        guard let ports else { return ["-p", proto.lowercased] }
        let range = ports.count == 1 ? "\(ports.lowerBound)" : "\(ports.lowerBound):\(ports.upperBound)"
        return ["-p", proto.lowercased, "-m", proto.lowercased, "--dport", range]
      case .icmpv6(let type):
        return ["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", String(type)]
      case .conntrack(let states):
        return ["-m", "conntrack", "--ctstate", states.map(\.rawValue).joined(separator: ",")]
      case .mark(let value, let mask):
        return ["-m", "mark", "--mark", "\(hex(value))/\(hex(mask))"]
      }
    }

    func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

    /// As iptables-save prints it.
    static func unit(_ unit: DenyLog.Unit) -> String {
      switch unit {
      case .second: return "sec"
      case .minute: return "min"
      case .hour: return "hour"
      }
    }

    static func logTarget(_ log: LogAction) -> [String] {
      let prefix = "\"\(log.prefix)\""
      switch log.target {
      case .nflog(let group):
        // iptables-save leaves out the default group 0.
        return ["-j", "NFLOG", "--nflog-prefix", prefix] + (group == 0 ? [] : ["--nflog-group", String(group)])
      case .log: return ["-j", "LOG", "--log-prefix", prefix]
      }
    }
  }
}

extension DenyAction {
  /// The iptables target of the deny, in iptables-save's spelling.
  public func target(_ family: IPAddress.Family) -> [String] {
    IptablesLowering.Lowering(family: family).rule(Rule(action)).target
  }
}
