import PolicyModel

/// Lowers a resolved cluster into the typed chains one node needs, for one
/// address family. Every decision is made here, once; the backends only
/// spell it.
///
/// Shape of the result (every jump direction-specific):
///
///     FORWARD: replies pass; then EGRESS, INGRESS
///     EGRESS:  source <local pod isolated for egress>       goto EP-<pod>
///     INGRESS: destination <local pod isolated for ingress> goto IP-<pod>
///     EP/IP-<pod>: for each policy selecting the pod: jump to its chain,
///                  return if it set the mark; else reject (or drop)
///     EG/IN-<policy>: one rule per allowed (peer, port): set the mark
///
/// Allowed traffic returns instead of being accepted, so rules of other
/// software after the jump still see it; the mark bit is cleared before
/// leaving.
public struct RuleCompiler {
  public let cluster: Cluster
  public let options: EmitOptions
  var namer = ChainNamer()
  /// Policy, admin-policy and helper chains, in the order they were made.
  var chains: [Chain] = []
  var sets: [String: AddressSet] = [:]
  /// Policy identity -> its chain's name, or "" when it allows nothing in
  /// that direction: each policy's chain is built once for all its pods.
  var policyChainNames: [String: String] = [:]
  /// The same for admin policies and the baseline.
  var adminChainNames: [String: String] = [:]
  var podDependence = PodDependence()
  /// Chains and peers other nodes of the fleet built, when compiling many.
  var memo: FleetMemo?
  /// Chains of policies kept from earlier compiles of this node, and the
  /// entries this compile used of them.
  var kept: KeptChains?
  var keptUsed: Set<KeptChains.Key> = []

  public init(cluster: Cluster, options: EmitOptions, memo: FleetMemo? = nil, kept: KeptChains? = nil) {
    self.cluster = cluster
    self.options = options
    self.memo = memo
    self.kept = kept
  }

  public enum Failure: Error, CustomStringConvertible {
    case nameCollision([String])
    public var description: String {
      switch self {
      case .nameCollision(let names):
        return "chain name collision for \(names.joined(separator: ", ")); please report this input"
      }
    }
  }

  /// One node's rules. Compiles of many nodes of one cluster may share a
  /// `memo`, and successive compiles of one node may share `kept`: the
  /// result is the same with or without them.
  public static func compile(
    _ cluster: Cluster, options: EmitOptions, memo: FleetMemo? = nil, kept: KeptChains? = nil
  ) throws(Failure) -> RuleSet {
    var compiler = RuleCompiler(cluster: cluster, options: options, memo: memo, kept: kept)
    return try compiler.run()
  }

  /// The names of the shared chains.
  public static let root = "FORWARD"
  public static func dispatchChain(_ direction: PolicyType) -> String {
    direction == .ingress ? "INGRESS" : "EGRESS"
  }

  var lowering: RuleLowering { RuleLowering(cluster: cluster, options: options) }

  /// Local pods with an address of the family, sorted by namespace/name.
  var localPods: [Pod] {
    guard let node = options.node else { return cluster.pods.filter { lowering.address($0) != nil } }
    return cluster.pods(onNode: node).map { cluster.pods[$0] }.filter { lowering.address($0) != nil }
  }

  mutating func run() throws(Failure) -> RuleSet {
    let local = localPods
    var dispatch: [PolicyType: [Rule]] = [.ingress: [], .egress: []]
    var podChains: [Chain] = []
    for direction in [PolicyType.egress, .ingress] {
      for pod in local {
        guard let ip = lowering.address(pod), let chain = podChain(pod, ip: ip, direction: direction, local: local)
        else { continue }
        podChains.append(chain)
        let field: AddressField = direction == .ingress ? .destination : .source
        dispatch[direction]!.append(Rule([.address(field, .host(ip))], .goto(chain.name), comment: chain.owner))
      }
    }
    if !namer.collisions.isEmpty { throw .nameCollision(namer.collisions.sorted()) }
    kept?.sweep(options: options, used: keptUsed, generation: cluster.generation)
    var ruleSet = RuleSet(
      family: options.family,
      chains: sharedChains(dispatch) + podChains + chains.sorted { $0.name < $1.name },
      entry: Self.root,
      sets: sets.values.sorted { $0.name < $1.name },
      summary: summary(local: local, dispatch: dispatch))
    ruleSet.podDependence = podDependence
    return ruleSet
  }

  /// The root chain and the two dispatch chains.
  func sharedChains(_ dispatch: [PolicyType: [Rule]]) -> [Chain] {
    // IPv6 needs neighbour discovery (and router discovery, redirects)
    // whatever the policies say, or nothing reaches a policed pod at all;
    // conntrack does not track it, so it is let through by type, first.
    let neighbourDiscovery =
      options.family == .ipv6
      ? Self.ndpTypes.map { Rule([.icmpv6(type: $0.type)], .return, comment: "ICMPv6 \($0.name)") } : []
    let root = Chain(
      name: Self.root, owner: "policyc", role: .root,
      rules: neighbourDiscovery + [
        Rule([.conntrack([.related, .established])], .return),
        Rule(.jump(Self.dispatchChain(.egress))),
        Rule(.jump(Self.dispatchChain(.ingress))),
        // In audit mode a packet an admin tier would deny comes back
        // with the tier's deny bit set: clear every bit policyc uses.
        Rule(options.denyAction == .audit ? options.tierClear : options.markClear),
      ])
    return [root]
      + [PolicyType.egress, .ingress].map {
        Chain(name: Self.dispatchChain($0), owner: "policyc", role: .dispatch, rules: dispatch[$0]!)
      }
  }

  func summary(local: [Pod], dispatch: [PolicyType: [Rule]]) -> [String] {
    [
      "node: \(options.node.map(Sanitize.token) ?? "(all pods local)")"
        + (options.family == .ipv6 ? ", family: ipv6" : ""),
      "local pods: \(local.count), pods in cluster: \(cluster.pods.count), policies: \(cluster.policies.count)"
        + (cluster.allAdminPolicies.isEmpty
          ? ""
          : ", admin policies: \(cluster.adminPolicies.count), baseline: \(cluster.baseline == nil ? "none" : "default")"),
      "isolated: \(dispatch[.ingress]!.count) for ingress, \(dispatch[.egress]!.count) for egress",
    ]
  }

  /// ICMPv6 types of neighbour and router discovery (RFC 4861), by number,
  /// as ip6tables-save prints them (apply compares what it loaded with that).
  static let ndpTypes: [(type: Int, name: String)] = [
    (133, "router-solicitation"), (134, "router-advertisement"), (135, "neighbour-solicitation"),
    (136, "neighbour-advertisement"), (137, "redirect"),
  ]
}
