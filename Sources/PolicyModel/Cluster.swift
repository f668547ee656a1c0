import Synchronization

/// The last `Cluster.generation` handed out.
private let lastGeneration = Atomic<UInt64>(0)

/// The resolved view of a set of objects: which pods take part, which
/// namespaces exist with which labels, and which pods each selector picks.
public struct Cluster: Sendable {
  /// Namespace name to labels (with `kubernetes.io/metadata.name`), for every
  /// namespace written or mentioned by a pod or policy.
  public let namespaceLabels: [String: [String: String]]
  /// Pods that take part (see `Pod.participates`; for analysis,
  /// `Pod.isAnalysisEndpoint`), sorted by namespace/name.
  public internal(set) var pods: [Pod]
  /// Policies sorted by namespace/name.
  public internal(set) var policies: [NetworkPolicy]
  /// AdminNetworkPolicies in evaluation order (priority, then name).
  public internal(set) var adminPolicies: [AdminPolicy]
  /// The BaselineAdminNetworkPolicy, if the inputs hold one.
  public internal(set) var baseline: AdminPolicy?
  /// Each namespace's pods: `pods` is sorted by namespace first, so they
  /// are one run of it.
  var podsByNamespace: [String: Range<Int>]
  /// The same for `policies`.
  var policiesByNamespace: [String: Range<Int>]
  /// Namespaces written, or named by a pod (policies aside): see `updatePolicies`.
  let namespacesOfPods: Set<String>
  /// Namespaces written as objects: see `updatingPods`.
  let writtenNamespaces: Set<String>
  /// Which pods take part: the node's (`Pod.participates`) or analysis's.
  let view: View
  /// Selector results, shared by every compile of this cluster.
  var selections: Selections
  /// Which pods and namespaces this is: no two clusters built from objects
  /// share one; `updatePolicies` (the same pods and namespaces) keeps it. What
  /// was compiled from one cluster's pods holds for another of its generation.
  public internal(set) var generation: UInt64

  /// Which pods a cluster holds.
  enum View: Sendable {
    /// The node's: pods that take part in its rules (`Pod.participates`).
    case node
    /// Review tools': endpoints by identity (`Pod.isAnalysisEndpoint`).
    case analysis

    func takesPart(_ pod: Pod) -> Bool { self == .node ? pod.participates : pod.isAnalysisEndpoint }
  }

  public init(namespaces: [Namespace], pods: [Pod], policies: [NetworkPolicy], adminPolicies: [AdminPolicy] = []) {
    self.init(namespaces: namespaces, pods: pods, policies: policies, adminPolicies: adminPolicies, view: .node)
  }

  init(namespaces: [Namespace], pods: [Pod], policies: [NetworkPolicy], adminPolicies: [AdminPolicy], view: View) {
    self.view = view
    (self.adminPolicies, baseline) = Self.tiers(adminPolicies)
    var labels: [String: [String: String]] = [:]
    for ns in namespaces { labels[ns.name] = Self.labels(ofNamespace: ns.name, written: ns) }
    // "A namespace that only appears through a pod or policy exists with that one label."
    for name in pods.map(\.meta.namespace) + policies.map(\.meta.namespace) where labels[name] == nil {
      labels[name] = Self.labels(ofNamespace: name, written: nil)
    }
    namespaceLabels = labels
    writtenNamespaces = Set(namespaces.map(\.name))
    namespacesOfPods = writtenNamespaces.union(pods.map(\.meta.namespace))
    selections = Selections()
    generation = Self.nextGeneration()
    self.pods = Self.sorted(pods.allSatisfy(view.takesPart) ? pods : pods.filter(view.takesPart))
    self.policies = Self.sorted(policies)
    podsByNamespace = Self.runs(self.pods)
    policiesByNamespace = Self.runs(self.policies)
  }

  static func nextGeneration() -> UInt64 { lastGeneration.wrappingAdd(1, ordering: .relaxed).newValue }

