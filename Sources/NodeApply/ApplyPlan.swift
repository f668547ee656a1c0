import IptablesEmitter
import RuleModel

/// Plans a live update from what the kernel shows now (`iptables-save -t
/// filter`, `ipset list -n`) and what policyc loaded last (`ApplyState`).
///
/// The steps, run in this order by `policyc apply`:
/// 1. `stageSets`: new sets, and changed sets filled under temporary names
///    (nothing live changes; on failure, `abortSets` removes them);
/// 2. `commitSets`: swaps, or small member deltas (adds before deletes, so
///    a set is never briefly empty);
/// 3. `restoreText`: one `iptables-restore --noflush` transaction with the
///    changed chains, deletes of stale chains, and exactly one hook jump;
///    on failure, `rollbackSets` undoes step 2 and `abortSets` step 1;
/// 4. `cleanupSets`: the temporaries (now holding old members) and stale sets.
/// Nothing that is not policyc's is named in any of them.
public struct ApplyPlan: Sendable {
  public var stageSets = ""
  public var commitSets = ""
  public var rollbackSets = ""
  public var abortSets = ""
  public var restoreText = ""
  public var cleanupSets = ""
  public var newState: ApplyState
  public var staleChains: [String] = []
  public var loadedChains: [String] = []
  public var addedHooks: [IptablesHook] = []
  public var removedDuplicateHooks = 0
  public var swappedSets: [String] = []
  public var updatedSets: [String] = []
  public var createdSets: [String] = []
  public var staleSets: [String] = []

  /// Full when there is no trustworthy state: every chain is redefined and
  /// every existing set swapped.
  public var full: Bool

  public static func make(
    current saved: String, setNames: [String] = [], state: ApplyState? = nil, ruleSet: IptablesRuleSet
  )
    -> ApplyPlan
  {
    // Sets of the other address family belong to that family's apply.
    let other = IPSetDefinition.namePrefix(ruleSet.family == .ipv4 ? .ipv6 : .ipv4)
    let setNames = setNames.filter { !$0.hasPrefix(other) }
    let fingerprint = ApplyState.fingerprint(savedFilter: saved, setNames: setNames)
    let trusted = state.flatMap { $0.fingerprint == fingerprint ? $0 : nil }
    let (existing, hookCounts) = scan(saved, hooks: ruleSet.hooks)
    return make(existing: existing, setNames: Set(setNames), hookCounts: hookCounts, trusted: trusted, ruleSet: ruleSet)
  }

  /// A plan from the state of the last apply alone, without reading the
  /// kernel: its chains and sets are taken to be exactly what the kernel
  /// holds of policyc's, with each hook in place once. Only the one who
  /// made that apply (and saw it succeed) can know that; anything else
  /// (drift, a failed step) is for `make(current:...)`, which reads.
  /// `rendered` keeps each chain's lines for the next plan of the same
  /// caller (an agent plans after every change, and most chains are the
  /// ones it rendered a moment ago).
  public static func make(trusting state: ApplyState, ruleSet: IptablesRuleSet, rendered: RenderedChains? = nil)
    -> ApplyPlan
  {
    let hookCounts = Dictionary(uniqueKeysWithValues: ruleSet.hooks.map { ($0, 1) })
    return make(
      existing: Set(state.chainHashes.keys), setNames: Set(state.sets.keys), hookCounts: hookCounts, trusted: state,
      ruleSet: ruleSet, memo: rendered)
  }

  static func make(
    existing: Set<String>, setNames: Set<String>, hookCounts: [IptablesHook: Int], trusted: ApplyState?,
    ruleSet: IptablesRuleSet, memo: RenderedChains? = nil
  ) -> ApplyPlan {
    var plan = ApplyPlan(newState: ApplyState(fingerprint: "", chainHashes: [:], sets: [:]), full: trusted == nil)
    plan.planSets(ruleSet.sets, existing: setNames, state: trusted)
    let rendered = plan.planChains(ruleSet, existing: existing, hookCounts: hookCounts, state: trusted, memo: memo)
    // What iptables-save will show afterwards: our lines are spelled as it
    // prints them (each chain's, rendered once for its hash).
    let lines = rendered.joined()
    plan.newState.fingerprint = ApplyState.fingerprint(savedFilter: lines, setNames: ruleSet.sets.map(\.name))
    return plan
  }

  static func scan(_ saved: String, hooks: [IptablesHook]) -> (chains: Set<String>, hooks: [IptablesHook: Int]) {
    var chains = Set<String>()
    var counts: [IptablesHook: Int] = [:]
    var inFilter = false
    for raw in saved.split(separator: "\n", omittingEmptySubsequences: true) {
      let line = String(raw)
      if line.hasPrefix("*") {
        inFilter = line == "*filter"
        continue
      }
      guard inFilter else { continue }
      if line.hasPrefix(":" + ChainNamer.prefix) { chains.insert(String(line.dropFirst().prefix { $0 != " " })) }
      for hook in hooks where line == "-A \(hook.builtin) -j \(hook.chain)" { counts[hook, default: 0] += 1 }
    }
    return (chains, counts)
  }

