import PolicyModel

/// The rules of one node for one address family, as typed values: what the
/// compiler decided (which chains, in which order, which marks, which sets),
/// before any backend spells it. IptablesEmitter and NftEmitter each render
/// this and nothing else, so neither reads the other's syntax, and a third
/// reader (an incremental planner, another backend) reads the same values.
public struct RuleSet: Sendable, Hashable {
  public var family: IPAddress.Family
  /// Shared chains first (root, egress and ingress dispatch), then the pod
  /// chains in the order of the dispatch, then the others by name.
  public var chains: [Chain]
  /// The chain the forward hook enters.
  public var entry: String
  /// Sets by name; empty unless compiled with `useIPSets`.
  public var sets: [AddressSet]
  /// Lines for a file's header: node, counts.
  public var summary: [String]
  /// What the rules read of pods elsewhere in the cluster, so a pod update
  /// can be applied without a compile (see `PodDependence`).
  public var podDependence = PodDependence()

  public init(family: IPAddress.Family, chains: [Chain], entry: String, sets: [AddressSet], summary: [String]) {
    self.family = family
    self.chains = chains
    self.entry = entry
    self.sets = sets
    self.summary = summary
  }

  /// The set a rule names, if the rule set holds it.
  public func set(named name: String) -> AddressSet? { sets.first { $0.name == name } }
}

/// A chain of rules. Names are policyc's own stems (`FORWARD`,
/// `EP-<hash>`); each backend adds its prefix (`POLICYC-`, `v4-`).
public struct Chain: Sendable, Hashable {
  /// What the chain is for; backends may lower a role their own way (nft
  /// turns the dispatch into one verdict map).
  public enum Role: Sendable, Hashable {
    /// Entered from the forward hook.
    case root
    /// One `goto` per enforced pod, keyed by the pod's address.
    case dispatch
    /// One pod's decision for one direction.
    case pod
    /// One policy's (or admin policy's) allow rules for one direction.
    case policy
    /// Port lists and except lists that policy chains jump to.
    case helper
  }

  public var name: String
  /// The policy (namespace/name) or pod this chain belongs to, for review
  /// tools that group rules by owner; "policyc" for the shared chains.
  public var owner: String
  public var role: Role
  public var rules: [Rule]

  public init(name: String, owner: String, role: Role, rules: [Rule] = []) {
    self.name = name
    self.owner = owner
    self.role = role
    self.rules = rules
  }
}

/// One rule: every match must hold for the action to be taken. Matches
/// keep the compiler's order, which both backends write as given.
public struct Rule: Sendable, Hashable {
  public var matches: [Match]
  public var action: Action
  /// Free text from names in the input: backends sanitise it when writing.
  public var comment: String?

  public init(_ matches: [Match], _ action: Action, comment: String? = nil) {
    self.matches = matches
    self.action = action
    self.comment = comment
  }

  /// A rule without matches.
  public init(_ action: Action, comment: String? = nil) {
    self.init([], action, comment: comment)
  }

  /// The names of the sets this rule reads, in match order.
  public var setReferences: [String] {
    matches.compactMap {
      if case .address(_, .set(let name)) = $0 { return name }
      return nil
    }
  }
}

/// Which address of a packet a match reads.
public enum AddressField: Sendable, Hashable {
  case source, destination
}

/// An address match's value.
public enum AddressMatch: Sendable, Hashable {
  case host(IPAddress)
  /// Never a /0 (that is no match at all, and the compiler leaves it out).
  case prefix(CIDR)
  /// Membership in one of the rule set's `sets`, by name.
  case set(String)
}

public enum ConntrackState: String, Sendable, Hashable, CaseIterable {
  case invalid = "INVALID"
  case established = "ESTABLISHED"
  case related = "RELATED"
}

public enum Match: Sendable, Hashable {
  case address(AddressField, AddressMatch)
  /// A transport protocol, and its destination ports when given.
  case transport(NetProtocol, ports: ClosedRange<Int>?)
  /// ICMPv6 by type number (neighbour and router discovery).
  case icmpv6(type: Int)
  /// Connection tracking state, any of these.
  case conntrack([ConntrackState])
  /// `mark & mask == value`.
  case mark(value: UInt32, mask: UInt32)
}

/// Changes to the packet mark: only policyc's own bits, others are kept.
public enum MarkUpdate: Sendable, Hashable {
  /// Set these bits.
  case set(UInt32)
  /// Clear these bits.
  case clear(UInt32)
}

