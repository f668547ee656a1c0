/// Plans a live update from what `iptables-save -t filter` shows now: one
/// restore transaction that redefines policyc's chains, deletes the ones no
/// longer needed, and leaves exactly one jump from each hook, touching
/// nothing that is not policyc's.
public struct ApplyPlan: Sendable {
  public var restoreText: String
  public var staleChains: [String]
  public var addedHooks: [IptablesHook]
  public var removedDuplicateHooks: Int

  public static func make(current saved: String, ruleSet: IptablesRuleSet) -> ApplyPlan {
    var existing = Set<String>()
    var hookCounts: [IptablesHook: Int] = [:]
    var inFilter = false
    for raw in saved.split(separator: "\n", omittingEmptySubsequences: true) {
      let line = String(raw)
      if line.hasPrefix("*") {
        inFilter = line == "*filter"
        continue
      }
      guard inFilter else { continue }
      if line.hasPrefix(":" + ChainNamer.prefix) {
        existing.insert(String(line.dropFirst().prefix { $0 != " " }))
      }
      for hook in ruleSet.hooks where line == "-A \(hook.builtin) -j \(hook.chain)" {
        hookCounts[hook, default: 0] += 1
      }
    }
    let wanted = Set(ruleSet.chains.map(\.name))
    let stale = existing.subtracting(wanted).sorted()
    var text = RestoreWriter.render(ruleSet, includeHooks: false)
    text.removeLast("COMMIT\n".count)
    // Declaring a stale chain flushes it, so its references to other
    // stale chains are gone before the deletes below.
    var declarations = ""
    for chain in stale { declarations += ":\(chain) - [0:0]\n" }
    if let insertAt = text.range(of: "*filter\n")?.upperBound {
      text.insert(contentsOf: declarations, at: insertAt)
    }
    var added: [IptablesHook] = []
    var removed = 0
    for hook in ruleSet.hooks {
      let count = hookCounts[hook] ?? 0
      if count == 0 {
        text += "-I \(hook.builtin) 1 -j \(hook.chain)\n"
        added.append(hook)
      } else if count > 1 {
        for _ in 1..<count { text += "-D \(hook.builtin) -j \(hook.chain)\n" }
        removed += count - 1
      }
    }
    for chain in stale { text += "-X \(chain)\n" }
    text += "COMMIT\n"
    return ApplyPlan(restoreText: text, staleChains: stale, addedHooks: added, removedDuplicateHooks: removed)
  }
}