  mutating func planSets(_ wanted: [IPSetDefinition], existing: Set<String>, state: ApplyState?) {
    for set in wanted {
      let record = ApplyState.SetRecord(type: set.type.rawValue, maxelem: set.maxelem, members: set.members)
      let temp = IPSetWriter.tempName(set.name)
      guard existing.contains(set.name) else {
        stageSets += set.createLine + "\n" + set.members.map { "add \(set.name) \($0)\n" }.joined()
        abortSets += "destroy \(set.name)\n"
        createdSets.append(set.name)
        newState.sets[set.name] = record
        continue
      }
      if let old = state?.sets[set.name], old.type == set.type.rawValue {
        // Most sets are unchanged; comparing in order first spares hashing them.
        if old.members == set.members {
          newState.sets[set.name] = old
          continue
        }
        let before = Set(old.members)
        let after = Set(set.members)
        let added = set.members.filter { !before.contains($0) }
        let removed = old.members.filter { !after.contains($0) }
        if added.isEmpty && removed.isEmpty {
          newState.sets[set.name] = old
          continue
        }
        if added.count + removed.count <= max(64, set.members.count / 8), set.members.count <= old.maxelem {
          commitSets +=
            added.map { "add \(set.name) \($0)\n" }.joined()
            + removed.map { "del \(set.name) \(Self.key($0))\n" }.joined()
          rollbackSets +=
            removed.map { "add \(set.name) \($0)\n" }.joined()
            + added.map { "del \(set.name) \(Self.key($0))\n" }.joined()
          updatedSets.append(set.name)
          newState.sets[set.name] = ApplyState.SetRecord(type: old.type, maxelem: old.maxelem, members: set.members)
          continue
        }
      }
      stageSets += set.createLine(as: temp) + " -exist\nflush \(temp)\n"
      stageSets += set.members.map { "add \(temp) \($0)\n" }.joined()
      abortSets += "destroy \(temp)\n"
      commitSets += "swap \(temp) \(set.name)\n"
      rollbackSets += "swap \(temp) \(set.name)\n"
      cleanupSets += "destroy \(temp)\n"
      swappedSets.append(set.name)
      newState.sets[set.name] = record
    }
    let wantedNames = Set(wanted.map(\.name))
    for name in existing.sorted() where name.hasPrefix(ChainNamer.prefix) && !wantedNames.contains(name) {
      // A leftover temporary of a wanted set is recreated above; others go.
      if name.hasSuffix("-T"), wantedNames.contains(String(name.dropLast(2))),
        swappedSets.contains(String(name.dropLast(2)))
      {
        continue
      }
      cleanupSets += "destroy \(name)\n"
      staleSets.append(name)
    }
  }

  /// `del` takes the entry without the `nomatch` flag.
  static func key(_ member: String) -> String {
    member.hasSuffix(" nomatch") ? String(member.dropLast(" nomatch".count)) : member
  }

  /// Plans the chains; returns each chain's rule lines, in order.
  @discardableResult
  mutating func planChains(
    _ ruleSet: IptablesRuleSet, existing: Set<String>, hookCounts: [IptablesHook: Int], state: ApplyState?,
    memo: RenderedChains? = nil
  ) -> [String] {
    var text = "*filter\n"
    var body = ""
    var rendered: [String] = []
    rendered.reserveCapacity(ruleSet.chains.count)
    let chainLines = memo?.lines(of: ruleSet) ?? ruleSet.chains.map(RenderedChains.render)
    for (chain, (lines, hash)) in zip(ruleSet.chains, chainLines) {
      rendered.append(lines)
      newState.chainHashes[chain.name] = hash
      if let state, existing.contains(chain.name), state.chainHashes[chain.name] == hash { continue }
      loadedChains.append(chain.name)
      text += ":\(chain.name) - [0:0]\n"
      body += lines
    }
    let wanted = Set(ruleSet.chains.map(\.name))
    staleChains = existing.subtracting(wanted).sorted()
    // Declaring a stale chain flushes it, so its jumps are gone before the deletes.
    for chain in staleChains { text += ":\(chain) - [0:0]\n" }
    text += body
    for hook in ruleSet.hooks {
      let count = hookCounts[hook] ?? 0
      if count == 0 {
        text += "-I \(hook.builtin) 1 -j \(hook.chain)\n"
        addedHooks.append(hook)
      } else if count > 1 {
        for _ in 1..<count { text += "-D \(hook.builtin) -j \(hook.chain)\n" }
        removedDuplicateHooks += count - 1
      }
    }
    for chain in staleChains { text += "-X \(chain)\n" }
    restoreText = text + "COMMIT\n"
    return rendered
  }

  /// True when nothing in the kernel needs to change.
  public var isNoop: Bool {
    loadedChains.isEmpty && staleChains.isEmpty && addedHooks.isEmpty && removedDuplicateHooks == 0
      && stageSets.isEmpty && commitSets.isEmpty && cleanupSets.isEmpty
  }
}
