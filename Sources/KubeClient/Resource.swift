import YAMLBridge

/// One kind the agent lists and watches, and where the API serves it.
public struct Resource: Sendable, Hashable, CustomStringConvertible {
  /// The plural, as in metrics labels: `pods`.
  public var name: String
  /// The cluster-wide collection: `/api/v1/pods`.
  public var path: String
  public var kind: String
  public var apiVersion: String
  /// A 404 means "not installed" (a CRD), not an error: look again later.
  public var optional: Bool

  public init(name: String, path: String, kind: String, apiVersion: String, optional: Bool) {
    self.name = name
    self.path = path
    self.kind = kind
    self.apiVersion = apiVersion
    self.optional = optional
  }

  public var description: String { name }

  public static let namespaces = Resource(
    name: "namespaces", path: "/api/v1/namespaces", kind: "Namespace", apiVersion: "v1", optional: false)
  public static let pods = Resource(
    name: "pods", path: "/api/v1/pods", kind: "Pod", apiVersion: "v1", optional: false)
  public static let networkPolicies = Resource(
    name: "networkpolicies", path: "/apis/networking.k8s.io/v1/networkpolicies", kind: "NetworkPolicy",
    apiVersion: "networking.k8s.io/v1", optional: false)
  public static let adminNetworkPolicies = Resource(
    name: "adminnetworkpolicies", path: "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies",
    kind: "AdminNetworkPolicy", apiVersion: "policy.networking.k8s.io/v1alpha1", optional: true)
  public static let baselineAdminNetworkPolicies = Resource(
    name: "baselineadminnetworkpolicies",
    path: "/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies",
    kind: "BaselineAdminNetworkPolicy", apiVersion: "policy.networking.k8s.io/v1alpha1", optional: true)

  /// Everything policyc reads, in the order the agent starts them.
  public static let all: [Resource] = [
    namespaces, pods, networkPolicies, adminNetworkPolicies, baselineAdminNetworkPolicies,
  ]
}

/// What a list-and-watch loop tells its owner.
public enum ResourceUpdate: Sendable {
  /// A complete LIST (the first, or a relist after 410): the cache of this
  /// kind becomes exactly these objects; anything else was deleted meanwhile.
  case replace([KubeObject])
  /// One page of a LIST with more to come, kept aside (`first` drops what an
  /// earlier, broken LIST kept) so that no page's parsed nodes outlive it.
  case listPage([KubeObject], first: Bool)
  /// The last page of a paged LIST: the kept pages and these replace the cache.
  case listEnd([KubeObject])
  case upsert(KubeObject)
  case delete(KubeObject)
  /// The API answered 404: the kind is not installed (now). Its cache is empty.
  case notInstalled
}

/// The life of a loop, for readiness, metrics and logs.
public enum WatchLifecycle: Sendable, Equatable {
  /// A watch stream is open: the cache is current.
  case watching
  /// A request failed; the cache is kept and the loop retries after a backoff.
  case failed(String)
  /// A relist was needed (410 Gone, an expired continue token).
  case relisting(String)
  /// A new watch after a dropped connection or an error (not a normal timeout).
  case restarted
}

/// Receives a loop's updates in order; the agent's cache.
public protocol ResourceSink: Sendable {
  func apply(_ update: ResourceUpdate, to resource: Resource, receivedAt: ContinuousClock.Instant) async
  func note(_ lifecycle: WatchLifecycle, for resource: Resource) async
  /// What the sink never reads of an object of `resource`, so that lists
  /// and watches do not build it (most of a Pod is managed fields, volumes
  /// and conditions). Lists and watches prune alike, so an object decodes
  /// the same whichever brought it. nil (the default) builds everything.
  func pruning(for resource: Resource) -> Pruning?
}

extension ResourceSink {
  public func pruning(for resource: Resource) -> Pruning? { nil }
}
