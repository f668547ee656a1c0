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
    syncDuration = registry.makeDurationHistogram(
      name: "policyc_agent_sync_duration_seconds", buckets: fast,
      help: "Time of one sync: compile the cluster and apply what changed.")
    eventToKernel = registry.makeDurationHistogram(
      name: "policyc_agent_event_to_kernel_seconds", buckets: fast,
      help: "From an API event's arrival to the kernel holding its change.")
    applyFailures = registry.makeCounter(
      name: "policyc_agent_apply_failures_total", help: "Syncs whose compile or apply failed (the rules in force stay)."
    )
    driftRepairs = registry.makeCounter(
      name: "policyc_agent_drift_repairs_total", help: "Resyncs that found the kernel changed and reloaded it.")
    objectsRejected = registry.makeCounter(
      name: "policyc_agent_objects_rejected_total", help: "Objects that could not be decoded (the last good kept).")
    syncs = registry.makeCounter(name: "policyc_agent_syncs_total", help: "Successful syncs.")
    lastSuccessfulSync = registry.makeGauge(
      name: "policyc_agent_last_successful_sync_timestamp_seconds", help: "Unix time of the last successful sync.")
    rules = registry.makeGauge(name: "policyc_agent_rules", help: "Rules loaded on the node.")
    sets = registry.makeGauge(name: "policyc_agent_sets", help: "Sets loaded on the node.")
    setMembers = registry.makeGauge(name: "policyc_agent_set_members", help: "Members of the sets loaded on the node.")
    ready = registry.makeGauge(name: "policyc_agent_ready", help: "1 when /readyz answers 200.")
    var restarts: [String: Counter] = [:]
    var relists: [String: Counter] = [:]
    for resource in Resource.all {
      restarts[resource.name] = registry.makeCounter(
        name: "policyc_agent_watch_restarts_total", labels: [("resource", resource.name)],
        help: "Watches started again after a failure.")
      relists[resource.name] = registry.makeCounter(
        name: "policyc_agent_relists_total", labels: [("resource", resource.name)],
        help: "Full LISTs after 410 Gone, an expired continue token or a removed kind.")
    }
    watchRestarts = restarts
    self.relists = relists
    var objects: [String: Gauge] = [:]
    for kind in ["Namespace", "Pod", "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"] {
      objects[kind] = registry.makeGauge(
        name: "policyc_agent_objects", labels: [("kind", kind)], help: "Objects in the agent's cache.")
    }
    self.objects = objects
  }

  public func text() -> String { registry.emitToString() }
}
