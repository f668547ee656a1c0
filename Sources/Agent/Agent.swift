import Dispatch
import Foundation
import KubeClient
import Logging
import PolicyModel
import YAMLBridge

/// The agent's timing knobs.
public struct AgentTiming: Sendable {
  /// How long to collect events before one sync.
  public var coalesce: Duration = .milliseconds(50)
  /// How often to check the kernel against the last apply.
  public var resync: Duration = .seconds(300)
  /// Retry of a failed apply.
  public var retry = Backoff(base: .seconds(1), cap: .seconds(30))

  public init() {}
}

/// Keeps the node's rules equal to the cluster: receives every list and
/// watch update, coalesces them, and syncs through the `Enforcer`. API
/// trouble only delays syncs; it never removes or weakens a rule.
public actor Agent: ResourceSink {
  let enforcer: Enforcer
  let metrics: AgentMetrics
  let health: Health
  let timing: AgentTiming
  let logger: Logger
  /// Everything the agent waits for before its first sync.
  let resources: [Resource]

  var cache = ClusterCache()
  var listed: Set<String> = []
  var dirty = false
  var synced = false
  var resyncDue = false
  var failures = 0
  /// When a failed sync is retried: no sync runs before it.
  var retryAt: ContinuousClock.Instant?
  /// Arrival times of the events not yet in the kernel.
  var pending: [ContinuousClock.Instant] = []
  /// The changes since the last apply, for the journal of applied objects;
  /// nil when the next apply must write a full snapshot (first sync, relist).
  var changes: [AppliedRecord.Change]? = nil
  /// Pod updates since the last apply; see `PodUpdates`.
  var touches = PodTouches()
  /// Each family's host sets as last applied (iptables), empty when the
  /// next apply must compile.
  var podSets: [PodSets] = []
  /// The cache's pods by address, kept with every pod update once built.
  var podAddresses: PodAddresses?
  /// nft: elements changed in place since the table was last loaded, so
  /// the recorded listing is not the table in force (the resync reloads).
  var elementsUpdated = false
  /// The cluster of the last compile, and the pods and NetworkPolicies
  /// changed since (nil when a namespace changed or a kind was relisted):
  /// the next compile updates those in it (`Cluster.updatePods`,
  /// `Cluster.updatePolicies`) instead of building it anew.
  var lastCluster: Cluster?
  var podsSinceCluster: Set<String>?
  var policiesSinceCluster: Set<String>?
  /// Whether every pod change since `lastCluster` reached the kernel as set
  /// member changes, and which sets of each family they changed: then the
  /// chains kept from its compile hold for the next cluster too, with
  /// those sets' members as `podSets` holds them (`KeptChains.rebase`).
  var keptInStep = false
  var membersSinceCluster: [IPAddress.Family: Set<String>] = [:]
  /// What the node holds, for the metrics and the sync log.
  var counts = (rules: 0, sets: 0, setMembers: 0)
  /// Member updates left the iptables state files removed; they are
  /// written at most once a second, and before any compile or resync.
  var statesDue = false
  var statesFlushScheduled = false
  /// A member update is changing the kernel: its state is not yet known.
  var updatingMembers = false
  /// A compile and its apply are in flight: their commit writes the state.
  var compiling = false
  /// Counts of syncs, for tests and the log.
  public internal(set) var syncCount = 0
  let kicks: AsyncStream<Void>
  let kick: AsyncStream<Void>.Continuation

  public init(
    enforcer: Enforcer, metrics: AgentMetrics, health: Health, timing: AgentTiming, logger: Logger,
    resources: [Resource] = Resource.all
  ) {
    self.enforcer = enforcer
    self.metrics = metrics
    self.health = health
    self.timing = timing
    self.logger = logger
    self.resources = resources
    (kicks, kick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  // MARK: ResourceSink

  /// What the decoder may skip of each object: what a compile skips.
  public nonisolated func pruning(for resource: Resource) -> Pruning? { ClusterCache.pruning(for: resource) }

  public func apply(_ update: ResourceUpdate, to resource: Resource, receivedAt: ContinuousClock.Instant) {
    let podKey: String? =
      switch update {
      case .upsert(let object), .delete(let object): resource.kind == "Pod" ? object.key : nil
      default: nil
      }
    let previous = podKey.flatMap { cache.pods[$0]?.value }
    let change = cache.apply(update, to: resource)
    if change.relevant, resource.kind == "Pod" || resource.kind == "Namespace" {
      if let podKey { podsSinceCluster?.insert(podKey) } else { podsSinceCluster = nil }
    }
    if change.relevant, resource.kind == "NetworkPolicy" {
      switch update {
      case .upsert(let object), .delete(let object): policiesSinceCluster?.insert(object.key)
      default: policiesSinceCluster = nil
      }
    }
    if let podKey {
      let current = cache.pods[podKey]?.value
      if let previous { podAddresses?.remove(podKey, previous) }
      if let current { podAddresses?.insert(podKey, current) }
      if change.relevant { touches.note(podKey, previous: previous) }
    } else if change.relevant {
      switch update {
      case .upsert, .delete:
        if resource.kind == "Namespace" { touches.needsCompile = true } else { touches.policiesChanged = true }
      default: touches.needsCompile = true
      }
      if resource.kind == "Pod" { podAddresses = nil }
    }
    for message in change.rejected {
      metrics.objectsRejected.increment()
      logger.warning("object rejected", metadata: ["resource": "\(resource)", "problem": "\(message)"])
    }
    for (kind, count) in cache.counts { metrics.objects[kind]?.set(Int64(count)) }
    switch update {
    case .replace, .listEnd, .notInstalled:
      if !listed.contains(resource.name) {
        listed.insert(resource.name)
        if case .notInstalled = update {
          logger.info("kind not served; looking again later", metadata: ["resource": "\(resource)"])
        }
        if listed.count == resources.count { dirty = true }
      }
      if case .notInstalled = update { health.update { $0.unhealthyWatches.remove(resource.name) } }
    case .upsert, .delete, .listPage: break
    }
    if change.relevant {
      switch update {
      case .upsert(let object):
        if let json = cache.json(resource, key: object.key) {
          changes?.append(AppliedRecord.Change(deleted: false, resource: resource.name, json: json))
        }
      case .delete(let object):
        let json = JSONText.render(object: object.node, kind: resource.kind, apiVersion: resource.apiVersion)
        changes?.append(AppliedRecord.Change(deleted: true, resource: resource.name, json: json))
      case .replace, .listEnd, .notInstalled:
        changes = nil
      case .listPage: break
      }
      dirty = true
      if pending.count < 100_000 { pending.append(receivedAt) }
    }
    if dirty { kick.yield() }
  }

  public func note(_ lifecycle: WatchLifecycle, for resource: Resource) {
    switch lifecycle {
    case .watching: health.update { $0.unhealthyWatches.remove(resource.name) }
    case .failed: health.update { $0.unhealthyWatches.insert(resource.name) }
    case .restarted:
      metrics.watchRestarts[resource.name]?.increment()
      logger.info("watch restarted", metadata: ["resource": "\(resource)"])
    case .relisting(let why):
      metrics.relists[resource.name]?.increment()
      logger.info("relisting; the cache is replaced", metadata: ["resource": "\(resource)", "reason": "\(why)"])
    }
    metrics.ready.set(Int64(health.ready.0 ? 1 : 0))
  }
}
