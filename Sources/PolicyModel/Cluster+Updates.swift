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
    guard view == .node,
      Self.keepsNamespaces(
        updates, pods, podsByNamespace, takesPart: view.takesPart, mayLeaveOut: true, known: namespacesOfPods.contains,
        named: writtenNamespaces.contains)
    else { return false }
    Self.apply(updates, to: &pods, runs: &podsByNamespace, takesPart: view.takesPart)
    selections = Selections(namespaces: selections.namespaces.withLock { $0 })
    generation = Self.nextGeneration()
    return true
  }

  /// Replaces, adds or removes these NetworkPolicies in place, and takes
  /// these admin policies, as `init` would have them from the same objects:
  /// the others keep their sorted places, and the pods, the namespaces, the
  /// selector results and the generation stay. False, changing nothing,
  /// when the namespaces would differ: a new policy in a namespace nothing
  /// names, or a namespace only policies named left without any.
  public mutating func updatePolicies(_ updates: some Collection<PolicyUpdate>, adminPolicies: [AdminPolicy]) -> Bool {
    guard
      Self.keepsNamespaces(
        updates, policies, policiesByNamespace, takesPart: { _ in true }, mayLeaveOut: false,
        known: { namespaceLabels[$0] != nil },
        named: namespacesOfPods.contains)
    else { return false }
    Self.apply(updates, to: &policies, runs: &policiesByNamespace, takesPart: { _ in true })
    (self.adminPolicies, baseline) = Self.tiers(adminPolicies)
    return true
  }

  /// Whether updating `updates` keeps the namespaces: every new object is
  /// in a `known` one, and a namespace left without objects of this kind
  /// is still `named` by something else.
  static func keepsNamespaces<T: Namespaced>(
    _ updates: some Collection<Update<T>>, _ items: [T], _ runs: [String: Range<Int>], takesPart: (T) -> Bool,
    mayLeaveOut: Bool, known: (String) -> Bool, named: (String) -> Bool
  ) -> Bool {
    var left: [String: Int] = [:]
    for update in updates {
      if let object = update.object {
        guard object.meta.namespace == update.namespace, object.meta.name == update.name, known(update.namespace)
        else { return false }
      }
      let had = index(of: update.name, in: runs[update.namespace], of: items) == nil ? 0 : 1
      let has = update.object.map(takesPart) == true ? 1 : 0
      // Nothing held and nothing to hold: a change of nothing, unless the
      // object was one left out, which may have named its namespace.
      if had == 0, has == 0, !mayLeaveOut { continue }
      left[update.namespace, default: runs[update.namespace]?.count ?? 0] += has - had
    }
    return left.allSatisfy { $0.value > 0 || named($0.key) }
  }

  /// Applies `updates` to `items`, sorted by namespace and name with
  /// their `runs`: an object replaced keeps its place; one added or
  /// removed moves those after it, and the runs follow.
  static func apply<T: Namespaced>(
    _ updates: some Collection<Update<T>>, to items: inout [T], runs: inout [String: Range<Int>],
    takesPart: (T) -> Bool
  ) {
    for update in updates {
      let object = update.object.flatMap { takesPart($0) ? $0 : nil }
      switch (index(of: update.name, in: runs[update.namespace], of: items), object) {
      case (let i?, let object?): items[i] = object
      case (let i?, nil):
        items.remove(at: i)
        shift(&runs, from: i, by: -1, namespace: update.namespace)
      case (nil, let object?):
        let at = insertionPoint(object, in: items, runs: runs)
        items.insert(object, at: at)
        shift(&runs, from: at, by: 1, namespace: update.namespace)
      case (nil, nil): break
      }
    }
  }

  /// After an object of `namespace` was removed at `index` (`by` -1) or
  /// inserted there (+1): its run grows or shrinks, the runs after it move.
  static func shift(_ runs: inout [String: Range<Int>], from index: Int, by delta: Int, namespace: String) {
    for (name, run) in runs {
      if name == namespace {
        let upper = run.upperBound + delta
        runs[name] = run.lowerBound < upper ? run.lowerBound..<upper : nil
      } else if run.lowerBound >= index {
        runs[name] = (run.lowerBound + delta)..<(run.upperBound + delta)
      }
    }
    // An object inserted into a namespace without any starts its run.
    if delta > 0, runs[namespace] == nil { runs[namespace] = index..<(index + 1) }
  }

  /// The index of the object `name` in its namespace's `run` of `items`
  /// (the last, if they hold it twice).
  static func index<T: Namespaced>(of name: String, in run: Range<Int>?, of items: [T]) -> Int? {
    guard let run else { return nil }
    let end = position(after: name, in: run, of: items)
    return end > run.lowerBound && items[end - 1].meta.name == name ? end - 1 : nil
  }

  /// The first index of `run` whose object's name sorts after `name`.
  static func position<T: Namespaced>(after name: String, in run: Range<Int>, of items: [T]) -> Int {
    var (low, high) = (run.lowerBound, run.upperBound)
    while low < high {
      let middle = (low + high) / 2
      if items[middle].meta.name <= name { low = middle + 1 } else { high = middle }
    }
    return low
  }

  /// Where `object` goes among `items` (before those that sort after it).
  static func insertionPoint<T: Namespaced>(_ object: T, in items: [T], runs: [String: Range<Int>]) -> Int {
    if let run = runs[object.meta.namespace] { return position(after: object.meta.name, in: run, of: items) }
    // A namespace with none yet: after every object of namespaces before it.
    var (low, high) = (0, items.count)
    while low < high {
      let middle = (low + high) / 2
      if items[middle].meta.namespace < object.meta.namespace { low = middle + 1 } else { high = middle }
    }
    return low
  }
}
