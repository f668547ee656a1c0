import PolicyModel
import Synchronization

/// The chains and sets each policy built, kept from one compile of a node
/// to the next: an agent recompiles its node on every policy change, and
/// most policies are the ones it compiled a moment ago.
///
/// A policy's chain (with its helper chains, its sets and what it tells
/// about pods elsewhere) depends on the policy, the cluster's pods and
/// namespaces, and the options; not on the other policies. So an entry is
/// reused only when all three are what it was built from: the policy's
/// whole value (any field changed is another policy), the cluster's
/// `generation` (which only `Cluster.updatePolicies`, the same pods and
/// namespaces with other policies, keeps), and the options, which are part
/// of the key. It is built as `FleetMemo` builds, on a compiler holding
/// nothing yet, and replayed in the order a fresh compile builds, so the
/// result is the same bytes. Entries no compile of the same options used
/// (a policy deleted, or no longer selecting a pod of the node) go at the
/// end of each compile.
public final class KeptChains: Sendable {
  /// One chain of one policy for one direction, under one set of options.
  struct Key: Hashable {
    var options: EmitOptions
    /// "policy", or the admin policy's kind.
    var kind: String
    var namespace: String
    var name: String
    var direction: PolicyType
  }

  /// What a chain was built from, besides the options in its key.
  enum Source: Equatable {
    case policy(NetworkPolicy)
    case admin(AdminPolicy)
  }

  struct Entry {
    var source: Source
    var generation: UInt64
    var effects: FleetMemo.Effects<String>
  }

  struct State {
    var entries: [Key: Entry] = [:]
    /// The generation `admits` last saw.
    var generation: UInt64?
    var reused = 0
    var built = 0
  }

  let state = Mutex(State())

  public init() {}

  /// How many chains the last compiles took from here and built anew,
  /// since the last call; for the agent's log.
  public func takeCounts() -> (reused: Int, built: Int) {
    state.withLock { state in
      defer { (state.reused, state.built) = (0, 0) }
      return (state.reused, state.built)
    }
  }

  /// Whether compiling `cluster` with these kept chains pays: only when the
  /// compile before had the same pods and namespaces (so the next one
  /// likely will too). The first compile of a new generation goes without:
  /// while pods change on every compile, nothing kept would ever be
  /// reused, and building each chain apart to keep it costs time.
  public func admits(_ cluster: Cluster) -> Bool {
    state.withLock { state in
      defer { state.generation = cluster.generation }
      if state.generation == cluster.generation { return true }
      state.entries = [:]
      return false
    }
  }

  /// Carries what was kept from a compile of `from` over to `to`, a
  /// cluster with the same namespaces and policies whose pods differ only
  /// where the rules see them through host set members: the caller has
  /// checked that no pod of the node changed and no named port the rules
  /// resolve did (what an agent checks before it applies pod updates as
  /// member changes). Chains and their names then stay what they are, and
  /// each kept set named in `members` (by family, then set name) takes those
  /// members, which must be the set's members in a compile of `to`. Returns
  /// false, keeping nothing, when the entries are not those of `from`.
  @discardableResult
  public func rebase(from: UInt64, to: UInt64, members: [IPAddress.Family: [String: Set<IPAddress>]]) -> Bool {
    state.withLock { state in
      guard state.generation == from else {
        state.entries = [:]
        return false
      }
      state.generation = to
      var rebased: [Key: Entry] = [:]
      for (key, var entry) in state.entries where entry.generation == from {
        entry.generation = to
        let updated = members[key.options.family] ?? [:]
        for index in entry.effects.sets.indices {
          if let hosts = updated[entry.effects.sets[index].name] {
            entry.effects.sets[index].members = hosts.map { .host($0) }.sorted()
          }
        }
        rebased[key] = entry
      }
      state.entries = rebased
      return true
    }
  }

  /// The policies with a chain kept, as `policy/<namespace>/<name>` or
  /// `<kind>//<name>`.
  public var owners: Set<String> {
    state.withLock { Set($0.entries.keys.map { "\($0.kind)/\($0.namespace)/\($0.name)" }) }
  }

  func entry(_ key: Key, source: Source, generation: UInt64) -> FleetMemo.Effects<String>? {
    state.withLock { state in
      guard let entry = state.entries[key], entry.generation == generation, entry.source == source else {
        return nil
      }
      state.reused += 1
      return entry.effects
    }
  }

  func keep(_ key: Key, _ entry: Entry) {
    state.withLock { state in
      state.entries[key] = entry
      state.built += 1
    }
  }

  /// Drops what this compile did not use of the entries for its family
  /// and set mode (those of other options there are stale), and every
  /// entry of another cluster generation.
  func sweep(options: EmitOptions, used: Set<Key>, generation: UInt64) {
    state.withLock { state in
      state.entries = state.entries.filter { key, entry in
        guard entry.generation == generation else { return false }
        let sameSlot = key.options.family == options.family && key.options.useIPSets == options.useIPSets
        return !sameSlot || used.contains(key)
      }
    }
  }
}

extension RuleCompiler {
  /// The chain `build` makes for `source` in `direction`, from `kept` when
  /// it holds the same policy built over the same pods with these options.
  mutating func keptChain(
    _ kept: KeptChains, _ source: KeptChains.Source, direction: PolicyType,
    _ build: (inout RuleCompiler) -> String
  ) -> String {
    let key: KeptChains.Key
    switch source {
    case .policy(let policy):
      key = KeptChains.Key(
        options: options, kind: "policy", namespace: policy.meta.namespace, name: policy.meta.name,
        direction: direction)
    case .admin(let policy):
      key = KeptChains.Key(
        options: options, kind: policy.kind, namespace: "", name: policy.meta.name, direction: direction)
    }
    keptUsed.insert(key)
    if let known = kept.entry(key, source: source, generation: cluster.generation) { return replay(known) }
    let effects = isolated(build)
    kept.keep(key, KeptChains.Entry(source: source, generation: cluster.generation, effects: effects))
    return replay(effects)
  }
}
