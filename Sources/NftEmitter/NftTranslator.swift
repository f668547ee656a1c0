import IptablesEmitter
import PolicyModel

/// Lowers one family's iptables chains into nft rules. The iptables rules
/// are policyc's own, from a closed vocabulary (addresses, sets, protocol
/// and port, conntrack state, the mark bit, RETURN/DROP/REJECT, jump and
/// goto); anything else is an internal error, never guessed at.
struct NftTranslator {
  let family: IPAddress.Family
  let sets: [String: SetReference]

  /// `POLICYC-EP-XXXX` -> `v4-EP-XXXX`: both families share one table.
  func chainName(_ iptablesName: String) -> String {
    let tag = family == .ipv4 ? "v4-" : "v6-"
    return tag + iptablesName.dropFirst(iptablesName.hasPrefix(ChainNamer.prefix) ? ChainNamer.prefix.count : 0)
  }

  var addressKeyword: String { family == .ipv4 ? "ip" : "ip6" }

  func chain(_ chain: IptablesChain) throws(NftCompiler.Failure) -> NftChain {
    if chain.name == "POLICYC-EGRESS" || chain.name == "POLICYC-INGRESS" {
      return NftChain(name: chainName(chain.name), owner: chain.owner, rules: try dispatch(chain))
    }
    var rules: [NftRule] = []
    for rule in chain.rules {
      rules += try translate(rule).map { NftRule(text: $0, comment: rule.comment) }
    }
    return NftChain(name: chainName(chain.name), owner: chain.owner, rules: rules)
  }

  /// The per-pod dispatch (`-s <pod> -g <pod chain>`, one rule per pod)
  /// as one verdict map: a hash lookup instead of a scan of every local pod.
  func dispatch(_ chain: IptablesChain) throws(NftCompiler.Failure) -> [NftRule] {
    var field: String?
    var entries: [(IPAddress, String)] = []
    var seen = Set<IPAddress>()
    for rule in chain.rules {
      guard rule.matches.count == 2, ["-s", "-d"].contains(rule.matches[0]), rule.target.count == 2,
        rule.target[0] == "-g", field == nil || field == rule.matches[0]
      else { throw .untranslatable(describe(rule)) }
      field = rule.matches[0]
      let text = address(rule.matches[1])
      guard let ip = IPAddress(text) else { throw .untranslatable(describe(rule)) }
      // Two pods with one address: iptables' first rule wins, and a map
      // takes each key once (a second one fails the whole load).
      guard seen.insert(ip).inserted else { continue }
      entries.append((ip, "\(text) : goto \(chainName(rule.target[1]))"))
    }
    guard let field, !entries.isEmpty else { return [] }
    let key = "\(addressKeyword) \(field == "-s" ? "saddr" : "daddr")"
    // One entry per line, by address, as `nft list` prints them.
    let lines = entries.sorted { $0.0 < $1.0 }.map { "\t\t\t\($0.1)" }.joined(separator: ",\n")
    return [NftRule(text: "\(key) vmap {\n\(lines)\n\t\t}", comment: nil)]
  }

  /// `10.0.0.1/32` -> `10.0.0.1`; blocks stay as they are.
  func address(_ text: String) -> String {
    let full = "/\(family.bits)"
    return text.hasSuffix(full) ? String(text.dropLast(full.count)) : text
  }

  func describe(_ rule: IptablesRule) -> String { (rule.matches + rule.target).joined(separator: " ") }

