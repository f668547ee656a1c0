import Foundation
import KubeClient
import PolicyModel
import YAMLBridge

/// The agent's model of the cluster: every Namespace, Pod, NetworkPolicy and
/// admin policy, decoded by PolicyModel with the same validation as files.
///
/// An object that fails to decode never widens access: its last good version
/// stays; a new NetworkPolicy that cannot be read isolates the pods its
/// podSelector selects (or, if even that cannot be read, its namespace).
public struct ClusterCache: Sendable {
  /// One decoded object and the version it came from.
  struct Entry<Value: Sendable>: Sendable {
    var value: Value
    var resourceVersion: String?
    /// The object as JSON, for the snapshot of the last applied state.
    var json: String
  }

  var namespaces: [String: Entry<Namespace>] = [:]
  var pods: [String: Entry<Pod>] = [:]
  var policies: [String: Entry<NetworkPolicy>] = [:]
  var admin: [String: Entry<AdminPolicy>] = [:]
  var baseline: [String: Entry<AdminPolicy>] = [:]
  /// The pages of a LIST in progress, decoded, per kind.
  var staged = Staged()

  struct Staged: Sendable {
    var namespaces: [String: Entry<Namespace>] = [:]
    var pods: [String: Entry<Pod>] = [:]
    var policies: [String: Entry<NetworkPolicy>] = [:]
    var admin: [String: Entry<AdminPolicy>] = [:]
    var baseline: [String: Entry<AdminPolicy>] = [:]
  }

  public init() {}

  /// What an update did.
  public struct Change: Sendable, Equatable {
    /// Something policyc reads changed: a sync is needed.
    public var relevant = false
    /// Objects that could not be decoded: `kind key: message`.
    public var rejected: [String] = []
  }

  /// Objects per kind, for metrics.
  public var counts: [(kind: String, count: Int)] {
    [
      ("Namespace", namespaces.count), ("Pod", pods.count), ("NetworkPolicy", policies.count),
      ("AdminNetworkPolicy", admin.count), ("BaselineAdminNetworkPolicy", baseline.count),
    ]
  }

  /// The cluster the rules are compiled from.
  public var inventory: Inventory {
    var inventory = Inventory()
    inventory.namespaces = namespaces.values.map(\.value).sorted { $0.name < $1.name }
    inventory.pods = Self.inKeyOrder(pods)
    inventory.policies = Self.inKeyOrder(policies)
    inventory.adminPolicies = Self.inKeyOrder(admin) + Self.inKeyOrder(baseline)
    return inventory
  }

  /// Values ordered by their `namespace/name` keys: a dictionary's own
  /// order changes from run to run, and nothing downstream may see that.
  private static func inKeyOrder<V>(_ map: [String: Entry<V>]) -> [V] {
    map.keys.sorted().map { map[$0]!.value }
  }

  /// Every object as one JSON `List`, sorted by kind and key: what
  /// `Loader.load` reads back at the next start.
  /// `generation` (the List's resourceVersion) ties the snapshot to its journal.
  public func snapshotJSON(generation: String = "") -> String {
    func items<V>(_ map: [String: Entry<V>]) -> [String] { map.keys.sorted().map { map[$0]!.json } }
    let all = items(namespaces) + items(pods) + items(policies) + items(admin) + items(baseline)
    return
      "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\(JSONText.quote(generation))},\"items\":[\n"
      + all.joined(separator: ",\n") + "\n]}\n"
  }

  /// The JSON of the object at `key` as the cache holds it, for the journal.
  public func json(_ resource: Resource, key: String) -> String? {
    switch resource.kind {
    case "Namespace": namespaces[key]?.json
    case "Pod": pods[key]?.json
    case "NetworkPolicy": policies[key]?.json
    case AdminPolicy.adminKind: admin[key]?.json
    default: baseline[key]?.json
    }
  }

