import Dispatch
import Foundation
import KubeClient
import Logging
import PolicyModel
import YAMLBridge

/// The agent's syncs: pod updates as set members, compiles, the state
/// files, resyncs.
extension Agent {
  // MARK: Syncing

  /// Puts the last applied rules back in force if the kernel lost them
  /// (a reboot, a flush), before anything is read from the API server.
  public func restoreLastApplied() async {
    let enforcer = enforcer
    let outcome: Result<String, any Error> = await Self.result {
      guard let cluster = enforcer.record.load().map({ Cluster($0.inventory) }) else {
        return "no last applied state in \(enforcer.stateDirectory); the first sync loads the rules"
      }
      let drift = try await enforcer.drift(cluster)
      if drift.isEmpty { return "the last applied rules are in force" }
      let result = try await enforcer.apply(cluster, fromScratch: true)
      return "restored the last applied rules (\(drift.joined(separator: "; "))): \(result.summary)"
    }
    switch outcome {
    case .success(let message): logger.info("\(message)")
    case .failure(let error):
      logger.error(
        "cannot restore the last applied rules; the kernel is left as it is", metadata: ["error": "\(error)"])
    }
  }

  /// Asks for a drift check at the next sync.
  public func requestResync() {
    resyncDue = true
    kick.yield()
  }

  /// Runs syncs as kicks arrive, until cancelled. Events are collected for
  /// the coalescing delay from the oldest one not yet in the kernel: one
  /// that arrived during the last sync has waited for it already.
  public func runSyncLoop() async {
    for await _ in kicks {
      let now = ContinuousClock.now
      let waited = pending.first.map { now - $0 } ?? .zero
      // After a failure, nothing before the retry's time, events or not.
      let wait = max(timing.coalesce - waited, (retryAt ?? now) - now)
      if wait > .zero {
        do { try await Task.sleep(for: wait) } catch { return }
      }
      await syncIfNeeded()
    }
  }

  func syncIfNeeded() async {
    guard listed.count == resources.count else { return }
    if dirty { await sync() }
    if resyncDue, !dirty { await checkDrift() }
  }

