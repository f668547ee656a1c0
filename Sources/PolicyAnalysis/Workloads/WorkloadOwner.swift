public import PolicyModel

/// The workload a pod belongs to, so that `--by workload` shows replicas as
/// one endpoint, as users think of them.
///
/// A workload is named `NAMESPACE/KIND/NAME` (`shop/Deployment/web`), the
/// name workload manifests read as pod templates already carry; a bare pod
/// keeps its own `NAMESPACE/NAME`.
public enum WorkloadOwner {
  /// The label the Deployment controller puts on a ReplicaSet's pods and
  /// at the end of the ReplicaSet's name: `<deployment>-<pod-template-hash>`.
  public static let templateHashLabel = "pod-template-hash"

  /// Labels a controller sets differently on each replica or revision: they
  /// tell replicas apart by design, so they are no disagreement.
  public static let perReplicaLabels: Set<String> = [
    templateHashLabel, "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-completion-index",
  ]

  /// The pod's owner as a workload: the reference with `controller: true`,
  /// else the first; a ReplicaSet whose name is `<name>-<the pod's
  /// pod-template-hash>` stands for the Deployment `<name>`. nil for a bare
  /// pod and for a workload's own template.
  public static func owner(of pod: Pod) -> OwnerReference? {
    guard pod.workloadKind == nil else { return nil }
    guard let reference = pod.meta.owners.first(where: \.controller) ?? pod.meta.owners.first else { return nil }
    if reference.kind == "ReplicaSet", let hash = pod.meta.labels[templateHashLabel], !hash.isEmpty,
      reference.name.hasSuffix("-" + hash), reference.name.count > hash.count + 1
    {
      return OwnerReference(
        kind: "Deployment", name: String(reference.name.dropLast(hash.count + 1)), controller: reference.controller)
    }
    return reference
  }

  /// `NAMESPACE/KIND/NAME` of the pod's workload, or the pod's own name.
  public static func name(of pod: Pod) -> String {
    guard let owner = owner(of: pod) else { return AnalysisEndpoint.name(of: pod) }
    return "\(pod.meta.namespace)/\(owner.kind)/\(owner.name)"
  }
}

/// Endpoints grouped by workload, with what sets their replicas apart.
public struct WorkloadGroups: Sendable {
  public struct Group: Sendable {
    /// `NAMESPACE/KIND/NAME`, or a bare pod's `NAMESPACE/NAME`.
    public var name: String
    /// Indices of the grouped items, in their order.
    public var members: [Int]
  }

  /// Sorted by name.
  public var groups: [Group]
  /// Group index of each item.
  public var groupOf: [Int]

  /// Groups `pods` (each at most once) by workload name.
  public init(_ pods: [Pod]) {
    var index: [String: [Int]] = [:]
    for (i, pod) in pods.enumerated() { index[WorkloadOwner.name(of: pod), default: []].append(i) }
    groups = index.keys.sorted().map { Group(name: $0, members: index[$0]!) }
    var groupOf = Array(repeating: 0, count: pods.count)
    for (g, group) in groups.enumerated() { for i in group.members { groupOf[i] = g } }
    self.groupOf = groupOf
  }

  /// Where replicas of one workload differ in what policies can see: their
  /// labels (other than those a controller sets per replica) and their named
  /// ports. One line per label or port name, such as
  /// `shop/Deployment/web: label track: stable on 2 pods, canary on shop/web-6b8f9-zz`.
  public static func disagreements(_ name: String, _ pods: [Pod]) -> [String] {
    guard pods.count > 1 else { return [] }
    let podNames = pods.map(AnalysisEndpoint.name(of:))
    var lines: [String] = []
    let labels = pods.map { $0.meta.labels.filter { !WorkloadOwner.perReplicaLabels.contains($0.key) } }
    lines += differences(labels, names: podNames).map { "\(name): label \($0)" }
    let ports = pods.map { pod in
      var named: [String: String] = [:]
      // The first definition of a name wins, as in `Pod.resolve`.
      for port in pod.ports.reversed() { if let n = port.name { named[n] = "\(port.number)/\(port.proto.rawValue)" } }
      return named
    }
    lines += differences(ports, names: podNames).map { "\(name): named port \($0)" }
    return lines
  }

  /// `KEY: V1 on N pods, V2 on POD` for each key whose value is not the same
  /// on every pod; the most common value comes first, a missing key is `unset`.
  static func differences(_ maps: [[String: String]], names: [String]) -> [String] {
    let keys = Set(maps.flatMap(\.keys)).sorted()
    var out: [String] = []
    for key in keys {
      var byValue: [String: [String]] = [:]
      for (map, name) in zip(maps, names) { byValue[map[key] ?? "unset", default: []].append(name) }
      guard byValue.count > 1 else { continue }
      let ordered = byValue.sorted { ($1.value.count, $0.key) < ($0.value.count, $1.key) }
      let parts = ordered.enumerated().map { i, entry in
        let who =
          i == 0 && entry.value.count > 1
          ? Wording.count(entry.value.count, "pod") : Wording.list(entry.value.sorted(), limit: 3)
        return "\(entry.key) on \(who)"
      }
      out.append("\(key): " + parts.joined(separator: ", "))
    }
    return out
  }
}
