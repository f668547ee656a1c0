/// The `nft -f` script that turns policyc's table, as a load of `old` left
/// it, into what a load of `new` gives, touching only what differs: new
/// sets, element deltas of kept sets, new chains, the rules of changed
/// chains (flushed and filled again), and chains and sets no longer used.
///
/// Loading a whole W3 table costs nft hundreds of milliseconds, most of it
/// spent on the sets of every peer; a policy change touches a few chains.
/// The script is one file, so nft loads it in one transaction: all of it or
/// nothing, and the table in force never holds half of a change.
///
/// The order inside the file is the order the kernel checks references in:
/// sets and chains exist before a rule names them, and a chain or set is
/// deleted only after every rule that named it is flushed.
public struct NftDelta: Sendable, Equatable {
  public var text: String
  public var chainsAdded = 0
  /// Existing chains whose rules were replaced (the base chain included).
  public var chainsChanged = 0
  public var chainsRemoved = 0
  public var setsAdded = 0
  public var setsRemoved = 0
  public var elementsAdded = 0
  public var elementsRemoved = 0

  public var isEmpty: Bool { text.isEmpty }

  public var summary: String {
    "nft: incremental load, chains \(chainsAdded) added, \(chainsChanged) changed, \(chainsRemoved) removed; "
      + "sets \(setsAdded) added, \(setsRemoved) removed; elements \(elementsAdded) added, \(elementsRemoved) removed"
  }

  /// The name of the base chain `NftWriter` defines; regular chains start
  /// with `v4-` or `v6-`, so none is called that.
  static let baseChain = "forward"

  /// The script from `old` to `new`; nil when one cannot be written (a set
  /// kept its name but changed its type or flags, or a name is used twice):
  /// the caller then loads the whole table.
  public static func plan(from old: NftRuleSet, to new: NftRuleSet) -> NftDelta? {
    guard let oldSets = unique(old.sets, \.name), let newSets = unique(new.sets, \.name),
      let oldChains = unique(old.chains, \.name), let newChains = unique(new.chains, \.name),
      !newChains.keys.contains(baseChain)
    else { return nil }
    var delta = NftDelta(text: "")
    let table = "inet \(NftRuleSet.table)"
    var out = ""
    // 1. Sets: new ones with their elements, element deltas of kept ones.
    for set in new.sets {
      guard let before = oldSets[set.name] else {
        out += "add set \(table) \(set.name) { type \(set.type);"
        if set.interval { out += " flags interval;" }
        if !set.elements.isEmpty { out += " elements = { \(set.elements.joined(separator: ", ")) };" }
        out += " }\n"
        delta.setsAdded += 1
        continue
      }
      guard before.type == set.type, before.interval == set.interval else { return nil }
      // Most sets are as they were, element for element: no hashing of
      // the node's 50,000 addresses on every policy change.
      if before.elements == set.elements { continue }
      let had = Set(before.elements)
      let has = Set(set.elements)
      // Deletions first: an interval that replaces an overlapping one is
      // added after the old one is gone.
      let removed = before.elements.filter { !has.contains($0) }
      let added = set.elements.filter { !had.contains($0) }
      if !removed.isEmpty { out += "delete element \(table) \(set.name) { \(removed.joined(separator: ", ")) }\n" }
      if !added.isEmpty { out += "add element \(table) \(set.name) { \(added.joined(separator: ", ")) }\n" }
      delta.elementsRemoved += removed.count
      delta.elementsAdded += added.count
    }
    // 2. New chains, empty, so that any rule below may jump to them.
    for chain in new.chains where oldChains[chain.name] == nil {
      out += "add chain \(table) \(chain.name)\n"
      delta.chainsAdded += 1
    }
    // 3. Rules of new and changed chains, and of the base chain.
    for chain in new.chains {
      if let before = oldChains[chain.name] {
        if before.rules == chain.rules { continue }
        out += "flush chain \(table) \(chain.name)\n"
        delta.chainsChanged += 1
      }
      for rule in chain.rules { out += "add rule \(table) \(chain.name) \(NftWriter.statement(rule))\n" }
    }
    if !old.roots.elementsEqual(new.roots, by: { $0.family == $1.family && $0.chain == $1.chain }) {
      out += "flush chain \(table) \(baseChain)\n"
      for root in new.roots {
        out += "add rule \(table) \(baseChain) meta nfproto \(root.family.nftName) jump \(root.chain)\n"
      }
      delta.chainsChanged += 1
    }
    // 4. Chains no longer used: all flushed before any is deleted, since
    // they may jump to each other.
    let gone = old.chains.filter { newChains[$0.name] == nil }
    for chain in gone where !chain.rules.isEmpty { out += "flush chain \(table) \(chain.name)\n" }
    for chain in gone { out += "delete chain \(table) \(chain.name)\n" }
    delta.chainsRemoved = gone.count
    // 5. Sets no rule names any more.
    for set in old.sets where newSets[set.name] == nil {
      out += "delete set \(table) \(set.name)\n"
      delta.setsRemoved += 1
    }
    delta.text = out
    return delta
  }

  private static func unique<T>(_ items: [T], _ name: (T) -> String) -> [String: T]? {
    var byName: [String: T] = [:]
    for item in items {
      guard byName.updateValue(item, forKey: name(item)) == nil else { return nil }
    }
    return byName
  }
}
