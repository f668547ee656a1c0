import NodeApply
import PolicyModel
import RuleModel

/// The host sets of one family's last apply, what decides their members,
/// and the state NodeApply keeps of them: enough to apply a pod update
/// elsewhere in the cluster as set member changes, without a compile.
struct PodSets: Sendable {
  var family: IPAddress.Family
  var dependence: PodDependence
  /// Members of the sets named in `dependence.setPeers`, as loaded.
  var members: [String: Set<IPAddress>]
  /// iptables: NodeApply's state of the family and its file; nil for nft.
  var state: ApplyState?
  var statePath: String?

  init(
    model: RuleSet, state: ApplyState?, statePath: String?, hosts: (AddressSet) -> Set<IPAddress> = PodSets.hosts
  ) {
    family = model.family
    dependence = model.podDependence
    var members: [String: Set<IPAddress>] = [:]
    for set in model.sets where model.podDependence.setPeers[set.name] != nil { members[set.name] = hosts(set) }
    self.members = members
    self.state = state
    self.statePath = statePath
  }

  /// A set's host members.
  static func hosts(_ set: AddressSet) -> Set<IPAddress> {
    Set(set.members.compactMap { member in if case .host(let ip) = member { ip } else { nil } })
  }
}

/// Pods updated since the last apply, each with the version the last apply
/// saw, and what else changed.
struct PodTouches: Sendable {
  /// Key -> the pod at the last apply (nil: it did not exist then).
  var before: [String: Pod?] = [:]
  /// Something other than pods and policies changed (a namespace, a
  /// relist): pod updates alone cannot be planned.
  var needsCompile = true
  /// Policies changed: a compile follows the pod updates.
  var policiesChanged = false

  /// Records a pod update; only the first since the last apply keeps its
  /// previous version, which is the applied one.
  mutating func note(_ key: String, previous: Pod?) {
    if before.index(forKey: key) == nil { before[key] = .some(previous) }
  }
}

/// The cache's pods by address, to tell whether another pod still holds an
/// address a set keeps (addresses are reused).
struct PodAddresses: Sendable {
  var keys: [IPAddress: Set<String>] = [:]

  init(_ pods: [String: Pod]) {
    for (key, pod) in pods { insert(key, pod) }
  }

  mutating func insert(_ key: String, _ pod: Pod) {
    for ip in pod.ips { keys[ip, default: []].insert(key) }
  }

  mutating func remove(_ key: String, _ pod: Pod) {
    for ip in pod.ips {
      keys[ip]?.remove(key)
      if keys[ip]?.isEmpty == true { keys[ip] = nil }
    }
  }
}

/// Turns pod updates into set member changes, exactly as a compile of the
/// whole cluster would change the sets, or says why a compile is needed.
enum PodUpdates {
  struct Needed: Error, CustomStringConvertible {
    var description: String
  }

  /// The member changes of every family in `sets` for the pods in
  /// `touches`, naming the model's sets. `pod` and `namespace` look up the
  /// cache as it is now.
  static func plan(
    _ touches: PodTouches, node: String?, sets: [PodSets], addresses: PodAddresses,
    pod current: (String) -> Pod?, namespace: (String) -> Namespace?
  ) -> Result<[[SetMemberChange]], Needed> {
    guard !touches.needsCompile else { return .failure(Needed(description: "not only pods changed")) }
    guard let node, !sets.isEmpty else { return .failure(Needed(description: "no sets of a last apply")) }
    func labels(_ pod: Pod) -> [String: String] {
      Cluster.labels(ofNamespace: pod.meta.namespace, written: namespace(pod.meta.namespace))
    }
    func contains(_ peers: some Sequence<PeerSelector>, _ pod: Pod) -> Bool {
      peers.contains { peer in
        Cluster.peerContains(
          pods: peer.pods, namespaces: peer.namespaces, policyNamespace: peer.policyNamespace, pod: pod,
          namespaceLabels: labels(pod))
      }
    }
    var touchedAddresses = Set<IPAddress>()
    for (key, before) in touches.before {
      for version in [before, current(key)].compactMap({ $0 }) {
        // A pod of this node has chains of its own.
        if version.nodeName == node { return .failure(Needed(description: "a pod of this node changed")) }
        if version.ports.contains(where: { $0.name != nil }),
          sets.contains(where: { $0.dependence.namedPortsOfAnyPod || contains($0.dependence.namedPortPeers, version) })
        {
          return .failure(Needed(description: "a named port the rules resolve may have changed"))
        }
        touchedAddresses.formUnion(version.ips)
      }
    }
    return .success(
      sets.map { family in
        var changes: [SetMemberChange] = []
        let touched = touchedAddresses.filter { $0.family == family.family }.sorted()
        for (name, peers) in family.dependence.setPeers.sorted(by: { $0.key < $1.key }) {
          var added: [String] = []
          var removed: [String] = []
          for address in touched {
            // A member while some participating pod with this address (of
            // this family, its first) is in one of the peers.
            let wanted = (addresses.keys[address] ?? []).contains { key in
              guard let pod = current(key), pod.participates,
                pod.address(family.family) == address
              else { return false }
              return contains(peers, pod)
            }
            let held = family.members[name]?.contains(address) ?? false
            if wanted && !held { added.append(address.description) }
            if !wanted && held { removed.append(address.description) }
          }
          if !added.isEmpty || !removed.isEmpty {
            changes.append(SetMemberChange(set: name, added: added, removed: removed))
          }
        }
        return changes
      })
  }
}
