import IptablesEmitter
import PolicyModel
import RuleModel

extension NodeApplier {
  /// How the kernel differs from the last apply (`state`, saved when
  /// `ruleSet` was loaded): policyc's chains, rules or sets changed, a hook
  /// missing or doubled, a set's members changed. Empty when the kernel
  /// holds exactly what was applied. A long-running agent checks this
  /// periodically and reloads everything when it is not empty.
  public func drift(_ ruleSet: IptablesRuleSet, state: ApplyState) async throws(ApplyError) -> [String] {
    let snapshot = try await transaction(ruleSet.family).snapshot(needSets: !ruleSet.sets.isEmpty)
    var found: [String] = []
    let fingerprint = ApplyState.fingerprint(savedFilter: snapshot.saved, setNames: snapshot.sets.keys.sorted())
    if fingerprint != state.fingerprint {
      let chains = Set(FilterTable.policycChains(snapshot.saved).map(\.name))
      let missing = ruleSet.chains.map(\.name).filter { !chains.contains($0) }
      let missingSets = ruleSet.sets.map(\.name).filter { snapshot.sets[$0] == nil }
      var what = "policyc's rules differ from the last apply"
      if !missing.isEmpty { what += "; chains missing: " + missing.prefix(5).joined(separator: ", ") }
      if !missingSets.isEmpty { what += "; sets missing: " + missingSets.prefix(5).joined(separator: ", ") }
      found.append(what)
    }
    let (_, hooks) = ApplyPlan.scan(snapshot.saved, hooks: ruleSet.hooks)
    for hook in ruleSet.hooks where hooks[hook, default: 0] != 1 {
      found.append("\(hooks[hook, default: 0]) jumps from \(hook.builtin) to \(hook.chain), not 1")
    }
    func normal(_ member: String) -> String {
      member.hasSuffix("/32") || member.hasSuffix("/128") ? String(member.prefix { $0 != "/" }) : member
    }
    for (name, record) in state.sets.sorted(by: { $0.key < $1.key }) {
      guard let kernel = snapshot.sets[name] else { continue }
      if Set(kernel.members.map(normal)) != Set(record.members.map(normal)) {
        found.append("set \(name): members differ from the last apply")
      }
    }
    return found
  }

  /// `nft list table inet policyc`, or nil when the table is not loaded.
  public func listedNftTable() async throws(ApplyError) -> String? {
    try await nftTableLoaded() ? try await listNftTable() : nil
  }
}
