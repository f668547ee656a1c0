/// An IPv4 or IPv6 address, held as a 128-bit number so both families share
/// one comparison and one containment test.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
  public enum Family: Int, Sendable, Hashable, Comparable {
    case ipv4 = 4, ipv6 = 6
    public var bits: Int { self == .ipv4 ? 32 : 128 }
    public static func < (lhs: Family, rhs: Family) -> Bool { lhs.rawValue < rhs.rawValue }
  }

  public var family: Family
  public var value: UInt128

  public init(family: Family, value: UInt128) {
    self.family = family
    self.value = value
  }

  public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
    (lhs.family, lhs.value) < (rhs.family, rhs.value)
  }

  /// Parses dotted-quad IPv4 (no leading zeros, as Go's netip) or IPv6 text.
  public init?(_ text: String) {
    if text.contains(":") {
      guard let v = Self.parseV6(Substring(text)) else { return nil }
      self.init(family: .ipv6, value: v)
    } else {
      guard let v = Self.parseV4(Substring(text)) else { return nil }
      self.init(family: .ipv4, value: UInt128(v))
    }
  }

  /// Four decimal parts of 0-255 joined by dots, without leading zeros,
  /// read byte by byte (every pod address and CIDR of a dump comes here).
  static func parseV4(_ text: Substring) -> UInt32? {
    var value: UInt32 = 0
    var part: UInt32 = 0
    var digits = 0
    var dots = 0
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "."):
        guard digits > 0, dots < 3 else { return nil }
        value = value << 8 | part
        dots += 1
        (part, digits) = (0, 0)
      case UInt8(ascii: "0")...UInt8(ascii: "9"):
        // A leading zero only as the whole part ("0", never "01").
        guard digits < 3, digits == 0 || part > 0 else { return nil }
        part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
        guard part <= 255 else { return nil }
        digits += 1
      default:
        return nil
      }
    }
    guard dots == 3, digits > 0 else { return nil }
    return value << 8 | part
  }

  static func parseV6(_ text: Substring) -> UInt128? {
    guard !text.contains("%") else { return nil }
    let halves = text.components(separatedBy: "::")
    guard halves.count <= 2 else { return nil }
    func groups(_ s: String) -> [UInt128]? {
      if s.isEmpty { return [] }
      var out: [UInt128] = []
      let parts = s.split(separator: ":", omittingEmptySubsequences: false)
      for (i, part) in parts.enumerated() {
        if i == parts.count - 1, part.contains(".") {
          guard let v4 = parseV4(part) else { return nil }
          out.append(UInt128(v4 >> 16))
          out.append(UInt128(v4 & 0xffff))
          continue
        }
        guard (1...4).contains(part.count), let n = UInt16(part, radix: 16) else { return nil }
        out.append(UInt128(n))
      }
      return out
    }
    guard let head = groups(halves[0]) else { return nil }
    var all = head
    if halves.count == 2 {
      guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
      all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }
    guard all.count == 8 else { return nil }
    return all.reduce(0) { $0 << 16 | $1 }
  }

  /// `10.0.0.1`, written byte by byte into a string of at most 15 bytes
  /// (stored inline, not allocated): every member of every peer set is
  /// spelled here.
  static func dotted(_ v: UInt32) -> String {
    String(unsafeUninitializedCapacity: 15) { buffer in
      var n = 0
      for shift in [24, 16, 8, 0] as [UInt32] {
        let byte = UInt8(truncatingIfNeeded: v >> shift)
        if shift != 24 {
          buffer[n] = UInt8(ascii: ".")
          n += 1
        }
        if byte >= 100 {
          buffer[n] = UInt8(ascii: "0") + byte / 100
          n += 1
        }
        if byte >= 10 {
          buffer[n] = UInt8(ascii: "0") + byte / 10 % 10
          n += 1
        }
        buffer[n] = UInt8(ascii: "0") + byte % 10
        n += 1
      }
      return n
    }
  }

  public var description: String {
    switch family {
    case .ipv4: return Self.dotted(UInt32(truncatingIfNeeded: value))
    case .ipv6:
      let groups = (0..<8).map { UInt16(truncatingIfNeeded: value >> (112 - 16 * UInt128($0))) }
      // Longest run of zero groups (length >= 2) becomes "::", as RFC 5952 says.
      var best = (start: -1, length: 0)
      var i = 0
      while i < 8 {
        guard groups[i] == 0 else {
          i += 1
          continue
        }
        var j = i
        while j < 8, groups[j] == 0 { j += 1 }
        if j - i > best.length { best = (i, j - i) }
        i = j
      }
      let hex = groups.map { String($0, radix: 16) }
      guard best.length >= 2 else { return hex.joined(separator: ":") }
      let left = hex[0..<best.start].joined(separator: ":")
      let right = hex[(best.start + best.length)...].joined(separator: ":")
      return left + "::" + right
    }
  }
}