  func sync() async {
    let started = ContinuousClock.now
    let events = pending
    pending = []
    dirty = false
    let touches = touches
    self.touches = PodTouches(needsCompile: false)
    let addresses = podAddresses ?? PodAddresses(cache.pods.mapValues(\.value))
    podAddresses = addresses
    // No copy of the cache lives across an await: the first event after it
    // would copy the whole pod dictionary.
    let memberChanges = PodUpdates.plan(
      touches, node: enforcer.options.node, sets: podSets, addresses: addresses,
      pod: { self.cache.pods[$0]?.value }, namespace: { self.cache.namespaces[$0]?.value })
    // Pods elsewhere: set members, no compile. Otherwise the whole cluster
    // as it is now, read before anything is awaited.
    let membersOnlyPlanned = (try? memberChanges.get()) != nil
    // The chains kept from the last compile hold on only while every pod
    // change since reaches the kernel as member changes.
    if !membersOnlyPlanned { keptInStep = false }
    let current = !membersOnlyPlanned || touches.policiesChanged ? currentCluster() : nil
    var steps = ContinuousClock.now
    var phases: [String: Duration] = ["cluster_ms": steps - started]
    func phase(_ name: String) {
      let now = ContinuousClock.now
      phases[name, default: .zero] += now - steps
      steps = now
    }
    let changes = changes
    self.changes = []
    let generation = UUID().uuidString
    let snapshot = changes == nil ? cache.snapshotJSON(generation: generation) : nil
    let enforcer = enforcer
    // The record goes first: a crash between it and the kernel leaves a
    // record one apply ahead of the kernel (what the API says), never one
    // behind it.
    let recorded = await Self.blocking {
      try enforcer.record.record(snapshot: snapshot, generation: generation, changes: changes ?? [])
    }
    phase("record_ms")
    if case .failure(let error) = recorded {
      logger.warning("cannot record the objects to apply", metadata: ["error": "\(error)"])
      self.changes = nil
    }
    var membersOnly: Result<ApplyOutcome, any Error>?
    if case .success(let changes) = memberChanges {
      // With policy changes in the batch too, the pods go in first, as
      // members of the last compile's sets: the kernel then holds what a
      // compile of the old policies and the new pods gives, and pod updates
      // do not wait for the compile that follows.
      var sets = podSets
      updatingMembers = true
      let members = await Self.result { try await enforcer.updateMembers(changes, sets: &sets) }
      phase("members_ms")
      updatingMembers = false
      podSets = sets
      switch members {
      case .success(let outcome):
        for (index, familyChanges) in changes.enumerated() where index < sets.count {
          membersSinceCluster[sets[index].family, default: []].formUnion(familyChanges.map(\.set))
        }
        if outcome.changed, enforcer.backend == .nft { elementsUpdated = true }
        if outcome.changed, enforcer.backend == .iptables { scheduleStateFlush() }
        counts.setMembers += outcome.setMembers
        if !touches.policiesChanged { membersOnly = members }
      case .failure(let error):
        // The state files stay removed, as the update left them (the kernel
        // may hold part of it): compile and load everything now.
        statesDue = false
        podSets = []
        keptInStep = false
        logger.warning("set member update failed; compiling", metadata: ["error": "\(error)"])
      }
    }
    let result: Result<ApplyOutcome, any Error>
    if let membersOnly {
      result = membersOnly
    } else {
      // The state files member updates left removed are not written first:
      // the commit writes the new ones (and a flush follows a compile that
      // changes nothing). Until then a restart reads the kernel.
      compiling = true
      let (compiled, rebasedFrom) = current ?? currentCluster()
      if let rebasedFrom {
        // The same chains over the updated pods, with the members in force.
        if keptInStep {
          var members: [IPAddress.Family: [String: Set<IPAddress>]] = [:]
          for family in podSets {
            let changed = membersSinceCluster[family.family] ?? []
            members[family.family] = family.members.filter { changed.contains($0.key) }
          }
          enforcer.kept.rebase(from: rebasedFrom, to: compiled.generation, members: members)
        }
        phase("rebase_ms")
      }
      membersSinceCluster = [:]
      phase("cluster_ms")
      // What the last apply and the member updates since left in the
      // kernel: the plan starts from it instead of reading the kernel back.
      let states = podSets.compactMap(\.state)
      let known = states.isEmpty || states.count != podSets.count ? nil : states
      let inForce = !podSets.isEmpty
      result = await Self.result { try await enforcer.apply(compiled, known: known, lastApplyInForce: inForce) }
      compiling = false
      podSets = (try? result.get())?.podSets ?? []
      switch result {
      case .success(let outcome) where !outcome.changed: if statesDue { scheduleStateFlush() }
      default: statesDue = false
      }
      // The kernel holds the compile of `compiled`: pod changes from here on
      // go to it as member changes, or the next compile drops what was kept.
      keptInStep = (try? result.get()) != nil
      if case .success(let outcome) = result {
        if outcome.changed { elementsUpdated = outcome.listingStale }
        counts = (outcome.rules, outcome.sets, outcome.setMembers)
      }
    }
    let finished = ContinuousClock.now
    switch result {
    case .success(let outcome):
      failures = 0
      retryAt = nil
      syncCount += 1
      metrics.syncs.increment()
      metrics.syncDuration.record(finished - started)
      for arrival in events { metrics.eventToKernel.record(finished - arrival) }
      metrics.rules.set(Int64(counts.rules))
      metrics.sets.set(Int64(counts.sets))
      metrics.setMembers.set(Int64(counts.setMembers))
      metrics.lastSuccessfulSync.set(Date().timeIntervalSince1970)
      if !synced { logger.info("first sync done; ready") }
      synced = true
      health.update {
        $0.synced = true
        $0.lastApplyOK = true
      }
      logger.info(
        "sync",
        metadata: [
          "result": "\(outcome.summary)", "events": "\(events.count)", "pods": "\(cache.pods.count)",
          "policies": "\(cache.policies.count)", "admin_policies": "\(cache.admin.count + cache.baseline.count)",
          "rules": "\(counts.rules)", "sets": "\(counts.sets)", "set_members": "\(counts.setMembers)",
          "compile_ms": "\(Self.ms(outcome.compileTime))", "lower_ms": "\(Self.ms(outcome.lowerTime))",
          "read_ms": "\(Self.ms(outcome.readTime))", "plan_ms": "\(Self.ms(outcome.planTime))",
          "apply_ms": "\(Self.ms(outcome.applyTime))", "chains_reused": "\(outcome.chainsReused)",
          "chains_built": "\(outcome.chainsBuilt)",
          "total_ms": "\(Self.ms(finished - started))",
        ].merging(phases.mapValues { .string("\(Self.ms($0))") }) { a, _ in a })
    case .failure(let error):
      failures += 1
      dirty = true
      pending = events + pending
      // The retry compiles; the pods touched so far keep their applied versions.
      self.touches.before.merge(touches.before) { _, applied in applied }
      self.touches.needsCompile = true
      // Recorded already; the retry records them again, which replays the same.
      if let changes, self.changes != nil { self.changes = changes + self.changes! } else { self.changes = nil }
      metrics.applyFailures.increment()
      health.update { $0.lastApplyOK = false }
      let delay = timing.retry.delay(attempt: failures - 1)
      retryAt = .now + delay
      logger.error(
        "sync failed; the rules in force are kept",
        metadata: [
          "error": "\(error)", "retry_in": "\(Int((delay / .milliseconds(1)).rounded()))ms", "failures": "\(failures)",
        ])
      let kick = kick
      Task {
        try? await Task.sleep(for: delay)
        kick.yield()
      }
    }
    metrics.ready.set(Int64(health.ready.0 ? 1 : 0))
  }

