import Foundation
import IptablesEmitter
import NftEmitter
import NodeApply
import PolicyModel
import RuleModel
import Synchronization

/// Which kernel interface the agent loads.
public enum AgentBackend: String, Sendable {
  case iptables, nft
}

/// Each family's sets as last lowered (iptables), for the next lowering:
/// a pure cache of the lowering, whatever the kernel holds.
final class LoweredSets: Sendable {
  let memo = Mutex<[IPAddress.Family: IptablesLowering.SetMemo]>([:])
  /// Pod sets' host members by set name (the family's tag is in it), with
  /// the model set they came from, for the next `podSets`.
  let hosts = Mutex<[String: (model: AddressSet, hosts: Set<IPAddress>)]>([:])

  func lower(_ model: RuleSet) -> IptablesRuleSet {
    memo.withLock { IptablesLowering.ruleSet(model, reusing: &$0[model.family, default: .init()]) }
  }

  /// `PodSets(model:...)`, taking the members of each set unchanged since
  /// the last call from it instead of hashing 50,000 addresses again.
  func podSets(_ model: RuleSet, state: ApplyState?, statePath: String?) -> PodSets {
    hosts.withLock { memo in
      var next: [String: (model: AddressSet, hosts: Set<IPAddress>)] = [:]
      for (name, entry) in memo where entry.model.family != model.family { next[name] = entry }
      let sets = PodSets(model: model, state: state, statePath: statePath) { set in
        let hosts = memo[set.name].flatMap { $0.model == set ? $0.hosts : nil } ?? PodSets.hosts(set)
        next[set.name] = (set, hosts)
        return hosts
      }
      memo = next
      return sets
    }
  }
}

/// What one apply did, for the sync log line and the metrics.
public struct ApplyOutcome: Sendable {
  public var changed: Bool
  public var summary: String
  public var rules = 0
  public var sets = 0
  public var setMembers = 0
  public var compileTime: Duration = .zero
  /// Of `compileTime`: lowering the model, reading the kernel, planning.
  public var lowerTime: Duration = .zero
  public var readTime: Duration = .zero
  public var planTime: Duration = .zero
  public var applyTime: Duration = .zero
  /// Policy chains taken from the kept ones, and built.
  public var chainsReused = 0
  public var chainsBuilt = 0
  /// nft: the table was loaded without listing it afterwards, so the
  /// recorded listing is gone and the resync reloads instead of comparing.
  public var listingStale = false
  /// iptables: each family's host sets and state, for pod updates applied
  /// as member changes until the next compile.
  var podSets: [PodSets] = []
}

/// Compiles the cluster and loads it through NodeApply, remembering what
/// it loaded under the state folder: NodeApply's state files (iptables),
/// the loaded table text (nft), and a snapshot of the objects, so that a
/// restarted agent can put the last applied rules back before it syncs.
public struct Enforcer: Sendable {
  public var backend: AgentBackend
  public var families: [IPAddress.Family]
  public var options: EmitOptions
  public var stateDirectory: String
  public var applier: NodeApplier
  /// Each policy's chains from the last compiles, for the next: after a
  /// policy change only the changed policies are compiled.
  public let kept = KeptChains()
  let loweredSets = LoweredSets()
  /// Each chain's rule lines as the last plan rendered them (iptables).
  let renderedChains = RenderedChains()
  /// nft: the table in force as this agent's loads left it, for the
  /// incremental load of the next compile.
  public let lastNft = NftMemory()

  public init(
    backend: AgentBackend, families: [IPAddress.Family], options: EmitOptions, stateDirectory: String,
    applier: NodeApplier
  ) {
    self.backend = backend
    self.families = families
    self.options = options
    self.stateDirectory = stateDirectory
    self.applier = applier
  }

  /// The objects behind the last successful apply.
  public var record: AppliedRecord { AppliedRecord(directory: stateDirectory) }
  var nftListingPath: String { stateDirectory + "/nft.list" }
  func statePath(_ family: IPAddress.Family) -> String {
    stateDirectory + (family == .ipv6 ? "/apply6.state" : "/apply.state")
  }

  func options(for family: IPAddress.Family) -> EmitOptions {
    var options = options
    options.family = family
    options.useIPSets = true
    return options
  }