/// A CIDR block, normalised to its network address.
public struct CIDR: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var network: IPAddress
  public var prefix: Int
  /// True when the text had host bits set (`1.2.3.4/8`): the API accepts it
  /// and means the network; lint warns.
  public var hadHostBits: Bool

  public init(network: IPAddress, prefix: Int) {
    self.network = network
    self.prefix = prefix
    self.hadHostBits = false
  }

  /// Parses `address/prefix` as Go's net.ParseCIDR does (the API's check).
  public init?(_ text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let address = IPAddress(String(parts[0])),
      !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
      !(parts[1].count > 1 && parts[1].first == "0"),
      let prefix = Int(parts[1]), prefix <= address.family.bits
    else { return nil }
    let masked = IPAddress(family: address.family, value: address.value & Self.mask(prefix, address.family))
    self.network = masked
    self.prefix = prefix
    self.hadHostBits = masked != address
  }

  /// Why `text` is not a CIDR, naming the wrong part and what is valid;
  /// nil when it is one. It never repeats the text (the caller quotes it,
  /// escaped), only numbers it parsed.
  public static func problem(_ text: String) -> String? {
    guard CIDR(text) == nil else { return nil }
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2 else {
      return parts.count < 2 ? "missing /PREFIX, such as 10.0.0.0/8 or fd00::/64" : "more than one \"/\""
    }
    guard let address = IPAddress(String(parts[0])) else {
      return "the part before \"/\" is not an IPv4 or IPv6 address"
    }
    let bits = address.family.bits
    let name = address.family == .ipv6 ? "IPv6" : "IPv4"
    guard let prefix = Int(parts[1]), parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
      !(parts[1].count > 1 && parts[1].first == "0")
    else {
      return "the prefix length must be a whole number from 0 to \(bits) without leading zeros"
    }
    return "prefix length \(prefix) is out of range 0-\(bits) for an \(name) address"
  }

  static func mask(_ prefix: Int, _ family: IPAddress.Family) -> UInt128 {
    guard prefix > 0 else { return 0 }
    return family == .ipv4 ? masks.ipv4[prefix] : masks.ipv6[prefix]
  }

  /// The mask of every prefix length, per family: a lookup instead of
  /// UInt128 shifts, which are generic calls in unoptimised builds (where
  /// the property tests ask for millions of masks).
  private static let masks: (ipv4: [UInt128], ipv6: [UInt128]) = {
    func table(_ bits: Int) -> [UInt128] {
      let ones: UInt128 = bits == 128 ? UInt128.max : (UInt128(1) << UInt128(bits)) - 1
      return (0...bits).map { prefix in
        prefix == 0 ? 0 : ones & ~((UInt128(1) << UInt128(bits - prefix)) &- 1)
      }
    }
    return (table(32), table(128))
  }()

  public var family: IPAddress.Family { network.family }

  public func contains(_ address: IPAddress) -> Bool {
    address.family == family && address.value & Self.mask(prefix, family) == network.value
  }

  /// True when `other` lies inside this block and is smaller (the API's
  /// "strict subset" test for `except`).
  public func strictlyContains(_ other: CIDR) -> Bool {
    other.family == family && other.prefix > prefix && contains(other.network)
  }

  public func contains(_ other: CIDR) -> Bool {
    other.family == family && other.prefix >= prefix && contains(other.network)
  }

  public var first: UInt128 { network.value }
  /// The highest address of the block.
  public var last: UInt128 {
    let all: UInt128 = family == .ipv4 ? 0xffff_ffff : .max
    return network.value | (all & ~Self.mask(prefix, family))
  }

  public var description: String { "\(network)/\(prefix)" }

  public static func < (lhs: CIDR, rhs: CIDR) -> Bool {
    (lhs.network, lhs.prefix) < (rhs.network, rhs.prefix)
  }
}