  func scheduleStateFlush() {
    statesDue = true
    guard !statesFlushScheduled else { return }
    statesFlushScheduled = true
    Task {
      try? await Task.sleep(for: .seconds(1))
      await self.flushStates()
    }
  }

  /// Writes the state files member updates left removed. If that fails
  /// they stay removed, and the next apply loads everything.
  func flushStates() async {
    statesFlushScheduled = false
    guard statesDue else { return }
    // Mid-update or mid-compile the kept state is the old one: the sync
    // that ends it schedules the flush again, or its commit writes the new.
    guard !updatingMembers, !compiling else { return }
    statesDue = false
    let enforcer = enforcer
    let sets = podSets
    if case .failure(let error) = await Self.blocking({ try enforcer.writeStates(sets) }) {
      logger.warning(
        "cannot write the apply state; the next compile reloads everything", metadata: ["error": "\(error)"])
    }
  }

  /// The cache as a cluster to compile: the last one with the pods and
  /// policies changed since updated in it, while its namespaces are in
  /// step, else built anew. `rebasedFrom` is the last cluster's generation
  /// when pods were updated in it.
  func currentCluster() -> (cluster: Cluster, rebasedFrom: UInt64?) {
    defer { (podsSinceCluster, policiesSinceCluster) = ([], []) }
    if let pods = podsSinceCluster, let policies = policiesSinceCluster, lastCluster != nil {
      // Taken out, so pods and policies are updated in place, not copied.
      var cluster = lastCluster.take()!
      let from = cluster.generation
      let admin = cache.admin.values.map(\.value) + cache.baseline.values.map(\.value)
      if pods.isEmpty || Self.updates(pods, cache.pods).map({ cluster.updatePods($0) }) == true,
        Self.updates(policies, cache.policies).map({ cluster.updatePolicies($0, adminPolicies: admin) }) == true
      {
        lastCluster = cluster
        return (cluster, pods.isEmpty ? nil : from)
      }
    }
    // In key order: Cluster sorts again, but a sorted input costs it one
    // pass, and a shuffled one more than sorting the keys here.
    let cluster = Cluster(cache.inventory)
    lastCluster = cluster
    keptInStep = false
    return (cluster, nil)
  }

  /// The cache's versions of the objects at `keys`; nil for a key that is
  /// not `namespace/name` (the cluster is then built anew).
  static func updates<V: Sendable>(_ keys: Set<String>, _ entries: [String: ClusterCache.Entry<V>])
    -> [Cluster.Update<V>]?
  {
    var updates: [Cluster.Update<V>] = []
    for key in keys {
      guard let slash = key.firstIndex(of: "/") else { return nil }
      updates.append(
        Cluster.Update(
          namespace: String(key[..<slash]), name: String(key[key.index(after: slash)...]), object: entries[key]?.value))
    }
    return updates
  }

  /// Checks the kernel against the last apply and reloads everything on drift.
  func checkDrift() async {
    resyncDue = false
    guard synced else { return }
    await flushStates()
    // Its compiles (drift, repair) start from nothing kept.
    let cluster = currentCluster().cluster
    keptInStep = false
    let enforcer = enforcer
    // nft after element updates: the recorded listing predates them, so
    // the table is loaded whole, which undoes any drift too, and recorded
    // afresh; that reload is no repair.
    let reload = elementsUpdated
    let result = await Self.result { () async throws -> (drift: [String], repair: ApplyOutcome?) in
      let drift = reload ? [] : try await enforcer.drift(cluster)
      return (drift, drift.isEmpty && !reload ? nil : try await enforcer.apply(cluster, fromScratch: true))
    }
    switch result {
    case .success(let (drift, repair)):
      guard let repair else { return }
      podSets = repair.podSets
      elementsUpdated = false
      if reload {
        logger.info("resync: table reloaded after element updates", metadata: ["result": "\(repair.summary)"])
        return
      }
      metrics.driftRepairs.increment()
      logger.warning(
        "drift repaired", metadata: ["drift": "\(drift.joined(separator: "; "))", "result": "\(repair.summary)"])
    case .failure(let error):
      metrics.applyFailures.increment()
      health.update { $0.lastApplyOK = false }
      logger.error("resync failed; the rules in force are kept", metadata: ["error": "\(error)"])
      podSets = []
      touches.needsCompile = true
      dirty = true
      kick.yield()
    }
  }

  static let queue = DispatchQueue(label: "policyc.agent.kernel")

  /// Runs kernel tools and the compiler off the concurrency pool, which
  /// must stay free for the watches.
  static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
    await withCheckedContinuation { continuation in
      queue.async { continuation.resume(returning: Result { try work() }) }
    }
  }

  /// Runs a compile and its apply. The kernel tools are awaited through
  /// swift-subprocess, which does not hold a thread of the pool while they
  /// run; the compile itself is CPU work of a fraction of a second.
  static func result<T: Sendable>(_ work: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await work()) } catch { return .failure(error) }
  }

  static func ms(_ duration: Duration) -> Int {
    Int(Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
  }
}
