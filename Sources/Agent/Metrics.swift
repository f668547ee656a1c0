import KubeClient
import Prometheus

/// The agent's Prometheus metrics, served as text on /metrics.
public final class AgentMetrics: Sendable {
  public let registry = PrometheusCollectorRegistry()
  let syncDuration: DurationHistogram
  let eventToKernel: DurationHistogram
  let applyFailures: Counter
  let driftRepairs: Counter
  let objectsRejected: Counter
  let syncs: Counter
  let lastSuccessfulSync: Gauge
  let rules: Gauge
  let sets: Gauge
  let setMembers: Gauge
  let ready: Gauge
  let watchRestarts: [String: Counter]
  let relists: [String: Counter]
  let objects: [String: Gauge]

  public init() {
    let fast: [Duration] = [
      .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
      .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
      .seconds(30),
    ]
    let name = Self.name
    syncDuration = registry.makeDurationHistogram(
      descriptor: name("sync_duration", "seconds", "Time of one sync: compile the cluster and apply what changed."),
      buckets: fast)
    eventToKernel = registry.makeDurationHistogram(
      descriptor: name("event_to_kernel", "seconds", "From an API event's arrival to the kernel holding its change."),
      buckets: fast)
    applyFailures = registry.makeCounter(
      descriptor: name("apply_failures", "total", "Syncs whose compile or apply failed (the rules in force stay)."))
    driftRepairs = registry.makeCounter(
      descriptor: name("drift_repairs", "total", "Resyncs that found the kernel changed and reloaded it."))
    objectsRejected = registry.makeCounter(
      descriptor: name("objects_rejected", "total", "Objects that could not be decoded (the last good kept)."))
    syncs = registry.makeCounter(descriptor: name("syncs", "total", "Successful syncs."))
    lastSuccessfulSync = registry.makeGauge(
      descriptor: name("last_successful_sync_timestamp", "seconds", "Unix time of the last successful sync."))
    rules = registry.makeGauge(descriptor: name("rules", "", "Rules loaded on the node."))
    sets = registry.makeGauge(descriptor: name("sets", "", "Sets loaded on the node."))
    setMembers = registry.makeGauge(descriptor: name("set_members", "", "Members of the sets loaded on the node."))
    ready = registry.makeGauge(descriptor: name("ready", "", "1 when /readyz answers 200."))
    var restarts: [String: Counter] = [:]
    var relists: [String: Counter] = [:]
    for resource in Resource.all {
      restarts[resource.name] = registry.makeCounter(
        descriptor: name("watch_restarts", "total", "Watches started again after a failure."),
        labels: [("resource", resource.name)])
      relists[resource.name] = registry.makeCounter(
        descriptor: name("relists", "total", "Full LISTs after 410 Gone, an expired continue token or a removed kind."),
        labels: [("resource", resource.name)])
    }
    watchRestarts = restarts
    self.relists = relists
    var objects: [String: Gauge] = [:]
    for kind in ["Namespace", "Pod", "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"] {
      objects[kind] = registry.makeGauge(
        descriptor: name("objects", "", "Objects in the agent's cache."), labels: [("kind", kind)])
    }
    self.objects = objects
  }

  public func text() -> String { registry.emitToString() }

  /// `policyc_agent_<metric>[_<unit>]`, with its help line.
  static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(namespace: "policyc", subsystem: "agent", metricName: metric, unitName: unit, helpText: help)
  }
}
