/// An agent's cluster between compiles: the pods and policies a watch
/// changed, updated in the cluster of the last compile instead of building
/// one from every object (50,000 pods) again.
extension Cluster {
  /// One object's new version, or nil when it was deleted (or is no
  /// longer one the cluster holds).
  public struct Update<Object: Sendable>: Sendable {
    public var namespace: String
    public var name: String
    public var object: Object?

    public init(namespace: String, name: String, object: Object?) {
      self.namespace = namespace
      self.name = name
      self.object = object
    }
  }

  public typealias PodUpdate = Update<Pod>
  public typealias PolicyUpdate = Update<NetworkPolicy>

  /// The cluster `init` would build from the same objects with these pods
  /// replaced, added or removed; see `updatePods`.
  public func updatingPods(_ updates: some Collection<PodUpdate>) -> Cluster? {
    var updated = self
    return updated.updatePods(updates) ? updated : nil
  }

  /// Replaces, adds or removes these pods in place, as `init` would have
  /// them from the same objects: a pod replaced keeps its place, one added
  /// or removed shifts the pods after it, and namespaces, policies and
  /// namespace selector results stay; pod selector results do not (indices
  /// move), and the cluster takes a new `generation`. Held by one owner
  /// (an agent's last cluster), the pods are not copied.
  ///
  /// Returns false, changing nothing (the caller builds the cluster anew),
  /// when the namespaces could differ: a pod in a namespace no pod or
  /// Namespace named, or a namespace left without pods of this cluster and
  /// not written (a pod it leaves out, such as a host-network one, may
  /// still name it); and for the analysis view.
  public mutating func updatePods(_ updates: some Collection<PodUpdate>) -> Bool {
    guard view == .node else { return false }
    var left: [String: Int] = [:]
    for update in updates {
      if let pod = update.object {
        guard pod.meta.namespace == update.namespace, pod.meta.name == update.name,
          namespacesOfPods.contains(update.namespace)
        else { return false }
      }
      let had = podIndex(namespace: update.namespace, name: update.name) == nil ? 0 : 1
      let has = update.object.map(view.takesPart) == true ? 1 : 0
      left[update.namespace, default: podsByNamespace[update.namespace]?.count ?? 0] += has - had
    }
    guard left.allSatisfy({ $0.value > 0 || writtenNamespaces.contains($0.key) }) else { return false }
    for update in updates {
      let pod = update.object.flatMap { view.takesPart($0) ? $0 : nil }
      switch (podIndex(namespace: update.namespace, name: update.name), pod) {
      case (let i?, let pod?): pods[i] = pod
      case (let i?, nil):
        pods.remove(at: i)
        shiftRuns(from: i, by: -1, namespace: update.namespace)
      case (nil, let pod?):
        let at = insertionPoint(pod)
        pods.insert(pod, at: at)
        shiftRuns(from: at, by: 1, namespace: update.namespace)
      case (nil, nil): break
      }
    }
    selections = Selections(namespaces: selections.namespaces.withLock { $0 })
    generation = Self.nextGeneration()
    return true
  }

  /// After a pod of `namespace` was removed at `index` (`by` -1) or
  /// inserted there (+1): its run grows or shrinks, the runs after it move.
  mutating func shiftRuns(from index: Int, by delta: Int, namespace: String) {
    for (name, run) in podsByNamespace {
      if name == namespace {
        let upper = run.upperBound + delta
        podsByNamespace[name] = run.lowerBound < upper ? run.lowerBound..<upper : nil
      } else if run.lowerBound >= index {
        podsByNamespace[name] = (run.lowerBound + delta)..<(run.upperBound + delta)
      }
    }
    // A pod inserted into a namespace without pods starts its run.
    if delta > 0, podsByNamespace[namespace] == nil { podsByNamespace[namespace] = index..<(index + 1) }
  }

  /// Where `pod` goes among `pods` (before pods that sort after it).
  func insertionPoint(_ pod: Pod) -> Int {
    if let run = podsByNamespace[pod.meta.namespace] {
      return Self.position(after: pod.meta.name, in: run, of: pods)
    }
    // A namespace with no pod yet: after every pod of namespaces before it.
    var (low, high) = (0, pods.count)
    while low < high {
      let middle = (low + high) / 2
      if pods[middle].meta.namespace < pod.meta.namespace { low = middle + 1 } else { high = middle }
    }
    return low
  }

  /// `replacing(policies:adminPolicies:)` given the policies that changed
  /// instead of all of them: the others stay in their sorted order, so
  /// nothing is sorted but the changed ones.
  public func replacing(policyUpdates updates: some Collection<PolicyUpdate>, adminPolicies: [AdminPolicy])
    -> Cluster?
  {
    var dropped = Set<Int>()
    for update in updates {
      if let policy = update.object, policy.meta.namespace != update.namespace || policy.meta.name != update.name {
        return nil
      }
      if let i = Self.policyIndex(policies, namespace: update.namespace, name: update.name) { dropped.insert(i) }
    }
    var changed = updates.compactMap(\.object)
    changed.sort(by: Self.ordered(_:before:))
    var merged: [NetworkPolicy] = []
    merged.reserveCapacity(policies.count - dropped.count + changed.count)
    var next = changed.makeIterator()
    var pending = next.next()
    for (i, policy) in policies.enumerated() where !dropped.contains(i) {
      while let new = pending, Self.ordered(new, before: policy) {
        merged.append(new)
        pending = next.next()
      }
      merged.append(policy)
    }
    while let new = pending {
      merged.append(new)
      pending = next.next()
    }
    return replacing(policies: merged, adminPolicies: adminPolicies)
  }

  static func ordered(_ a: NetworkPolicy, before b: NetworkPolicy) -> Bool {
    a.meta.namespace == b.meta.namespace ? a.meta.name < b.meta.name : a.meta.namespace < b.meta.namespace
  }

  /// The index of the policy `namespace/name` among sorted `policies`.
  static func policyIndex(_ policies: [NetworkPolicy], namespace: String, name: String) -> Int? {
    var (low, high) = (0, policies.count)
    while low < high {
      let middle = (low + high) / 2
      let meta = policies[middle].meta
      if meta.namespace < namespace || meta.namespace == namespace && meta.name < name {
        low = middle + 1
      } else {
        high = middle
      }
    }
    guard low < policies.count, policies[low].meta.namespace == namespace, policies[low].meta.name == name else {
      return nil
    }
    return low
  }
}
