import PolicyModel

/// What happens to traffic no rule allows.
public enum DenyAction: String, Sendable, CaseIterable {
  /// REJECT with icmp-admin-prohibited: clients fail at once with "host
  /// prohibited" instead of hanging until a timeout.
  case reject
  case drop

  func target(_ family: IPAddress.Family) -> [String] {
    switch self {
    case .reject:
      return ["-j", "REJECT", "--reject-with", family == .ipv4 ? "icmp-admin-prohibited" : "icmp6-adm-prohibited"]
    case .drop: return ["-j", "DROP"]
    }
  }
}

public struct EmitOptions: Sendable {
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

  public init(
    node: String? = nil, markBit: UInt32 = 0x0080_0000, denyAction: DenyAction = .reject, useIPSets: Bool = false,
    family: IPAddress.Family = .ipv4
  ) {
    self.node = node
    self.markBit = markBit
    self.denyAction = denyAction
    self.useIPSets = useIPSets
    self.family = family
  }

  var markSet: [String] { ["-j", "MARK", "--set-xmark", "\(hex(markBit))/\(hex(markBit))"] }
  var markClear: [String] { ["-j", "MARK", "--set-xmark", "0x0/\(hex(markBit))"] }
  var markTest: [String] { ["-m", "mark", "--mark", "\(hex(markBit))/\(hex(markBit))"] }

  func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
