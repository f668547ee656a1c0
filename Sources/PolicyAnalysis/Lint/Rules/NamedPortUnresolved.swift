import PolicyModel

/// A named port no destination pod defines with that protocol: the entry
/// then allows nothing.
struct NamedPortUnresolved: LintRule {
  let description = RuleDescription(
    id: "named-port-unresolved", title: "named port defined by no destination pod",
    rationale: """
      A named port resolves against the destination pod's container ports, name and protocol both \
      (for ingress rules the pods the policy selects, for egress rules the peer pods). When no such \
      pod defines it, the entry allows nothing: often a typo, or `protocol` left at its TCP default \
      for a UDP port. Only checked when the inputs hold the destination pods or workloads.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: dns, namespace: shop, labels: {app: dns}}
      spec:
        containers:
        - name: dns
          ports:
          - {name: dns, containerPort: 53, protocol: UDP}
          - {name: metrics, containerPort: 9153}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: dns, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: dns}}
        ingress:
        - ports:
          - port: ↓dns
          - port: ↓metrics-http
      """
    ],
    nonTriggering: [
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: dns, namespace: shop, labels: {app: dns}}
      spec:
        containers:
        - name: dns
          ports:
          - {name: dns, containerPort: 53, protocol: UDP}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: dns, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: dns}}
        ingress:
        - ports:
          - {port: dns, protocol: UDP}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    guard context.hasPods else { return [] }
    var out: [Finding] = []
    for policy in context.inventory.policies {
      for direction in PolicyType.allCases {
        for (i, rule) in policy.rules(direction).enumerated() {
          guard rule.ports.contains(where: { if case .name? = $0.port { true } else { false } })
          else { continue }
          // "Resolved against the DESTINATION pod: for ingress rules, each
          // selected target pod; for egress rules, each peer pod."
          let targets = direction == .ingress ? context.targets(of: policy) : []
          let anyDestination = { (test: (Pod) -> Bool) -> Bool in
            direction == .ingress
              ? targets.contains(where: test) : self.anyPeer(rule, policy, context, where: test)
          }
          guard anyDestination({ _ in true }) else { continue }
          for (j, entry) in rule.ports.enumerated() {
            guard case .name(let name)? = entry.port else { continue }
            if anyDestination({ $0.resolve(portName: name, proto: entry.proto) != nil }) {
              continue
            }
            let who = direction == .ingress ? "pod the policy selects" : "peer pod of this rule"
            var message =
              "named port \"\(name)\" (\(entry.proto.rawValue)) is not defined by any \(who)"
            let others = NetProtocol.allCases.filter { p in
              anyDestination { $0.resolve(portName: name, proto: p) != nil }
            }
            if !others.isEmpty {
              message +=
                "; it is defined for \(others.map(\.rawValue).joined(separator: ", ")) (set protocol)"
            }
            let path = "spec.\(direction.rawValue.lowercased())[\(i)].ports[\(j)].port"
            out.append(context.finding(description, message, policy: policy, path: path))
          }
        }
      }
    }
    return out
  }

  /// Whether an egress rule reaches a pod passing `test`: any pod without
  /// peers, else the pods of its selector peers and the pods whose addresses
  /// its ipBlocks cover.
  func anyPeer(
    _ rule: PolicyRule, _ policy: NetworkPolicy, _ context: LintContext, where test: (Pod) -> Bool
  ) -> Bool {
    if rule.peers.isEmpty { return context.candidates.values.contains { $0.contains(where: test) } }
    return rule.peers.contains { peer in
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        return context.peerPicksAny(pods: pods, namespaces: namespaces, policy: policy, where: test)
      case .ipBlock(let block): return context.addresses.contains(in: block, where: test)
      }
    }
  }
}