  public mutating func apply(_ update: ResourceUpdate, to resource: Resource) -> Change {
    switch resource.kind {
    case "Namespace":
      return Self.apply(update, resource, &namespaces, &staged.namespaces, relevant: Self.namespaceChanged)
    case "Pod": return Self.apply(update, resource, &pods, &staged.pods, relevant: Self.podChanged)
    case "NetworkPolicy":
      return Self.apply(update, resource, &policies, &staged.policies, relevant: Self.versionChanged)
    case AdminPolicy.adminKind:
      return Self.apply(update, resource, &admin, &staged.admin, relevant: Self.versionChanged)
    default: return Self.apply(update, resource, &baseline, &staged.baseline, relevant: Self.versionChanged)
    }
  }

  static func apply<V: Sendable>(
    _ update: ResourceUpdate, _ resource: Resource, _ map: inout [String: Entry<V>],
    _ staged: inout [String: Entry<V>], relevant: (Entry<V>, Entry<V>) -> Bool
  ) -> Change {
    var change = Change()
    switch update {
    case .upsert(let object):
      let old = map[object.key]
      switch decode(object, resource, as: V.self, existing: old) {
      case .success(let entry):
        map[object.key] = entry
        change.relevant = old.map { relevant($0, entry) } ?? true
      case .failure(let rejection):
        change.rejected.append(rejection.message)
        if let fallback = rejection.fallback {
          map[object.key] = fallback
          change.relevant = true
        }
      }
    case .delete(let object):
      change.relevant = map.removeValue(forKey: object.key) != nil
    case .notInstalled:
      change.relevant = !map.isEmpty
      map = [:]
    case .listPage(let objects, let first):
      if first { staged = [:] }
      change.rejected = stage(objects, resource, existing: map, into: &staged)
    case .replace(let objects), .listEnd(let objects):
      // "Replace the cache": anything not in the new list was deleted during the gap.
      var fresh: [String: Entry<V>] = [:]
      if case .listEnd = update { swap(&fresh, &staged) } else { staged = [:] }
      change.rejected = stage(objects, resource, existing: map, into: &fresh)
      change.relevant =
        fresh.count != map.count
        || fresh.contains { key, entry in map[key].map { relevant($0, entry) } ?? true }
      map = fresh
    }
    return change
  }

  /// Decodes `objects` into `fresh`; returns the rejections.
  static func stage<V: Sendable>(
    _ objects: [KubeObject], _ resource: Resource, existing map: [String: Entry<V>],
    into fresh: inout [String: Entry<V>]
  ) -> [String] {
    var rejected: [String] = []
    fresh.reserveCapacity(fresh.count + objects.count)
    for (object, decoded) in zip(objects, decodeAll(objects, resource, existing: map)) {
      switch decoded {
      case .success(let entry): fresh[object.key] = entry
      case .failure(let rejection):
        rejected.append(rejection.message)
        if let fallback = rejection.fallback { fresh[object.key] = fallback }
      }
    }
    return rejected
  }

