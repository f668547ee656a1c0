import IptablesEmitter
import NftEmitter
import PolicyModel

/// Loads compiled rules into a node's kernel, removes them, and refuses
/// what would fail open. The command line's `apply` and a long-running
/// agent call the same functions: `prepare` reads the kernel and plans
/// without changing anything (a dry run stops there), `commit` changes the
/// kernel all or nothing.
public struct NodeApplier: Sendable {
  public var tools: NodeTools
  public var runner: any CommandRunner

  public init(tools: NodeTools = NodeTools(), runner: any CommandRunner = ProcessRunner()) {
    self.tools = tools
    self.runner = runner
  }

  /// One family's iptables apply, read and planned; nothing changed yet.
  public struct IptablesPrepared: Sendable {
    public var plan: ApplyPlan
    public var family: IPAddress.Family
    /// Set when the apply would unenforce more than half of the enforced pods.
    public var drop: EnforcementDrop?
    /// What the kernel held before, for the rollback; nil for a plan made
    /// from the last apply's state without reading (`prepare(_:trusting:)`).
    var snapshot: IptablesSnapshot?
    /// Time spent reading the kernel (iptables-save, ipset save) and planning.
    public var readTime: Duration = .zero
    public var planTime: Duration = .zero
  }

  /// The nft table to load, and what it replaces.
  public struct NftPrepared: Sendable {
    public var text: String
    public var counts: (chains: Int, rules: Int, sets: Int, elements: Int)
    public var drop: EnforcementDrop?
    /// `nft list table inet policyc` before, or nil when there was none.
    var before: String?
    /// Whether `commit` lists the table after loading it, to tell whether
    /// it changed (not for a table prepared without reading the kernel).
    var listAfter = true
  }

  /// Reads the kernel (refusing when the nft backend is loaded) and plans.
  public func prepare(_ ruleSet: IptablesRuleSet, state: ApplyState?) async throws(ApplyError) -> IptablesPrepared {
    let clock = ContinuousClock()
    let started = clock.now
    try await refuseOtherBackend(loading: false)
    let snapshot = try await transaction(ruleSet.family).snapshot(needSets: !ruleSet.sets.isEmpty)
    let read = clock.now
    let plan = ApplyPlan.make(
      current: snapshot.saved, setNames: snapshot.sets.keys.sorted(), state: state, ruleSet: ruleSet)
    let drop = EnforcementDrop(
      before: EnforcedPods.iptables(snapshot.saved), after: EnforcedPods.iptables(RestoreWriter.render(ruleSet)))
    return IptablesPrepared(
      plan: plan, family: ruleSet.family, drop: drop, snapshot: snapshot, readTime: read - started,
      planTime: clock.now - read)
  }

  /// Each family's rule set (IPv4, then IPv6) read and planned against its
  /// state file, or against nothing when `full`; nothing changed yet. The
  /// state files are `state` for one family and `state`, `state.ipv6` for
  /// both (`StateFile.defaultPath` without `state`).
  public func prepare(_ ruleSets: [IptablesRuleSet], state: String?, full: Bool) async throws(ApplyError)
    -> [(IptablesPrepared, statePath: String?)]
  {
    var prepared: [(IptablesPrepared, statePath: String?)] = []
    for ruleSet in ruleSets {
      let path = StateFile.path(state, ipv6: ruleSet.family == .ipv6, alone: ruleSets.count == 1)
      prepared.append((try await prepare(ruleSet, state: full ? nil : StateFile.read(path)), path))
    }
    return prepared
  }

  /// Runs the plan all or nothing and then saves the state to `statePath`.
  /// A large drop is refused unless `force`.
  public func commit(_ prepared: IptablesPrepared, force: Bool, statePath: String?) async throws(ApplyError)
    -> ApplyReport
  {
    try await commit([(prepared, statePath)], force: force)[0]
  }

  /// Several families (IPv4, then IPv6) as one: every large drop is refused
  /// before anything changes, a family that fails rolls back the families
  /// loaded before it, and the state files are written only when all are in.
  public func commit(_ families: [(IptablesPrepared, statePath: String?)], force: Bool) async throws(ApplyError)
    -> [ApplyReport]
  {
    if !force, let drop = families.compactMap(\.0.drop).first { throw ApplyError(drop.message) }
    var reports: [ApplyReport] = []
    for (index, (prepared, _)) in families.enumerated() {
      let clock = ContinuousClock()
      let started = clock.now
      do {
        try await transaction(prepared.family).execute(prepared.plan, from: prepared.snapshot)
      } catch {
        var undo: [String] = []
        for (loaded, _) in families[..<index].reversed() {
          guard let snapshot = loaded.snapshot else {
            undo.append("\(Self.name(loaded.family)) keeps the new rules (planned without reading the kernel)")
            continue
          }
          undo.append("\(Self.name(loaded.family)) \(await transaction(loaded.family).rollback(to: snapshot))")
        }
        throw ApplyError(([error.message] + undo).joined(separator: "; "), fromMemory: error.fromMemory)
      }
      reports.append(ApplyReport(iptables: prepared.plan, family: prepared.family, took: clock.now - started))
    }
    for (index, (prepared, statePath)) in families.enumerated() {
      guard let statePath else { continue }
      do {
        try StateFile.write(prepared.plan.newState, to: statePath)
      } catch {
        // The old file would tell the next plan about members the sets no
        // longer hold; without one, the next apply reloads everything.
        _ = StateFile.remove(statePath)
        reports[index].warning = "cannot save state (the next apply reloads everything): \(error)"
      }
    }
    return reports
  }

  static func name(_ family: IPAddress.Family) -> String { family == .ipv6 ? "ipv6" : "ipv4" }

