import PolicyModel

/// What happens to traffic no rule allows.
public enum DenyAction: String, Sendable, CaseIterable {
  /// REJECT with icmp-admin-prohibited: clients fail at once with "host
  /// prohibited" instead of hanging until a timeout.
  case reject
  case drop
  /// Dry run for rolling out policies: a packet a policy would deny is
  /// logged (as with `--log-denied`, whose settings apply) and then allowed,
  /// the way allowed traffic is: it returns, so the other direction's
  /// policies still decide (and audit) it.
  case audit

  /// The action of a pod chain's last rule.
  public var action: Action {
    switch self {
    case .reject: return .reject(.adminProhibited)
    case .drop: return .drop
    case .audit: return .return
    }
  }
}

/// `--log-denied`: a rate-limited log rule before every deny of a pod chain,
/// whose prefix names the direction and the pod.
public struct DenyLog: Sendable, Hashable {
  public enum Target: Sendable, Hashable {
    /// NFLOG to a netlink group (ulogd, `nft monitor`, ...): prefixes up to 63 bytes.
    case nflog(group: Int)
    /// The kernel log (LOG): prefixes up to 29 bytes, space included.
    case log
  }

  public enum Unit: String, Sendable, CaseIterable {
    case second, minute, hour
  }

  public var target: Target
  public var rate: Int
  public var unit: Unit

  public init(target: Target = .nflog(group: 0), rate: Int = 10, unit: Unit = .minute) {
    self.target = target
    self.rate = rate
    self.unit = unit
  }

  /// The longest prefix the target keeps.
  public var prefixLimit: Int {
    if case .log = target { return 29 }
    return 63
  }

  /// `policyc:in:<namespace>/<name>` (or `eg`), sanitised; cut to the
  /// target's limit with a hash of the whole, so two long names stay apart
  /// and the same pod always gets the same prefix. LOG gets a trailing space,
  /// since the kernel writes the packet's fields right after the prefix.
  public func prefix(ingress: Bool, namespace: String, name: String) -> String {
    let whole = Sanitize.token("policyc:\(ingress ? "in" : "eg"):\(namespace)/\(name)")
    let room = prefixLimit - (target == .log ? 1 : 0)
    var text = whole
    if whole.utf8.count > room {
      let hash = ChainNamer.base32(ChainNamer.mix(ChainNamer.fnv1a(whole))).prefix(8)
      text = String(whole.prefix(room - 9)) + "~" + hash
    }
    return target == .log ? text + " " : text
  }

  /// The rule that logs a denied packet of one pod and direction.
  func rule(ingress: Bool, namespace: String, name: String) -> Rule {
    Rule(
      [],
      .log(
        LogAction(
          prefix: prefix(ingress: ingress, namespace: namespace, name: name), target: target, rate: rate, unit: unit))
    )
  }
}

public struct EmitOptions: Sendable, Hashable {
  /// The node whose pods are enforced; nil treats every pod as local.
  public var node: String?
  /// The one packet-mark bit policyc sets while it evaluates a packet and
  /// clears before the packet leaves its chains.
  public var markBit: UInt32
  public var denyAction: DenyAction
  /// Put peer addresses in ipsets shared by definition instead of one rule
  /// per address.
  public var useIPSets: Bool
  /// The address family of the file: ipv4 for `iptables-restore`, ipv6 for
  /// `ip6tables-restore`. Pods are enforced by their address of this family;
  /// ipBlocks of the other family are left out.
  public var family: IPAddress.Family
  /// `--log-denied`: nil logs nothing.
  public var log: DenyLog?

  /// The log before each deny: `--log-denied`'s, or its defaults in audit
  /// mode, whose whole point is the log.
  var denyLog: DenyLog? { log ?? (denyAction == .audit ? DenyLog() : nil) }

  public init(
    node: String? = nil, markBit: UInt32 = 0x0080_0000, denyAction: DenyAction = .reject, useIPSets: Bool = false,
    family: IPAddress.Family = .ipv4, log: DenyLog? = nil
  ) {
    self.log = log
    self.node = node
    self.markBit = markBit
    self.denyAction = denyAction
    self.useIPSets = useIPSets
    self.family = family
  }

  var markSet: Action { .mark(.set(markBit)) }
  var markClear: Action { .mark(.clear(markBit)) }
  var markTest: Match { .mark(value: markBit, mask: markBit) }

  /// The decision bits of the admin tiers: Allow is `markBit` itself (an
  /// allowed packet leaves as a NetworkPolicy-allowed one does); Deny and
  /// Pass take the two bits above it (below it when it is too high).
  func tierBit(_ action: AdminAction) -> UInt32 {
    let up = markBit <= 0x2000_0000
    switch action {
    case .allow: return markBit
    case .deny: return up ? markBit << 1 : markBit >> 1
    case .pass: return up ? markBit << 2 : markBit >> 2
    }
  }

  var tierMask: UInt32 { AdminAction.allCases.reduce(0) { $0 | tierBit($1) } }
  func tierSet(_ action: AdminAction) -> Action { .mark(.set(tierBit(action))) }
  func tierTest(_ action: AdminAction) -> Match { .mark(value: tierBit(action), mask: tierBit(action)) }
  var tierClear: Action { .mark(.clear(tierMask)) }
  var tierUndecided: Match { .mark(value: 0, mask: tierMask) }
}