  /// Decodes a list page's objects on every core: each object decodes on
  /// its own, and a page of a large list is thousands of them. The results
  /// come back in the objects' order.
  static func decodeAll<V: Sendable>(
    _ objects: [KubeObject], _ resource: Resource, existing map: [String: Entry<V>]
  ) -> [Result<Entry<V>, RejectionBox<V>>] {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, objects.count / 64)
    return ParallelMap.map(objects.count, jobs: workers) { index in
      decode(objects[index], resource, as: V.self, existing: map[objects[index].key])
    }
  }

  static func decode<V: Sendable>(_ object: KubeObject, _ resource: Resource, as: V.Type, existing: Entry<V>?)
    -> Result<Entry<V>, RejectionBox<V>>
  {
    let label = "api:\(resource.name)/\(object.key)"
    let inventory = ObjectDecoding.decode(
      object.node, file: label, kind: resource.kind, apiVersion: resource.apiVersion)
    let value: Any? =
      inventory.namespaces.first ?? inventory.pods.first ?? inventory.policies.first
      ?? inventory.adminPolicies.first
    if inventory.errors.isEmpty, let typed = value as? V {
      return .success(
        Entry(
          value: typed, resourceVersion: object.resourceVersion,
          json: JSONText.render(object: object.node, kind: resource.kind, apiVersion: resource.apiVersion)))
    }
    let reasons = inventory.errors.prefix(3).map(\.message).joined(separator: "; ")
    let message = "\(resource.kind) \(object.key): \(reasons.isEmpty ? "not a \(resource.kind)" : reasons)"
    if let existing {
      return .failure(RejectionBox(message: message + " (the last good version is kept)", fallback: existing))
    }
    if resource.kind == "NetworkPolicy", let isolation = isolating(object, resource) as? Entry<V> {
      return .failure(
        RejectionBox(message: message + " (its pods are isolated until it can be read)", fallback: isolation))
    }
    return .failure(RejectionBox(message: message + " (ignored)", fallback: nil))
  }

  /// A new NetworkPolicy that cannot be read: deny both directions to the
  /// pods its podSelector selects, or to its whole namespace when even the
  /// selector cannot be read. Never wider than the policy could be.
  static func isolating(_ object: KubeObject, _ resource: Resource) -> Entry<NetworkPolicy>? {
    let metadata = object.node["metadata"]
    let name = metadata?["name"]?.scalarText ?? ""
    let namespace = metadata?["namespace"]?.scalarText ?? Defaults.namespace
    for selector in [object.node["spec"]?["podSelector"], nil] {
      let json =
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\(JSONText.quote(name)),\"namespace\":\(JSONText.quote(namespace))},\"spec\":{\"podSelector\":\(selector.map(JSONText.render) ?? "{}"),\"policyTypes\":[\"Ingress\",\"Egress\"]}}"
      guard let root = YAMLParser.parse(Array(json.utf8)).documents.first?.root else { continue }
      let inventory = ObjectDecoding.decode(
        root, file: "api:\(resource.name)/\(object.key) (isolation)", kind: resource.kind,
        apiVersion: resource.apiVersion)
      if inventory.errors.isEmpty, let policy = inventory.policies.first {
        return Entry(value: policy, resourceVersion: object.resourceVersion, json: json)
      }
    }
    return nil
  }

  // What policyc reads of a pod: "phase, addresses, labels, node, named ports, hostNetwork".
  static func podChanged(_ old: Entry<Pod>, _ new: Entry<Pod>) -> Bool {
    let (a, b) = (old.value, new.value)
    return a.meta.labels != b.meta.labels || a.nodeName != b.nodeName || a.hostNetwork != b.hostNetwork
      || a.participates != b.participates || a.ips != b.ips || a.ports != b.ports
  }

  static func namespaceChanged(_ old: Entry<Namespace>, _ new: Entry<Namespace>) -> Bool {
    old.value.labels != new.value.labels
  }

  static func versionChanged<V: Sendable>(_ old: Entry<V>, _ new: Entry<V>) -> Bool {
    old.resourceVersion == nil || old.resourceVersion != new.resourceVersion
  }
}

/// A rejection and what stands in for the object: the last good version,
/// an isolating policy, or nothing.
struct RejectionBox<V: Sendable>: Error {
  var message: String
  var fallback: ClusterCache.Entry<V>?
}

extension ClusterCache {
  /// What decoding never reads of an object of `resource`: a Pod's managed
  /// fields, volumes, probes and conditions, the subtrees `policyc compile`
  /// skips as well (`LoadOptions.compilePruning`), so the agent and compile
  /// read a Pod alike. The snapshot leaves them out too.
  public static func pruning(for resource: Resource) -> Pruning? {
    resource.kind == "Pod" ? LoadOptions.compilePruning : nil
  }
}