  /// Compiles and applies `cluster`. With `fromScratch`, NodeApply's state
  /// is ignored and everything is reloaded (the repair after drift). With
  /// `known`, each family's state as this agent's last apply and member
  /// updates left it (iptables), the plan is made from it without reading
  /// the kernel; if that plan fails, the kernel is read and everything
  /// loaded. For nft, `lastApplyInForce` (the agent's own last load and
  /// element updates succeeded) spares the listings of the table around
  /// the load; `nft -f` loads all or nothing, so no read is needed to undo.
  public func apply(
    _ cluster: Cluster, fromScratch: Bool = false, known: [ApplyState]? = nil, lastApplyInForce: Bool = false
  ) async throws -> ApplyOutcome {
    let clock = ContinuousClock()
    let started = clock.now
    // Chains kept from the last compile only when it had the same pods.
    let kept = self.kept.admits(cluster) ? self.kept : nil
    switch backend {
    case .iptables:
      var prepared: [(NodeApplier.IptablesPrepared, statePath: String?)] = []
      var models: [RuleSet] = []
      var outcome = ApplyOutcome(changed: false, summary: "")
      var ruleSets: [IptablesRuleSet] = []
      let known = fromScratch || known?.count != families.count ? nil : known
      for (index, family) in families.enumerated() {
        let compiling = clock.now
        let model = try RuleCompiler.compile(cluster, options: options(for: family), kept: kept)
        models.append(model)
        let lowering = clock.now
        let ruleSet = loweredSets.lower(model)
        outcome.lowerTime += clock.now - lowering
        outcome.compileTime += lowering - compiling
        outcome.rules += ruleSet.ruleCount
        outcome.sets += ruleSet.sets.count
        outcome.setMembers += ruleSet.sets.reduce(0) { $0 + $1.members.count }
        ruleSets.append(ruleSet)
        let path = statePath(family)
        let planned =
          if let known { applier.prepare(ruleSet, trusting: known[index], rendered: renderedChains) } else {
            try await applier.prepare(ruleSet, state: fromScratch ? nil : StateFile.read(path))
          }
        outcome.readTime += planned.readTime
        outcome.planTime += planned.planTime
        prepared.append((planned, path))
      }
      let loading = clock.now
      if prepared.allSatisfy({ $0.0.plan.isNoop }) {
        outcome.summary = "no change"
      } else {
        // The agent's cluster is the API's, not a possibly truncated input:
        // a large drop (a drained node) is real, so it is not refused.
        let reports = try await commit(&prepared, reloading: ruleSets)
        outcome.changed = true
        outcome.summary = reports.map(\.summary).joined(separator: "; ")
      }
      outcome.applyTime = clock.now - loading
      (outcome.chainsReused, outcome.chainsBuilt) = self.kept.takeCounts()
      outcome.podSets = zip(models, prepared).map { model, prepared in
        loweredSets.podSets(model, state: prepared.0.plan.newState, statePath: statePath(model.family))
      }
      return outcome
    case .nft:
      let models = try NftCompiler.models(cluster, options: options(for: .ipv4), kept: kept)
      let lowering = clock.now
      let ruleSet = try lastNft.lower(models)
      var outcome = ApplyOutcome(changed: false, summary: "")
      outcome.rules = ruleSet.ruleCount
      outcome.sets = ruleSet.sets.count
      outcome.setMembers = ruleSet.elementCount
      var reading = fromScratch || !lastApplyInForce
      var fallback = ""
      let planning = clock.now
      outcome.lowerTime = planning - lowering
      if !reading, let last = lastNft.current, let delta = NftDelta.plan(from: last, to: ruleSet) {
        outcome.compileTime = clock.now - started
        outcome.planTime = clock.now - planning
        let loading = clock.now
        do {
          let report = try await applier.load(delta)
          lastNft.remember(ruleSet)
          if report.changed {
            // The recorded text and listing are no longer the table in force:
            // the next full load and the next resync reload it whole.
            unlink(stateDirectory + "/nft.rules")
            unlink(nftListingPath)
            outcome.listingStale = true
          }
          outcome.changed = report.changed
          outcome.summary = report.summary
          outcome.applyTime = clock.now - loading
          (outcome.chainsReused, outcome.chainsBuilt) = self.kept.takeCounts()
          outcome.podSets = models.map { loweredSets.podSets($0, state: nil, statePath: nil) }
          return outcome
        } catch {
          // Nothing changed (one transaction): read the kernel, load it all.
          fallback = "incremental load failed (\(error)); "
          reading = true
        }
      }
      lastNft.forget()
      let prepared = try await applier.prepare(nft: ruleSet, readingKernel: reading)
      outcome.compileTime = clock.now - started
      let loading = clock.now
      let lastText = try? String(contentsOfFile: stateDirectory + "/nft.rules", encoding: .utf8)
      // Drift of the table in force is the resync's business (see `drift`).
      if !fromScratch, lastText == prepared.text {
        outcome.summary = "no change"
      } else {
        let report = try await applier.commit(prepared, force: true)
        outcome.changed = true
        outcome.summary = fallback + report.summary
        try? Self.write(prepared.text, to: stateDirectory + "/nft.rules")
        if reading {
          if let listed = try await applier.listedNftTable() { try? Self.write(listed, to: nftListingPath) }
        } else {
          unlink(nftListingPath)
          outcome.listingStale = true
        }
      }
      lastNft.remember(ruleSet)
      outcome.applyTime = clock.now - loading
      (outcome.chainsReused, outcome.chainsBuilt) = self.kept.takeCounts()
      outcome.podSets = models.map { loweredSets.podSets($0, state: nil, statePath: nil) }
      return outcome
    }
  }

