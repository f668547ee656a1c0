import Foundation
import PolicyModel

@testable import NftEmitter

/// Random nft rule sets shaped like the agent's (address sets of both
/// kinds and families, chains that jump forward only, vmaps, comments),
/// each step changing part of the last: sets that come, go or change
/// members, chains that come, go or change rules, roots that move.
struct NftRuleSetMaker {
  struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  var random: Generator
  /// Per pool name: nil when absent.
  var sets: [String: NftSet] = [:]
  var chains: [String: [NftRule]] = [:]
  var roots = (v4: "v4-C0", v6: "v6-C0")

  static let setNames = ["pA", "pB", "pC", "s4-I1", "s4-I2", "s6-A1", "s6-I1"]
  static let chainCount = 7

  init(seed: UInt64) { random = Generator(state: seed) }

  static func chainName(_ family: IPAddress.Family, _ index: Int) -> String {
    "\(family == .ipv4 ? "v4" : "v6")-C\(index)"
  }

  mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

  mutating func elements(of name: String) -> [String] {
    let count = Int.random(in: 0...6, using: &random)
    let v6 = name.hasPrefix("s6")
    let interval = name.contains("-I")
    var picked = Set<Int>()
    for _ in 0..<count { picked.insert(Int.random(in: 1...40, using: &random)) }
    return picked.sorted().map { n in
      switch (v6, interval) {
      case (false, false): return "10.1.0.\(n)"
      case (false, true): return n % 2 == 0 ? "10.\(n).0.0/16" : "172.16.\(n).10-172.16.\(n).20"
      case (true, false): return "fd00::\(n)"
      case (true, true): return "fd00:\(n)::/32"
      }
    }
  }

  mutating func set(_ name: String) -> NftSet {
    NftSet(
      name: name, family: name.hasPrefix("s6") ? .ipv6 : .ipv4, interval: name.contains("-I"),
      elements: elements(of: name))
  }

  mutating func rules(_ family: IPAddress.Family, _ index: Int) -> [NftRule] {
    let ip = family == .ipv4 ? "ip" : "ip6"
    let later = (index + 1..<Self.chainCount).map { Self.chainName(family, $0) }.filter { chains[$0] != nil }
    let named = sets.values.filter { $0.family == family }.map(\.name).sorted()
    var out: [NftRule] = []
    for _ in 0..<Int.random(in: 0...4, using: &random) {
      let comment = chance(0.5) ? "ns-\(Int.random(in: 0...9, using: &random))/policy \"x\" ingress[0]" : nil
      switch Int.random(in: 0...4, using: &random) {
      case 0 where !named.isEmpty && !later.isEmpty:
        out.append(
          NftRule(
            text: "\(ip) saddr @\(named.randomElement(using: &random)!) jump \(later.randomElement(using: &random)!)",
            comment: comment))
      case 1 where later.count >= 2:
        let keys = family == .ipv4 ? ["10.0.0.1", "10.0.0.2"] : ["fd00::a", "fd00::b"]
        let map = zip(keys, later.shuffled(using: &random)).map { "\($0) : goto \($1)" }.joined(separator: ", ")
        out.append(NftRule(text: "\(ip) daddr vmap { \(map) }", comment: nil))
      case 2:
        out.append(NftRule(text: "tcp dport \(Int.random(in: 1...65535, using: &random)) accept", comment: comment))
      case 3:
        out.append(NftRule(text: "meta mark set meta mark | 0x00800000", comment: comment))
      default:
        out.append(
          NftRule(text: "\(ip) saddr \(family == .ipv4 ? "192.0.2.0/24" : "2001:db8::/32") drop", comment: comment))
      }
    }
    return out
  }

  /// The next rule set: about a third of everything changed.
  mutating func step() -> NftRuleSet {
    for name in Self.setNames where sets[name] == nil || chance(0.3) {
      sets[name] = chance(0.25) ? nil : set(name)
    }
    for family in [IPAddress.Family.ipv4, .ipv6] {
      for index in (0..<Self.chainCount).reversed() where chains[Self.chainName(family, index)] == nil || chance(0.3) {
        let name = Self.chainName(family, index)
        chains[name] = index > 1 && chance(0.25) ? nil : rules(family, index)
      }
    }
    if chance(0.2) { roots.v4 = roots.v4 == "v4-C0" ? "v4-C1" : "v4-C0" }
    // Rules that name a chain or set that went away go with it.
    for (name, rules) in chains {
      chains[name] = rules.filter { rule in
        let words = rule.text.split(separator: " ").map(String.init)
        return words.allSatisfy { raw in
          let word = raw.trimmingCharacters(in: CharacterSet(charactersIn: ",{}"))
          if word.hasPrefix("@") { return sets[String(word.dropFirst())] != nil }
          if word.hasPrefix("v4-C") || word.hasPrefix("v6-C") { return chains[word] != nil }
          return true
        }
      }
    }
    return ruleSet
  }

  var ruleSet: NftRuleSet {
    let chainList = (0..<Self.chainCount).flatMap { index in
      [IPAddress.Family.ipv4, .ipv6].compactMap { family -> NftChain? in
        let name = Self.chainName(family, index)
        return chains[name].map { NftChain(name: name, owner: "policyc", rules: $0) }
      }
    }
    return NftRuleSet(
      sets: sets.values.sorted { $0.name < $1.name }, chains: chainList,
      roots: [(.ipv4, roots.v4), (.ipv6, roots.v6)], summary: ["random"])
  }
}
