import PolicyModel
import RuleModel

/// One iptables rule as the iptables backend spells a typed `Rule`:
/// matches and a target as iptables tokens, plus an optional comment that
/// is sanitised before it is written. Only this backend (and apply, which
/// compares it with `iptables-save`) reads these tokens.
public struct IptablesRule: Sendable, Hashable {
  public var matches: [String]
  public var target: [String]
  public var comment: String?

  public init(matches: [String] = [], target: [String], comment: String? = nil) {
    self.matches = matches
    self.target = target
    self.comment = comment
  }
}

public struct IptablesChain: Sendable, Hashable {
  public var name: String
  /// The policy (namespace/name) or pod this chain belongs to, for review
  /// tools that group rules by owner; "policyc" for the shared chains.
  public var owner: String
  public var rules: [IptablesRule]

  public init(name: String, owner: String, rules: [IptablesRule] = []) {
    self.name = name
    self.owner = owner
    self.rules = rules
  }
}

/// An ipset policyc creates: peer addresses that scale with the cluster live
/// here, so the node's rule count does not.
public struct IPSetDefinition: Sendable, Hashable {
  public enum SetType: String, Sendable, Hashable {
    case hashIP = "hash:ip"
    case hashNet = "hash:net"
  }

  /// Every set name starts with this: sets of both families share the
  /// kernel's one set namespace, so each family owns its own prefix.
  public static func namePrefix(_ family: IPAddress.Family) -> String {
    ChainNamer.prefix + AddressSet.familyTag(family)
  }

  public var name: String
  public var type: SetType
  public var family: IPAddress.Family
  /// `10.0.0.1`, `10.0.0.0/8`, or `10.1.0.0/16 nomatch` (an except), sorted.
  public var members: [String]
  public var owner: String

  /// Room to grow in place (churn adds members without a reload).
  public var maxelem: Int { max(65536, Self.powerOfTwo(atLeast: members.count * 2)) }
  public var hashsize: Int { max(64, Self.powerOfTwo(atLeast: members.count)) }

  static func powerOfTwo(atLeast n: Int) -> Int {
    var p = 1
    while p < n { p <<= 1 }
    return p
  }

  public var createLine: String { createLine(as: name) }

  /// The `create` line of this set under another name (its staging copy).
  public func createLine(as name: String) -> String {
    "create \(name) \(type.rawValue) family \(family == .ipv4 ? "inet" : "inet6") hashsize \(hashsize) maxelem \(maxelem)"
  }
}

/// A jump from a built-in chain into policyc's root chain.
public struct IptablesHook: Sendable, Hashable {
  public var builtin: String
  public var chain: String
}

/// The rules of one node in iptables' spelling, before they become text.
public struct IptablesRuleSet: Sendable {
  public var chains: [IptablesChain]
  public var hooks: [IptablesHook]
  public var summary: [String]
  /// Empty unless the rules were compiled for ipset mode.
  public var sets: [IPSetDefinition] = []
  /// ipv4: an iptables-restore file; ipv6: an ip6tables-restore file.
  public var family: IPAddress.Family = .ipv4

  public var ruleCount: Int { chains.reduce(0) { $0 + $1.rules.count } + hooks.count }
}