  /// (namespace, name) < (namespace, name), without building the tuples
  /// (copies of four strings per comparison; the agent sorts 50,000 pods).
  static func inOrder<T: Namespaced>(_ a: T, _ b: T) -> Bool {
    a.meta.namespace == b.meta.namespace ? a.meta.name < b.meta.name : a.meta.namespace < b.meta.namespace
  }

  /// `items` in `inOrder`. A loaded inventory is in that order already
  /// (`Loader` sorts it): then the array is kept as it is, not copied.
  static func sorted<T: Namespaced>(_ items: [T]) -> [T] {
    items.indices.dropFirst().allSatisfy { !inOrder(items[$0], items[$0 - 1]) } ? items : items.sorted(by: inOrder)
  }

  /// Each namespace's run of `items` sorted by namespace.
  static func runs<T: Namespaced>(_ items: [T]) -> [String: Range<Int>] {
    var runs: [String: Range<Int>] = [:]
    var start = 0
    for i in items.indices where i + 1 == items.count || items[i + 1].meta.namespace != items[i].meta.namespace {
      runs[items[i].meta.namespace] = start..<(i + 1)
      start = i + 1
    }
    return runs
  }

  /// AdminNetworkPolicies in evaluation order, and the baseline.
  static func tiers(_ adminPolicies: [AdminPolicy]) -> ([AdminPolicy], AdminPolicy?) {
    (
      adminPolicies.filter { $0.tier != .baseline }.sorted(by: AdminPolicy.ordered),
      adminPolicies.first { $0.tier == .baseline && $0.meta.name == AdminPolicy.baselineName }
    )
  }

  /// The cluster as the node sees it: real pods only.
  public init(_ inventory: Inventory) {
    self.init(
      namespaces: inventory.namespaces, pods: inventory.pods, policies: inventory.policies,
      adminPolicies: inventory.adminPolicies)
  }

  /// The cluster for review tools: real pods, with or without an address
  /// (see `Pod.isAnalysisEndpoint`), or, when the inputs hold none, the pod
  /// templates of workloads (Deployment, Job, ...) in their place.
  public static func forAnalysis(_ inventory: Inventory) -> Cluster {
    let pods = inventory.pods.isEmpty ? inventory.workloads : inventory.pods
    return forAnalysis(
      namespaces: inventory.namespaces, pods: pods, policies: inventory.policies,
      adminPolicies: inventory.adminPolicies)
  }

  /// The analysis view of given objects: every pod that is an endpoint by
  /// identity (`Pod.isAnalysisEndpoint`), with or without an address.
  public static func forAnalysis(
    namespaces: [Namespace], pods: [Pod], policies: [NetworkPolicy], adminPolicies: [AdminPolicy] = []
  ) -> Cluster {
    Cluster(namespaces: namespaces, pods: pods, policies: policies, adminPolicies: adminPolicies, view: .analysis)
  }

  /// Indices into `pods` of the pods a policy's podSelector picks: pods of
  /// the policy's own namespace only.
  public func targets(of policy: NetworkPolicy) -> [Int] {
    (podsByNamespace[policy.meta.namespace] ?? 0..<0).filter { policy.podSelector.matches(pods[$0].meta.labels) }
  }

  /// Namespaces (sorted) whose labels a selector matches.
  public func namespaces(matching selector: LabelSelector) -> [String] {
    if let known = selections.namespaces.withLock({ $0[selector] }) { return known }
    let names = namespaceLabels.keys.filter { selector.matches(namespaceLabels[$0]!) }.sorted()
    selections.namespaces.withLock { $0[selector] = names }
    return names
  }

  /// Indices of the pods a selector peer picks, for a policy in `namespace`:
  /// only podSelector = own namespace; only namespaceSelector = every pod of
  /// the matching namespaces; both = pods matching the pod selector INSIDE
  /// namespaces matching the namespace selector.
  public func peerPods(pods podSelector: LabelSelector?, namespaces nsSelector: LabelSelector?, policyNamespace: String)
    -> [Int]
  {
    let key = Selections.Peer(pods: podSelector, namespaces: nsSelector, policyNamespace: policyNamespace)
    if let known = selections.peers.withLock({ $0[key] }) { return known }
    let namespaces = nsSelector.map { self.namespaces(matching: $0) } ?? [policyNamespace]
    var out: [Int] = []
    for ns in namespaces {
      for i in podsByNamespace[ns] ?? 0..<0 where podSelector?.matches(pods[i].meta.labels) ?? true {
        out.append(i)
      }
    }
    out.sort()
    selections.peers.withLock { $0[key] = out }
    return out
  }