  /// The nft text of a rule: none when it can never match (an empty set),
  /// one per element when its set is written inline.
  func translate(_ rule: IptablesRule) throws(NftCompiler.Failure) -> [String] {
    var parts: [String] = []
    var inline: (index: Int, key: String, elements: [String])?
    let m = rule.matches
    var i = 0
    func word(_ offset: Int) -> String? { i + offset < m.count ? m[i + offset] : nil }
    let bad = NftCompiler.Failure.untranslatable(describe(rule))
    while i < m.count {
      switch m[i] {
      case "-s", "-d":
        guard let value = word(1) else { throw bad }
        parts.append("\(addressKeyword) \(m[i] == "-s" ? "saddr" : "daddr") \(address(value))")
        i += 2
      case "-p":
        guard let proto = word(1) else { throw bad }
        if proto == "ipv6-icmp", word(2) == "-m", word(3) == "icmp6", word(4) == "--icmpv6-type", let type = word(5) {
          parts.append("icmpv6 type \(type)")
          i += 6
        } else if ["tcp", "udp", "sctp"].contains(proto), word(2) == "-m", word(3) == proto, word(4) == "--dport",
          let ports = word(5)
        {
          parts.append("\(proto) dport \(ports.replacingOccurrences(of: ":", with: "-"))")
          i += 6
        } else if ["tcp", "udp", "sctp"].contains(proto) {
          parts.append("meta l4proto \(proto)")
          i += 2
        } else {
          throw bad
        }
      case "-m":
        switch (word(1), word(2), word(3), word(4), word(5)) {
        case ("conntrack", "--ctstate", let states?, _, _):
          let names = states.lowercased().split(separator: ",").sorted().joined(separator: ",")
          parts.append("ct state \(names)")
          i += 4
        case ("limit", "--limit", let rate?, _, _):
          let units = ["sec": "second", "min": "minute", "hour": "hour"]
          let pieces = rate.split(separator: "/")
          guard pieces.count == 2, let n = Int(pieces[0]), let unit = units[String(pieces[1])] else { throw bad }
          // The burst iptables uses by default, spelled out.
          parts.append("limit rate \(n)/\(unit) burst 5 packets")
          i += 4
        case ("mark", "--mark", let spec?, _, _):
          guard let (value, mask) = Self.valueMask(spec) else { throw bad }
          parts.append("meta mark & \(Self.hex(mask)) == \(Self.hex(value))")
          i += 4
        case ("set", "--match-set", let name?, let direction?, _):
          guard let reference = sets[name], ["src", "dst"].contains(direction) else { throw bad }
          let key = "\(addressKeyword) \(direction == "src" ? "saddr" : "daddr")"
          switch reference {
          case .empty: return []
          case .inline(let elements):
            guard inline == nil else { throw bad }
            inline = (parts.count, key, elements)
            parts.append("")
          case .named(let set): parts.append("\(key) @\(set)")
          }
          i += 5
        default:
          throw bad
        }
      default:
        throw bad
      }
    }
    parts.append(try verdict(rule.target, bad))
    guard let inline else { return [parts.joined(separator: " ")] }
    return inline.elements.map { element in
      var one = parts
      one[inline.index] = "\(inline.key) \(element)"
      return one.joined(separator: " ")
    }
  }

  func verdict(_ target: [String], _ bad: NftCompiler.Failure) throws(NftCompiler.Failure) -> String {
    switch (target.first, target.count) {
    case ("-j", 2):
      switch target[1] {
      case "RETURN": return "return"
      case "DROP": return "drop"
      case "ACCEPT": return "accept"
      case let chain where chain.hasPrefix(ChainNamer.prefix): return "jump \(chainName(chain))"
      default: throw bad
      }
    case ("-g", 2) where target[1].hasPrefix(ChainNamer.prefix):
      return "goto \(chainName(target[1]))"
    case ("-j", 4) where target[1] == "REJECT" && target[2] == "--reject-with":
      switch target[3] {
      case "icmp-admin-prohibited": return "reject with icmp type admin-prohibited"
      case "icmp6-adm-prohibited": return "reject with icmpv6 type admin-prohibited"
      default: throw bad
      }
    case ("-j", _) where target.count >= 4 && target[1] == "NFLOG" && target[2] == "--nflog-prefix":
      let group = target.count == 6 && target[4] == "--nflog-group" ? target[5] : "0"
      guard target.count == 4 || target.count == 6, Self.isQuoted(target[3]), Int(group) != nil else { throw bad }
      return "log prefix \(target[3]) group \(group)"
    case ("-j", 4) where target[1] == "LOG" && target[2] == "--log-prefix" && Self.isQuoted(target[3]):
      return "log prefix \(target[3])"
    case ("-j", 4) where target[1] == "MARK" && target[2] == "--set-xmark":
      // iptables' xmark: clear the mask's bits, then xor the value in.
      guard let (value, mask) = Self.valueMask(target[3]) else { throw bad }
      if value == mask { return "meta mark set meta mark | \(Self.hex(value))" }
      if value == 0 { return "meta mark set meta mark & \(Self.hex(~mask))" }
      throw bad
    default:
      throw bad
    }
  }

  /// A log prefix as policyc writes it: quoted, nothing inside that could
  /// end the string.
  static func isQuoted(_ token: String) -> Bool {
    token.count >= 2 && token.hasPrefix("\"") && token.hasSuffix("\"") && !token.dropFirst().dropLast().contains("\"")
      && !token.contains("\n")
  }

  /// `0x800000/0x800000` -> (value, mask).
  static func valueMask(_ spec: String) -> (UInt32, UInt32)? {
    let parts = spec.split(separator: "/")
    guard parts.count == 2, let value = hexValue(parts[0]), let mask = hexValue(parts[1]) else { return nil }
    return (value, mask)
  }

  static func hexValue(_ text: Substring) -> UInt32? {
    text.hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
  }

  /// Eight hex digits, as `nft list` prints marks.
  static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
  }
}