public enum RejectReason: Sendable, Hashable {
  /// ICMP (ICMPv6) administratively prohibited: the client fails at once.
  case adminProhibited
}

/// A rate-limited log entry: the packet then goes on to the next rule.
public struct LogAction: Sendable, Hashable {
  public var prefix: String
  public var target: DenyLog.Target
  /// At most `rate` packets per `unit` (after a burst of 5).
  public var rate: Int
  public var unit: DenyLog.Unit

  public init(prefix: String, target: DenyLog.Target, rate: Int, unit: DenyLog.Unit) {
    self.prefix = prefix
    self.target = target
    self.rate = rate
    self.unit = unit
  }
}

public enum Action: Sendable, Hashable {
  /// Into a chain, back here at its end or its `return`.
  case jump(String)
  /// Into a chain, and on return, back to the caller of this one.
  case goto(String)
  case `return`
  case accept
  case drop
  case reject(RejectReason)
  case mark(MarkUpdate)
  case log(LogAction)
}

/// A named set of addresses of one family, shared by definition: policies
/// whose peers mean the same thing use one set.
public struct AddressSet: Sendable, Hashable {
  public enum Kind: Sendable, Hashable {
    /// Single addresses (peer pods).
    case hosts
    /// Networks, with excepts cut out of them.
    case networks
  }

  public enum Member: Sendable, Hashable, Comparable {
    case host(IPAddress)
    case network(CIDR)
    /// Not in the set, though a network of it contains it.
    case except(CIDR)

    var sortKey: (Int, IPAddress, Int) {
      switch self {
      case .host(let ip): return (0, ip, ip.family.bits)
      case .network(let cidr): return (1, cidr.network, cidr.prefix)
      case .except(let cidr): return (2, cidr.network, cidr.prefix)
      }
    }

    public static func < (lhs: Member, rhs: Member) -> Bool { lhs.sortKey < rhs.sortKey }
  }

  public var name: String
  public var family: IPAddress.Family
  public var kind: Kind
  /// Sorted.
  public var members: [Member]
  /// The policy whose rules first needed the set.
  public var owner: String

  /// Sets of both families share one namespace in the kernel: each
  /// family's names start with its own tag.
  public static func familyTag(_ family: IPAddress.Family) -> String { family == .ipv4 ? "4" : "6" }

  public init(name: String, family: IPAddress.Family, kind: Kind, members: [Member], owner: String) {
    self.name = name
    self.family = family
    self.kind = kind
    self.members = members.sorted()
    self.owner = owner
  }
}

/// A selector peer as a policy wrote it: the pods it picks, with the
/// namespace of the policy for a peer without a namespaceSelector.
public struct PeerSelector: Sendable, Hashable {
  public var pods: LabelSelector?
  public var namespaces: LabelSelector?
  public var policyNamespace: String

  public init(pods: LabelSelector?, namespaces: LabelSelector?, policyNamespace: String) {
    self.pods = pods
    self.namespaces = namespaces
    self.policyNamespace = policyNamespace
  }
}

/// How the rules of one node depend on pods that are not on it. Such a
/// pod is seen only through the host sets of selector peers (`setPeers`)
/// and through the numbers its named ports resolve to (named egress ports).
/// An agent uses this to turn a pod update into set member changes; the
/// compiler fills it in as it decides.
public struct PodDependence: Sendable, Hashable {
  /// Host sets of selector peers, by name: a participating pod's address of
  /// the set's family is a member exactly when one of the peers contains it.
  public var setPeers: [String: [PeerSelector]] = [:]
  /// Peers whose pods' named ports the rules resolve (named egress ports).
  public var namedPortPeers: Set<PeerSelector> = []
  /// Whether named egress ports are resolved against peers that are not
  /// selectors (every pod, or pods by address).
  public var namedPortsOfAnyPod = false

  public init() {}

  /// Adds what another build learnt, as if it had been learnt here after
  /// what this holds: a set's peers are those of the first rule that made it.
  mutating func absorb(_ other: PodDependence) {
    for (name, selectors) in other.setPeers where setPeers[name] == nil { setPeers[name] = selectors }
    namedPortPeers.formUnion(other.namedPortPeers)
    namedPortsOfAnyPod = namedPortsOfAnyPod || other.namedPortsOfAnyPod
  }
}