  /// Indices of the pods whose spec.nodeName is `node`, in order: the
  /// first call groups every pod, for the other nodes of a fleet.
  public func pods(onNode node: String) -> [Int] {
    selections.nodes.withLock { nodes in
      if nodes == nil { nodes = Dictionary(grouping: pods.indices) { pods[$0].nodeName } }
      return nodes![node] ?? []
    }
  }

  /// The addresses of `family` of the pods `peerPods` picks, sorted, each
  /// once: the members of a peer set. Policies of a fleet name the same
  /// peers again and again, each in a set of its own.
  public func peerAddresses(
    pods podSelector: LabelSelector?, namespaces nsSelector: LabelSelector?, policyNamespace: String,
    family: IPAddress.Family
  ) -> [IPAddress] {
    let key = Selections.Addresses(
      peer: Selections.Peer(pods: podSelector, namespaces: nsSelector, policyNamespace: policyNamespace),
      family: family)
    if let known = selections.addresses.withLock({ $0[key] }) { return known }
    let picked = peerPods(pods: podSelector, namespaces: nsSelector, policyNamespace: policyNamespace)
    let out = Self.sortedUnique(picked.compactMap { pods[$0].address(family) })
    selections.addresses.withLock { $0[key] = out }
    return out
  }

  /// `items` sorted, each once (inlinable, so callers in other modules get
  /// it specialized to their element type).
  @inlinable
  public static func sortedUnique<T: Comparable>(_ items: [T]) -> [T] {
    var out = items.sorted()
    var kept = 0
    for i in out.indices where i == 0 || out[i] != out[kept - 1] {
      out[kept] = out[i]
      kept += 1
    }
    out.removeLast(out.count - kept)
    return out
  }

  /// Whether a pod (by index) is a member of a selector peer.
  public func peerContains(
    pods podSelector: LabelSelector?, namespaces nsSelector: LabelSelector?, policyNamespace: String, pod: Pod
  ) -> Bool {
    Self.peerContains(
      pods: podSelector, namespaces: nsSelector, policyNamespace: policyNamespace, pod: pod,
      namespaceLabels: namespaceLabels[pod.meta.namespace])
  }

  /// The same for a pod outside any `Cluster`, given its namespace's labels
  /// (see `labels(ofNamespace:written:)`).
  public static func peerContains(
    pods podSelector: LabelSelector?, namespaces nsSelector: LabelSelector?, policyNamespace: String, pod: Pod,
    namespaceLabels: [String: String]?
  ) -> Bool {
    if let nsSelector {
      guard let namespaceLabels, nsSelector.matches(namespaceLabels) else { return false }
    } else if pod.meta.namespace != policyNamespace {
      return false
    }
    return podSelector?.matches(pod.meta.labels) ?? true
  }

  /// A namespace's labels as a cluster sees them: those of its Namespace
  /// object when there is one, else only its name label (it exists because
  /// a pod or policy names it).
  public static func labels(ofNamespace name: String, written: Namespace?) -> [String: String] {
    written?.labels ?? [Namespace.nameLabel: name]
  }

  /// The index of the pod `namespace/name` (of the last, if the objects
  /// hold it twice).
  public func podIndex(namespace: String, name: String) -> Int? {
    Self.index(of: name, in: podsByNamespace[namespace], of: pods)
  }

