import IptablesEmitter
import PolicyModel

/// Compiles a cluster into one nftables table holding both address
/// families.
///
/// The decisions are the iptables backend's (the same IptablesCompiler runs
/// once per family, in ipset mode), lowered into nft: chains keep their
/// shape and names (`v4-`/`v6-` instead of `POLICYC-`), each ipset becomes
/// a named set shared by content (an except is subtracted from its block,
/// so no `nomatch` is needed), a set of up to three elements becomes one
/// rule per element (creating a set costs far more than loading a rule: on
/// W2 this halves the sets and the load time), an empty one removes the
/// rule that can never match, and the per-pod dispatch becomes one
/// verdict-map lookup instead of a linear scan.
public enum NftCompiler {
  public enum Failure: Error, CustomStringConvertible {
    case iptables(IptablesCompiler.Failure)
    case setNameCollision(String)
    /// policyc produced a rule the translation does not know: a bug.
    case untranslatable(String)

    public var description: String {
      switch self {
      case .iptables(let failure): return failure.description
      case .setNameCollision(let name): return "set name collision for \(name); please report this input"
      case .untranslatable(let rule): return "internal error: no nftables form for the rule \(rule); please report this"
      }
    }
  }

  public static func compile(_ cluster: Cluster, options: EmitOptions) throws(Failure) -> NftRuleSet {
    var sets = SetTable()
    var chains: [NftChain] = []
    var roots: [(family: IPAddress.Family, chain: String)] = []
    var summary: [String] = []
    for family in [IPAddress.Family.ipv4, .ipv6] {
      var familyOptions = options
      familyOptions.family = family
      familyOptions.useIPSets = true
      let ruleSet: IptablesRuleSet
      do {
        ruleSet = try IptablesCompiler.compile(cluster, options: familyOptions)
      } catch {
        throw .iptables(error)
      }
      var references: [String: SetReference] = [:]
      for definition in ruleSet.sets {
        // Pod addresses (hash:ip) stay single; blocks (hash:net) merge into intervals.
        guard
          let content = AddressIntervals(
            family: family, ipsetMembers: definition.members, merge: definition.type == .hashNet)
        else {
          throw .untranslatable("set \(definition.name) with members \(definition.members.prefix(3))")
        }
        references[definition.name] = try sets.reference(content)
      }
      let translator = NftTranslator(family: family, sets: references)
      for chain in ruleSet.chains {
        chains.append(try translator.chain(chain))
      }
      roots.append((family, translator.chainName("POLICYC-FORWARD")))
      summary += ruleSet.summary.map { "\(family.nftName): \($0)" }
    }
    return NftRuleSet(sets: sets.all, chains: chains, roots: roots, summary: summary)
  }
}

/// How a rule refers to an ipset's addresses once it is an nft set.
enum SetReference: Sendable {
  /// Matches nothing: the rule is left out.
  case empty
  /// A few addresses, prefixes or ranges, each written into a rule of its own.
  case inline([String])
  /// `@name`.
  case named(String)
}

/// Named sets by content: `s4-`/`s6-` and a hash of the elements.
struct SetTable {
  /// Sets this small become rules: one rule per element.
  static let inlineLimit = 3

  private var byName: [String: NftSet] = [:]

  var all: [NftSet] { byName.values.sorted { $0.name < $1.name } }

  mutating func reference(_ content: AddressIntervals) throws(NftCompiler.Failure) -> SetReference {
    let elements = content.elements
    if elements.isEmpty { return .empty }
    if elements.count <= Self.inlineLimit { return .inline(elements) }
    let tag = content.family == .ipv4 ? "4" : "6"
    let interval = !content.onlyAddresses
    let identity = ([tag, interval ? "i" : "a"] + elements).joined(separator: "\u{0}")
    let name = "s\(tag)-\(ChainNamer.base32(ChainNamer.mix(ChainNamer.fnv1a(identity))))"
    let set = NftSet(name: name, family: content.family, interval: interval, elements: elements)
    if let existing = byName[name], existing != set { throw .setNameCollision(name) }
    byName[name] = set
    return .named(name)
  }
}