  /// Reads the kernel (refusing when the iptables backend is loaded) and
  /// the table in force.
  /// With `readingKernel` false, nothing is read, before or after the
  /// load (an agent that made the last load itself, and saw it succeed,
  /// knows what is in force; a large node's table lists slowly): no
  /// enforcement drop is computed and the report says it changed.
  public func prepare(nft ruleSet: NftRuleSet, readingKernel: Bool = true) async throws(ApplyError) -> NftPrepared {
    let text = NftWriter.render(ruleSet)
    guard readingKernel else {
      return NftPrepared(
        text: text, counts: (ruleSet.chains.count + 1, ruleSet.ruleCount, ruleSet.sets.count, ruleSet.elementCount),
        drop: nil, before: nil, listAfter: false)
    }
    try await refuseOtherBackend(loading: true)
    let before = try await nftTableLoaded() ? try await listNftTable() : nil
    return NftPrepared(
      text: text, counts: (ruleSet.chains.count + 1, ruleSet.ruleCount, ruleSet.sets.count, ruleSet.elementCount),
      drop: EnforcementDrop(before: EnforcedPods.nft(before ?? ""), after: EnforcedPods.nft(text)), before: before)
  }

  /// One `nft -f` transaction: the whole table replaced, or nothing.
  public func commit(_ prepared: NftPrepared, force: Bool) async throws(ApplyError) -> ApplyReport {
    if let drop = prepared.drop, !force { throw ApplyError(drop.message) }
    let clock = ContinuousClock()
    let started = clock.now
    do {
      _ = try await runner.run([tools.nft, "-f", "-"], input: prepared.text)
    } catch {
      throw ApplyError("cannot load the rules: \(error); nft loads all or nothing: the table in force is unchanged")
    }
    let took = clock.now - started
    let after = prepared.listAfter ? try? await listNftTable() : nil
    return ApplyReport(nft: prepared.counts, changed: after == nil || after != prepared.before, took: took)
  }

  func listNftTable() async throws(ApplyError) -> String {
    do {
      return try await runner.run([tools.nft, "list", "table", "inet", NftRuleSet.table], input: nil)
    } catch {
      throw ApplyError("cannot read table inet \(NftRuleSet.table): \(error); nothing changed")
    }
  }

  func transaction(_ family: IPAddress.Family) -> IptablesTransaction {
    IptablesTransaction(runner: runner, tools: tools, family: family)
  }
}

/// What an apply did, in one line for the user and one for --verbose.
public struct ApplyReport: Sendable {
  public var changed: Bool
  /// `ipv4: loaded 3 chains, ...` or `ipv4: no change`.
  public var summary: String
  /// The --verbose line, with counts and the kernel load time.
  public var details: String
  /// A problem that did not undo the apply (the state file could not be written).
  public var warning: String?

  init(iptables plan: ApplyPlan, family: IPAddress.Family, took: Duration) {
    let name = family == .ipv6 ? "ipv6" : "ipv4"
    changed = !plan.isNoop
    let sets = [
      (plan.createdSets.count, "created"), (plan.swappedSets.count, "swapped"), (plan.updatedSets.count, "updated"),
      (plan.staleSets.count, "removed"),
    ].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
    var parts = ["loaded \(Wording.count(plan.loadedChains.count, "chain"))"]
    if !plan.staleChains.isEmpty { parts.append("removed \(plan.staleChains.count)") }
    if !sets.isEmpty { parts.append("sets " + sets.joined(separator: ", ")) }
    summary =
      changed
      ? "\(name): \(plan.full ? "full" : "incremental") apply, " + parts.joined(separator: ", ") : "\(name): no change"
    details =
      "\(family == .ipv6 ? "ipv6 " : "")\(plan.full ? "full" : "incremental") apply: \(Wording.count(plan.loadedChains.count, "chain")) loaded, \(plan.staleChains.count) removed; sets: \(plan.createdSets.count) created, \(plan.swappedSets.count) swapped, \(plan.updatedSets.count) updated, \(plan.staleSets.count) removed; kernel load \(Self.milliseconds(took)) ms"
  }

  init(nft counts: (chains: Int, rules: Int, sets: Int, elements: Int), changed: Bool, took: Duration) {
    self.changed = changed
    summary =
      changed
      ? "nft: table inet \(NftRuleSet.table) loaded, \(Wording.count(counts.chains, "chain")), \(Wording.count(counts.rules, "rule")), \(Wording.count(counts.sets, "set"))"
      : "nft: no change"
    details =
      "nft apply: table inet \(NftRuleSet.table) replaced: \(Wording.count(counts.chains, "chain")), \(Wording.count(counts.rules, "rule")), \(Wording.count(counts.sets, "set")), \(Wording.count(counts.elements, "element")); kernel load \(Self.milliseconds(took)) ms"
  }

  static func milliseconds(_ took: Duration) -> Int {
    Int((Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15).rounded())
  }
}

extension NodeApplier.IptablesPrepared {
  /// What a dry run prints: the steps' scripts in order, or "nothing to do".
  public var dryRunText: String {
    let name = family == .ipv6 ? "ipv6" : "ipv4"
    var out = ""
    if let drop { out += "# policyc apply --dry-run: \(name): refused without --force: \(drop.message)\n" }
    if plan.isNoop { return out + "# policyc apply --dry-run: \(name): nothing to do (the kernel holds these rules)\n" }
    out += "# policyc apply --dry-run: \(plan.full ? "full" : "incremental") load\n"
    for (title, text) in [
      ("ipset restore (prepare)", plan.stageSets), ("ipset restore (commit)", plan.commitSets),
      ("iptables-restore --noflush", plan.restoreText), ("ipset restore (cleanup)", plan.cleanupSets),
    ] where !text.isEmpty {
      out += "# \(title)\n\(text)"
    }
    return out
  }
}
