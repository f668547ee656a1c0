import PolicyModel

/// Chain names that derive only from stable identity (never time, order or
/// a process-random hash), with separators between the parts so `a`+`bc`
/// and `ab`+`c` differ, and within iptables' 28-character limit once a
/// backend adds its prefix. Sets and chains share the one namespace.
public struct ChainNamer: Sendable {
  /// What the iptables backend puts before every chain and set name (and
  /// what apply and remove look for in the kernel).
  public static let prefix = "POLICYC-"
  static let maxLength = 28

  private var owners: [String: String] = [:]
  private(set) var collisions: [String] = []

  public init() {}

  /// `<kind>-<13 base32 chars of a 64-bit hash of the parts>`.
  mutating func name(kind: String, _ parts: [String]) -> String {
    let identity = ([kind] + parts).joined(separator: "\u{0}")
    let name = "\(kind)-\(Self.base32(Self.mix(Self.fnv1a(identity))))"
    if let owner = owners[name], owner != identity {
      collisions.append(name)
    }
    owners[name] = identity
    return name
  }

  /// Takes in the names another namer gave, as if they had been asked of
  /// this one (`FleetMemo` replays a chain built on its own compiler).
  mutating func absorb(_ other: ChainNamer) {
    collisions += other.collisions
    for (name, identity) in other.owners {
      if let owner = owners.updateValue(identity, forKey: name), owner != identity { collisions.append(name) }
    }
  }

  public static func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
  }

  /// MurmurHash3's 64-bit finaliser: FNV-1a alone leaves similar names
  /// (x/a, x/b) with similar leading bits.
  public static func mix(_ value: UInt64) -> UInt64 {
    var h = value
    h ^= h >> 33
    h = h &* 0xff51_afd7_ed55_8ccd
    h ^= h >> 33
    h = h &* 0xc4ce_b9fe_1a85_ec53
    h ^= h >> 33
    return h
  }

  /// RFC 4648 alphabet, uppercase, no padding: 64 bits in 13 characters.
  /// (Spelled into a small string: a fleet names a few hundred thousand
  /// chains and sets.)
  public static func base32(_ value: UInt64) -> String {
    let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return String(unsafeUninitializedCapacity: 13) { out in
      for i in 0..<13 {
        let shift = 64 - 5 * (i + 1)
        let index = shift >= 0 ? Int((value >> UInt64(shift)) & 31) : Int((value << UInt64(-shift)) & 31)
        out[i] = alphabet.utf8Start[index]
      }
      return 13
    }
  }
}
