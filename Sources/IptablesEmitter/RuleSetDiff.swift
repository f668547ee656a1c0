/// What changes in the restore file between two rule sets, grouped by the
/// policy (or pod) that owns each chain; unchanged content is left out.
public struct RuleSetDiff: Sendable {
  public struct OwnerChanges: Sendable {
    public var owner: String
    public var addedChains: [String]
    public var removedChains: [String]
    /// Rule lines (`-A CHAIN ...`) that appear and disappear.
    public var addedRules: [String]
    public var removedRules: [String]
  }

  public var owners: [OwnerChanges]
  public var isEmpty: Bool { owners.isEmpty }

  public static func compare(old: IptablesRuleSet, new: IptablesRuleSet) -> RuleSetDiff {
    func index(_ set: IptablesRuleSet) -> [String: IptablesChain] {
      Dictionary(set.chains.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }
    let a = index(old)
    let b = index(new)
    var byOwner: [String: OwnerChanges] = [:]
    func entry(_ owner: String) -> OwnerChanges {
      byOwner[owner] ?? OwnerChanges(owner: owner, addedChains: [], removedChains: [], addedRules: [], removedRules: [])
    }
    for name in Set(a.keys).union(b.keys).sorted() {
      let before = a[name]
      let after = b[name]
      let owner = (after ?? before)!.owner
      var e = entry(owner)
      let oldLines = before?.rules.map { RestoreWriter.line(chain: name, $0).dropLast() }.map(String.init) ?? []
      let newLines = after?.rules.map { RestoreWriter.line(chain: name, $0).dropLast() }.map(String.init) ?? []
      if before == nil { e.addedChains.append(name) }
      if after == nil { e.removedChains.append(name) }
      // Multiset difference: a rule counts as kept only as often as it stays.
      var remaining = Dictionary(oldLines.map { ($0, 1) }, uniquingKeysWith: +)
      for line in newLines {
        if let n = remaining[line], n > 0 { remaining[line] = n - 1 } else { e.addedRules.append(line) }
      }
      for line in oldLines where (remaining[line] ?? 0) > 0 {
        remaining[line]! -= 1
        e.removedRules.append(line)
      }
      if !(e.addedChains.isEmpty && e.removedChains.isEmpty && e.addedRules.isEmpty && e.removedRules.isEmpty) {
        byOwner[owner] = e
      }
    }
    return RuleSetDiff(owners: byOwner.values.sorted { $0.owner < $1.owner })
  }
}
