import PolicyModel

/// A named set in policyc's table: the addresses of peers, shared by
/// content, so two rules with the same peers use one set.
public struct NftSet: Sendable, Hashable {
  public var name: String
  public var family: IPAddress.Family
  /// Interval sets hold prefixes and ranges; the others single addresses.
  public var interval: Bool
  /// Sorted and disjoint, as nft prints them.
  public var elements: [String]

  public var type: String { family == .ipv4 ? "ipv4_addr" : "ipv6_addr" }
}

/// One rule as nft text (matches, then the verdict or statement), plus a
/// comment that is sanitised and cut to nft's limit when written.
public struct NftRule: Sendable, Hashable {
  public var text: String
  public var comment: String?
}

public struct NftChain: Sendable, Hashable {
  public var name: String
  /// The policy (namespace/name) or pod the chain belongs to; "policyc" for shared chains.
  public var owner: String
  public var rules: [NftRule]
}

/// Everything one `nft -f` file defines: both address families in one table.
public struct NftRuleSet: Sendable {
  public static let table = "policyc"
  /// The hook's priority: after conntrack (-200) and after DNAT (dstnat,
  /// -100, where kube-proxy's nftables mode rewrites Service addresses to
  /// pod addresses), a little before iptables-nft's filter chains (0).
  public static let forwardPriority = "filter - 5"

  public var sets: [NftSet]
  /// The regular chains; the base chain that dispatches by family is fixed.
  public var chains: [NftChain]
  /// The chain each family enters from the base chain.
  public var roots: [(family: IPAddress.Family, chain: String)]
  public var summary: [String]

  public var ruleCount: Int { chains.reduce(0) { $0 + $1.rules.count } + roots.count }
  public var elementCount: Int { sets.reduce(0) { $0 + $1.elements.count } }
}

extension IPAddress.Family {
  /// `ipv4` / `ipv6`, as nft's `meta nfproto` spells them.
  var nftName: String { self == .ipv4 ? "ipv4" : "ipv6" }
}
