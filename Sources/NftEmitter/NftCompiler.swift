import PolicyModel
import RuleModel

/// Compiles a cluster into one nftables table holding both address
/// families.
///
/// The decisions are the rule model's (RuleCompiler runs once per family,
/// with sets), lowered into nft: chains keep their shape and names (`v4-`/
/// `v6-` before the model's stems), each set becomes a named nft set shared
/// by content (an except is subtracted from its block, so no `nomatch` is
/// needed), a set of up to three elements becomes one rule per element
/// (creating a set costs far more than loading a rule: on W2 this halves
/// the sets and the load time), an empty one removes the rule that can
/// never match, and the per-pod dispatch becomes one verdict-map lookup
/// instead of a linear scan.
public enum NftCompiler {
  public enum Failure: Error, CustomStringConvertible {
    case rules(RuleCompiler.Failure)
    case setNameCollision(String)
    /// The model names a set it does not hold, or a dispatch rule is not
    /// one address and one goto: a bug.
    case untranslatable(String)

    public var description: String {
      switch self {
      case .rules(let failure): return failure.description
      case .setNameCollision(let name): return "set name collision for \(name); please report this input"
      case .untranslatable(let rule): return "internal error: no nftables form for the rule \(rule); please report this"
      }
    }
  }

  /// Compiles of many nodes of one cluster may share a `memo` (see
  /// `RuleCompiler.compile`).
  public static func compile(
    _ cluster: Cluster, options: EmitOptions, memo: FleetMemo? = nil, kept: KeptChains? = nil
  ) throws(Failure) -> NftRuleSet {
    try lower(try models(cluster, options: options, memo: memo, kept: kept))
  }

  /// `compile`, with the node's policy chains of both families first built
  /// on up to `jobs` threads (`RuleCompiler.warm`): the same ruleset.
  public static func compile(_ cluster: Cluster, options: EmitOptions, jobs: Int) throws(Failure) -> NftRuleSet {
    guard jobs > 1 else { return try compile(cluster, options: options) }
    let memo = FleetMemo()
    for family in [IPAddress.Family.ipv4, .ipv6] {
      RuleCompiler.warm(memo, cluster: cluster, options: modelOptions(options, family), jobs: jobs)
    }
    return try compile(cluster, options: options, memo: memo)
  }

  /// The options of one family's rule model: with sets.
  static func modelOptions(_ options: EmitOptions, _ family: IPAddress.Family) -> EmitOptions {
    var familyOptions = options
    familyOptions.family = family
    familyOptions.useIPSets = true
    return familyOptions
  }

  /// Each family's rule model, compiled with sets.
  public static func models(
    _ cluster: Cluster, options: EmitOptions, memo: FleetMemo? = nil, kept: KeptChains? = nil
  ) throws(Failure) -> [RuleSet] {
    var models: [RuleSet] = []
    for family in [IPAddress.Family.ipv4, .ipv6] {
      let familyOptions = modelOptions(options, family)
      do {
        models.append(try RuleCompiler.compile(cluster, options: familyOptions, memo: memo, kept: kept))
      } catch {
        throw .rules(error)
      }
    }
    return models
  }

  /// The nft name of a host set of selector peers kept by meaning (see
  /// `lower(_:podSetsByMeaning:)`): `p` and the model's name.
  public static func podSetName(_ modelName: String) -> String { "p" + modelName }

  /// One table from the rule sets of both families (each compiled with sets).
  ///
  /// With `podSetsByMeaning`, as the agent loads it, each host set of
  /// selector peers stays one named set called after its model set, even
  /// when it is small or empty, so a pod that joins or leaves it is an
  /// element change and never a rule change.
  public static func lower(_ models: [RuleSet], podSetsByMeaning: Bool = false) throws(Failure) -> NftRuleSet {
    var reused = PodSetMemo()
    return try lower(models, podSetsByMeaning: podSetsByMeaning, reusing: &reused)
  }

  /// The same, reusing the lowered pod sets of the last call (`memo`, which
  /// comes out holding this call's): a pod set whose model set is unchanged
  /// keeps its elements, without turning its addresses into text again (on
  /// W3, a fifth of an agent's policy sync).
  public static func lower(_ models: [RuleSet], podSetsByMeaning: Bool, reusing memo: inout PodSetMemo)
    throws(Failure) -> NftRuleSet
  {
    var next = PodSetMemo()
    defer { memo = next }
    var sets = SetTable()
    var chains: [NftChain] = []
    var roots: [(family: IPAddress.Family, chain: String)] = []
    var summary: [String] = []
    for model in models {
      var uses: [String: SetUse] = [:]
      for set in model.sets {
        if podSetsByMeaning, model.podDependence.setPeers[set.name] != nil {
          let name = podSetName(set.name)
          let lowered =
            if let last = memo.sets[name], last.model == set { last.set } else {
              NftSet(name: name, content: AddressIntervals(set))
            }
          next.sets[name] = (set, lowered)
          uses[set.name] = try sets.keep(lowered)
        } else {
          uses[set.name] = try sets.use(AddressIntervals(set))
        }
      }
      let translator = NftTranslator(family: model.family, sets: uses)
      for chain in model.chains {
        chains.append(try translator.chain(chain))
      }
      roots.append((model.family, translator.chainName(model.entry)))
      summary += model.summary.map { "\(model.family.nftName): \($0)" }
    }
    return NftRuleSet(sets: sets.all, chains: chains, roots: roots, summary: summary)
  }
}

/// How a rule uses a model set's addresses once it is an nft set.
enum SetUse: Sendable, Hashable {
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

  /// A set of single addresses under a name of its own, whatever it holds.
  mutating func keep(_ set: NftSet) throws(NftCompiler.Failure) -> SetUse {
    if let existing = byName[set.name], existing != set { throw .setNameCollision(set.name) }
    byName[set.name] = set
    return .named(set.name)
  }

  mutating func use(_ content: AddressIntervals) throws(NftCompiler.Failure) -> SetUse {
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

/// The pod sets one `lower` made, by nft name, with the model set each
/// came from: what the next `lower` of the agent may reuse.
public struct PodSetMemo: Sendable {
  var sets: [String: (model: AddressSet, set: NftSet)] = [:]
  public init() {}
}

extension NftSet {
  /// A set of single addresses under a name of its own, whatever it holds.
  init(name: String, content: AddressIntervals) {
    self.init(name: name, family: content.family, interval: false, elements: content.elements)
  }
}
