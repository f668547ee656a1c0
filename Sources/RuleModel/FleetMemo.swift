import PolicyModel
import Synchronization

/// What compiling one node builds that does not depend on the node,
/// remembered for the other nodes of a fleet (`compile --all-nodes`).
///
/// A policy's chain depends on the node only through its local targets,
/// which only ingress named ports read ("against the DESTINATION pod's
/// container ports"); every other chain, and every rule's peers, is the same
/// on every node. Such a chain is built once, on a compiler holding nothing
/// yet, and what that build added (chains, sets, names) is replayed into
/// each node's compile, so a node gets the chains and sets it would have
/// built itself, byte for byte. Threads share a memo; an entry built twice
/// is the same entry.
public final class FleetMemo: Sendable {
  /// The options a chain's content depends on (besides the cluster).
  struct Variant: Hashable {
    var family: IPAddress.Family
    var useIPSets: Bool
    var markBit: UInt32

    init(_ options: EmitOptions) {
      (family, useIPSets, markBit) = (options.family, options.useIPSets, options.markBit)
    }
  }

  struct Key: Hashable {
    var variant: Variant
    var parts: [String]
  }

  /// What one build added to a compiler that held nothing, and what it returned.
  struct Effects<Result: Sendable>: Sendable {
    var result: Result
    var chains: [Chain]
    var sets: [AddressSet]
    var names: ChainNamer
    var dependence: PodDependence
  }

  let chains = Mutex<[Key: Effects<String>]>([:])
  let peers = Mutex<[Key: Effects<[PeerAlternative]>]>([:])
  /// The names of the chains and sets of `chains` and `peers`, by variant.
  let shared = Mutex<[Variant: Set<String>]>([:])

  public init() {}

  /// Whether every node compiled with `options` that has a chain or set of
  /// this name has the same one: true for those the memo built.
  public func isShared(_ name: String, options: EmitOptions) -> Bool {
    shared.withLock { $0[Variant(options)]?.contains(name) ?? false }
  }

  func remember<Result>(_ effects: Effects<Result>, variant: Variant) {
    shared.withLock { names in
      names[variant, default: []].formUnion(effects.chains.map(\.name))
      names[variant, default: []].formUnion(effects.sets.map(\.name))
    }
  }
}

extension RuleCompiler {
  /// Runs `build` on a compiler of the same cluster and options that holds
  /// nothing yet, and returns what it added.
  func isolated<Result>(_ build: (inout RuleCompiler) -> Result) -> FleetMemo.Effects<Result> {
    var fresh = RuleCompiler(cluster: cluster, options: options)
    let result = build(&fresh)
    return FleetMemo.Effects(
      result: result, chains: fresh.chains, sets: Array(fresh.sets.values), names: fresh.namer,
      dependence: fresh.podDependence)
  }

  /// Adds what an isolated build added, as if it had run here: a set this
  /// compiler already holds keeps its owner (the first policy that needed it).
  mutating func replay<Result>(_ effects: FleetMemo.Effects<Result>) -> Result {
    chains += effects.chains
    for set in effects.sets where sets[set.name] == nil { sets[set.name] = set }
    namer.absorb(effects.names)
    podDependence.absorb(effects.dependence)
    return effects.result
  }

  /// The chain `build` makes for the policy `parts` names, from the memo.
  mutating func memoizedChain(_ parts: [String], _ build: (inout RuleCompiler) -> String) -> String {
    guard let memo else { preconditionFailure("memoizedChain without a memo") }
    let key = FleetMemo.Key(variant: FleetMemo.Variant(options), parts: parts)
    if let known = memo.chains.withLock({ $0[key] }) { return replay(known) }
    let effects = isolated(build)
    memo.chains.withLock { $0[key] = effects }
    memo.remember(effects, variant: key.variant)
    return replay(effects)
  }

  /// One rule's peers (in ipset mode, its sets), from the memo when there is one.
  mutating func peerAlternatives(
    _ rule: PolicyRule, namespace: String, owner: String, identity: [String]
  ) -> [PeerAlternative] {
    func build(_ compiler: inout RuleCompiler) -> [PeerAlternative] {
      compiler.options.useIPSets
        ? compiler.setPeerAlternatives(rule, namespace: namespace, owner: owner)
        : compiler.lowering.peerAlternatives(rule, namespace: namespace)
    }
    guard let memo else { return build(&self) }
    let key = FleetMemo.Key(variant: FleetMemo.Variant(options), parts: ["peers", namespace] + identity)
    if let known = memo.peers.withLock({ $0[key] }) { return replay(known) }
    let effects = isolated(build)
    memo.peers.withLock { $0[key] = effects }
    memo.remember(effects, variant: key.variant)
    return replay(effects)
  }

  /// Fills `memo` with the chains of the NetworkPolicies that select a pod
  /// of the node, built on up to `jobs` threads. A compile of the node with
  /// this memo replays them, in its own order, instead of building them one
  /// after another, and its result is a compile's without a memo, as for a
  /// fleet. Chains that read the node's local targets are left to it.
  public static func warm(_ memo: FleetMemo, cluster: Cluster, options: EmitOptions, jobs: Int) {
    let local = RuleCompiler(cluster: cluster, options: options).localPods
    var seen = Set<[String]>()
    var work: [(policy: NetworkPolicy, direction: PolicyType)] = []
    for direction in [PolicyType.egress, .ingress] {
      for pod in local {
        for policy in cluster.policies(selecting: pod, for: direction)
        where !readsLocalTargets(policy.rules(direction), direction: direction)
          && seen.insert([direction.rawValue, policy.meta.namespace, policy.meta.name]).inserted
        {
          work.append((policy, direction))
        }
      }
    }
    _ = ParallelMap.map(work.count, jobs: jobs) { i in
      var compiler = RuleCompiler(cluster: cluster, options: options, memo: memo)
      _ = compiler.policyChain(work[i].policy, direction: work[i].direction, local: [])
    }
  }

  /// Whether a policy's chain for `direction` reads the node's local
  /// targets: only ingress named ports do.
  static func readsLocalTargets(_ rules: [PolicyRule], direction: PolicyType) -> Bool {
    direction == .ingress
      && rules.contains { rule in
        rule.ports.contains { if case .name? = $0.port { return true } else { return false } }
      }
  }
}