  /// Policies that select a pod for a direction ("isolated" when non-empty).
  public func policies(selecting pod: Pod, for direction: PolicyType) -> [NetworkPolicy] {
    // A policy's podSelector only reaches pods of its own namespace.
    // By the stored fields, so a policy is copied only when it is picked
    // (a fleet asks for every pod of every node).
    var out: [NetworkPolicy] = []
    for i in policiesByNamespace[pod.meta.namespace] ?? 0..<0
    where policies[i].policyTypes.contains(direction) && policies[i].podSelector.matches(pod.meta.labels) {
      out.append(policies[i])
    }
    return out
  }

  /// The admin policies and the baseline, for review tools.
  public var allAdminPolicies: [AdminPolicy] { adminPolicies + (baseline.map { [$0] } ?? []) }

  /// Whether an admin policy's subject selects a pod.
  public func selects(_ policy: AdminPolicy, _ pod: Pod) -> Bool {
    guard let labels = namespaceLabels[pod.meta.namespace] else { return false }
    return policy.selects(pod, namespaceLabels: labels)
  }

  /// AdminNetworkPolicies that select a pod and have rules for a direction,
  /// in evaluation order.
  public func adminPolicies(selecting pod: Pod, for direction: PolicyType) -> [AdminPolicy] {
    adminPolicies.filter { !$0.rules(direction).isEmpty && selects($0, pod) }
  }

  /// The baseline, when it selects a pod and has rules for a direction.
  public func baseline(selecting pod: Pod, for direction: PolicyType) -> AdminPolicy? {
    guard let baseline, !baseline.rules(direction).isEmpty, selects(baseline, pod) else { return nil }
    return baseline
  }

  /// Every pod any tier may police for a direction: isolated by a
  /// NetworkPolicy, or selected by an admin policy or the baseline.
  public func isPoliced(_ pod: Pod, for direction: PolicyType) -> Bool {
    !policies(selecting: pod, for: direction).isEmpty || !adminPolicies(selecting: pod, for: direction).isEmpty
      || baseline(selecting: pod, for: direction) != nil
  }
}

/// What selectors picked, remembered: the pods a peer selects do not depend
/// on the node, and `compile --all-nodes` compiles hundreds of nodes from one
/// cluster, each asking again. Threads share it; a result computed twice is
/// the same result.
final class Selections: Sendable {
  struct Peer: Hashable {
    var pods: LabelSelector?
    var namespaces: LabelSelector?
    var policyNamespace: String

    init(pods: LabelSelector?, namespaces: LabelSelector?, policyNamespace: String) {
      (self.pods, self.namespaces) = (pods, namespaces)
      // With a namespaceSelector the policy's namespace does not matter: one
      // entry serves the policies of every namespace.
      self.policyNamespace = namespaces == nil ? policyNamespace : ""
    }
  }
  struct Addresses: Hashable {
    var peer: Peer
    var family: IPAddress.Family
  }
  let peers = Mutex<[Peer: [Int]]>([:])
  let addresses = Mutex<[Addresses: [IPAddress]]>([:])
  /// Pod indices by spec.nodeName, once asked for.
  let nodes = Mutex<[String?: [Int]]?>(nil)
  let namespaces: Mutex<[LabelSelector: [String]]>

  /// Namespace selector results depend on namespace labels alone: a
  /// cluster with the same namespaces may start from another's.
  init(namespaces: [LabelSelector: [String]] = [:]) {
    self.namespaces = Mutex(namespaces)
  }
}

/// Objects kept sorted by namespace, then name.
protocol Namespaced {
  var meta: ObjectMeta { get }
}

extension Pod: Namespaced {}
extension NetworkPolicy: Namespaced {}

extension Pod {
  /// "In analysis (explain, matrix, diff, lint) they are endpoints by
  /// identity": a pod without an address still takes part, known by
  /// namespace/name, labels and named ports. Host-network and finished pods
  /// stay out, as they do on the node.
  public var isAnalysisEndpoint: Bool {
    !hostNetwork && phase != "Succeeded" && phase != "Failed"
  }

  /// A pod without any address (no status, Pending, or a workload's
  /// template): no ipBlock can match it.
  public var hasNoAddress: Bool { ips.isEmpty }
}