  /// Commits `prepared`; when a plan made without reading the kernel
  /// fails, the kernel is not what the last apply left: it is read, and
  /// `ruleSets` loaded whole (`prepared` then holds that load).
  func commit(
    _ prepared: inout [(NodeApplier.IptablesPrepared, statePath: String?)], reloading ruleSets: [IptablesRuleSet]
  )
    async throws -> [ApplyReport]
  {
    var failure: ApplyError
    do {
      return try await applier.commit(prepared, force: true)
    } catch {
      failure = error
    }
    guard failure.fromMemory else { throw failure }
    prepared = []
    for (ruleSet, family) in zip(ruleSets, families) {
      prepared.append((try await applier.prepare(ruleSet, state: nil), statePath(family)))
    }
    return try await applier.commit(prepared, force: true)
  }

  /// Applies pod updates as member changes of each family's sets (see
  /// `PodUpdates`; the changes name the model's sets), bringing `sets`
  /// along. The iptables state files are left removed: `writeStates`
  /// puts them back, before anything reads them.
  func updateMembers(_ changes: [[SetMemberChange]], sets: inout [PodSets]) async throws -> ApplyOutcome {
    let clock = ContinuousClock()
    let started = clock.now
    var outcome = ApplyOutcome(changed: false, summary: "no change")
    var counts = (added: 0, removed: 0)
    func named(_ changes: [SetMemberChange], _ name: (String) -> String) -> [SetMemberChange] {
      changes.map { SetMemberChange(set: name($0.set), added: $0.added, removed: $0.removed) }
    }
    switch backend {
    case .iptables:
      for (index, familyChanges) in changes.enumerated() where !familyChanges.isEmpty {
        guard var state = sets[index].state else { throw ApplyError("no state of the last apply") }
        try await applier.updateMembers(
          named(familyChanges, IptablesLowering.name), state: &state, statePath: sets[index].statePath,
          writeState: false)
        sets[index].state = state
      }
    case .nft:
      let all = changes.flatMap { named($0, NftCompiler.podSetName) }
      if !all.isEmpty {
        // The recorded table is no longer the one in force: the next
        // compile reloads it, and so does the next resync.
        unlink(stateDirectory + "/nft.rules")
        do {
          try await applier.updateElements(all)
        } catch {
          lastNft.forget()
          throw error
        }
        lastNft.apply(all)
      }
    }
    for (index, familyChanges) in changes.enumerated() {
      for change in familyChanges {
        for member in change.added {
          if let ip = IPAddress(member) { sets[index].members[change.set, default: []].insert(ip) }
        }
        for member in change.removed { if let ip = IPAddress(member) { sets[index].members[change.set]?.remove(ip) } }
        counts.added += change.added.count
        counts.removed += change.removed.count
      }
    }
    // For members-only outcomes: the change in the node's member count.
    outcome.setMembers = counts.added - counts.removed
    if counts.added + counts.removed > 0 {
      outcome.changed = true
      outcome.summary = "set members only: \(counts.added) added, \(counts.removed) removed"
    }
    outcome.applyTime = clock.now - started
    return outcome
  }

  /// Writes each family's state kept in `sets` to its file.
  func writeStates(_ sets: [PodSets]) throws {
    for set in sets {
      if let state = set.state, let path = set.statePath { try StateFile.write(state, to: path) }
    }
  }

  /// How the kernel differs from the last apply of `cluster`; empty when
  /// it holds exactly that.
  public func drift(_ cluster: Cluster) async throws -> [String] {
    switch backend {
    case .iptables:
      var found: [String] = []
      for family in families {
        guard let state = StateFile.read(statePath(family)) else {
          found.append("\(family == .ipv6 ? "ipv6" : "ipv4"): no record of the last apply")
          continue
        }
        let ruleSet = try IptablesCompiler.compile(cluster, options: options(for: family))
        found += try await applier.drift(ruleSet, state: state).map { (family == .ipv6 ? "ipv6: " : "ipv4: ") + $0 }
      }
      return found
    case .nft:
      let recorded = try? String(contentsOfFile: nftListingPath, encoding: .utf8)
      guard let recorded else { return ["nft: no record of the last apply"] }
      guard let listed = try await applier.listedNftTable() else { return ["nft: table inet policyc is missing"] }
      return listed == recorded ? [] : ["nft: table inet policyc differs from the last apply"]
    }
  }

  /// Writes beside `path`, synced, and renames into place: a reader (or
  /// the agent after a reboot) sees the old file or the new one.
  static func write(_ text: String, to path: String) throws {
    try AtomicFile.write(text, to: path)
  }

  static func stateDirectory(of path: String) -> String {
    URL(fileURLWithPath: path).deletingLastPathComponent().path
  }
}
