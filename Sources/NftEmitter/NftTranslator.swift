import PolicyModel
import RuleModel

/// Lowers one family's typed chains into nft rules: the model's matches and
/// actions in nft's spelling, the set uses the table decided (named, inline
/// or empty), and the dispatch chains as verdict maps.
struct NftTranslator {
  let family: IPAddress.Family
  let sets: [String: SetUse]

  /// `EP-XXXX` -> `v4-EP-XXXX`: both families share one table.
  func chainName(_ stem: String) -> String { (family == .ipv4 ? "v4-" : "v6-") + stem }

  var addressKeyword: String { family == .ipv4 ? "ip" : "ip6" }

  func chain(_ chain: Chain) throws(NftCompiler.Failure) -> NftChain {
    if chain.role == .dispatch {
      return NftChain(name: chainName(chain.name), owner: chain.owner, rules: try dispatch(chain))
    }
    var rules: [NftRule] = []
    for rule in chain.rules {
      rules += try translate(rule).map { NftRule(text: $0, comment: rule.comment) }
    }
    return NftChain(name: chainName(chain.name), owner: chain.owner, rules: rules)
  }

  /// The per-pod dispatch (one `goto` per pod address) as one verdict map:
  /// a hash lookup instead of a scan of every local pod.
  func dispatch(_ chain: Chain) throws(NftCompiler.Failure) -> [NftRule] {
    var field: AddressField?
    var entries: [(IPAddress, String)] = []
    var seen = Set<IPAddress>()
    for rule in chain.rules {
      guard rule.matches.count == 1, case .address(let ruleField, .host(let ip)) = rule.matches[0],
        case .goto(let target) = rule.action, field == nil || field == ruleField
      else { throw .untranslatable("\(rule)") }
      field = ruleField
      // Two pods with one address: iptables' first rule wins, and a map
      // takes each key once (a second one fails the whole load).
      guard seen.insert(ip).inserted else { continue }
      entries.append((ip, "\(ip) : goto \(chainName(target))"))
    }
    guard let field, !entries.isEmpty else { return [] }
    // One entry per line, by address, as `nft list` prints them.
    let lines = entries.sorted { $0.0 < $1.0 }.map { "\t\t\t\($0.1)" }.joined(separator: ",\n")
    return [NftRule(text: "\(key(field)) vmap {\n\(lines)\n\t\t}", comment: nil)]
  }

  func key(_ field: AddressField) -> String { "\(addressKeyword) \(field == .source ? "saddr" : "daddr")" }

  /// The nft text of a rule: none when it can never match (an empty set),
  /// one per element when its set is written inline.
  func translate(_ rule: Rule) throws(NftCompiler.Failure) -> [String] {
    var parts: [String] = []
    var inline: (index: Int, key: String, elements: [String])?
    for match in rule.matches {
      switch match {
      case .address(let field, .set(let name)):
        guard let use = sets[name] else { throw .untranslatable("\(rule)") }
        switch use {
        case .empty: return []
        case .inline(let elements):
          // One inline set per rule: two would multiply.
          guard inline == nil else { throw .untranslatable("\(rule)") }
          inline = (parts.count, key(field), elements)
          parts.append("")
        case .named(let set): parts.append("\(key(field)) @\(set)")
        }
      case .address(let field, let value):
        parts.append("\(key(field)) \(address(value))")
      case .transport(let proto, nil):
        parts.append("meta l4proto \(proto.lowercased)")
      case .transport(let proto, let ports?):
        let range = ports.count == 1 ? "\(ports.lowerBound)" : "\(ports.lowerBound)-\(ports.upperBound)"
        parts.append("\(proto.lowercased) dport \(range)")
      case .icmpv6(let type):
        parts.append("icmpv6 type \(type)")
      case .conntrack(let states):
        parts.append("ct state \(states.map { $0.rawValue.lowercased() }.sorted().joined(separator: ","))")
      case .mark(let value, let mask):
        parts.append("meta mark & \(Self.hex(mask)) == \(Self.hex(value))")
      }
    }
    parts.append(verdict(rule.action))
    guard let inline else { return [parts.joined(separator: " ")] }
    return inline.elements.map { element in
      var one = parts
      one[inline.index] = "\(inline.key) \(element)"
      return one.joined(separator: " ")
    }
  }

  /// `10.0.0.1`, `10.0.0.0/8` (a full-length prefix is one address).
  func address(_ value: AddressMatch) -> String {
    switch value {
    case .host(let ip): return ip.description
    case .prefix(let cidr) where cidr.prefix == cidr.family.bits: return cidr.network.description
    case .prefix(let cidr): return cidr.description
    case .set(let name): return "@\(name)"
    }
  }

  func verdict(_ action: Action) -> String {
    switch action {
    case .return: return "return"
    case .drop: return "drop"
    case .accept: return "accept"
    case .jump(let chain): return "jump \(chainName(chain))"
    case .goto(let chain): return "goto \(chainName(chain))"
    case .reject(.adminProhibited):
      return family == .ipv4 ? "reject with icmp type admin-prohibited" : "reject with icmpv6 type admin-prohibited"
    case .mark(.set(let bits)): return "meta mark set meta mark | \(Self.hex(bits))"
    case .mark(.clear(let bits)): return "meta mark set meta mark & \(Self.hex(~bits))"
    case .log(let log):
      // The burst iptables uses by default, spelled out.
      let limit = "limit rate \(log.rate)/\(log.unit.rawValue) burst 5 packets"
      switch log.target {
      case .nflog(let group): return "\(limit) log prefix \"\(log.prefix)\" group \(group)"
      case .log: return "\(limit) log prefix \"\(log.prefix)\""
      }
    }
  }

  /// Eight hex digits, as `nft list` prints marks.
  static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
  }
}
