import PolicyModel

/// A policy's podSelector, or a peer of one of its rules, that picks no pod
/// or workload of the inputs: a typo in a label, or a policy for a namespace
/// whose pods carry other labels.
struct SelectorMatchesNothing: LintRule {
  let description = RuleDescription(
    id: "selector-matches-nothing", title: "selector picks no pod or workload",
    rationale: """
      A selector that matches nothing usually hides a typo in a label key or value, or labels that \
      changed. A podSelector that picks nothing makes the policy do nothing; a peer that picks \
      nothing allows nothing. Only checked when the inputs hold pods or workloads (Deployments, \
      StatefulSets, Jobs, ...) to resolve selectors against; namespaces whose pods the inputs do \
      not hold are not judged, and namespace labels only when the inputs hold Namespace objects.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: shop, labels: {team: web}}
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: shop}
      spec:
        template:
          metadata:
            labels: {app: web}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: api, namespace: shop}
      spec:
        podSelector: ↓{matchLabels: {app: api}}
        ingress:
        - from:
          - podSelector: ↓{matchLabels: {app: wbe}}
          - namespaceSelector: ↓{matchLabels: {team: ops}}
      """
    ],
    nonTriggering: [
      """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: shop}
      spec:
        template:
          metadata:
            labels: {app: web}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: web}}
        ingress:
        - from:
          - podSelector: {matchLabels: {app: web}}
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
        egress:
        # kube-system's pods are not in the inputs: not judged.
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
            podSelector: {matchLabels: {k8s-app: kube-dns}}
      """,
      // Without pods or workloads there is nothing to resolve against.
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: api, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: api}}
      """,
    ])

  func check(_ context: LintContext) -> [Finding] {
    guard context.hasPods else { return [] }
    var out: [Finding] = []
    for policy in context.inventory.policies {
      let ns = policy.meta.namespace
      if context.targets(of: policy).isEmpty {
        let none = (context.candidates[ns] ?? []).isEmpty
        var why =
          none
          ? "the inputs hold no pod or workload in namespace \"\(ns)\""
          : "no pod or workload in namespace \"\(ns)\" matches"
        if !context.targets(of: policy, among: context.bystanders).isEmpty {
          why += Self.bystanders
        }
        out.append(
          context.finding(
            description, "podSelector selects nothing: \(why)", policy: policy,
            path: "spec.podSelector"))
      }
      for direction in PolicyType.allCases {
        let field = direction == .ingress ? "from" : "to"
        for (i, rule) in policy.rules(direction).enumerated() {
          for (j, peer) in rule.peers.enumerated() {
            guard case .selectors(let pods, let namespaces) = peer.kind,
              let (message, selector) = problem(
                pods: pods, namespaces: namespaces, policy: policy, context)
            else { continue }
            let path = "spec.\(direction.rawValue.lowercased())[\(i)].\(field)[\(j)].\(selector)"
            out.append(context.finding(description, message, policy: policy, path: path))
          }
        }
      }
    }
    return out
  }

  /// What is wrong with a selector peer, and which of its selectors to point
  /// at. Namespaces whose pods the inputs do not hold are not judged: a
  /// repository of one application names other teams' namespaces.
  func problem(
    pods: LabelSelector?, namespaces: LabelSelector?, policy: NetworkPolicy, _ context: LintContext
  )
    -> (String, String)?
  {
    let which = pods != nil ? "podSelector" : "namespaceSelector"
    guard let namespaces else {
      let ns = policy.meta.namespace
      guard !context.peerPicksAny(pods: pods, namespaces: nil, policy: policy) else { return nil }
      return (
        "peer selects nothing: no pod or workload in namespace \"\(ns)\" matches"
          + note(pods, nil, policy, context), which
      )
    }
    let matched = context.namespaces(matching: namespaces)
    if matched.isEmpty {
      // A namespace named outright exists somewhere else; and labels can only
      // be judged when the inputs hold Namespace objects with their labels.
      let byName =
        namespaces.matchLabels[Namespace.nameLabel] != nil
        || namespaces.expressions.contains { $0.key == Namespace.nameLabel && $0.op == .in }
      guard !byName, !context.inventory.namespaces.isEmpty else { return nil }
      return ("namespaceSelector matches no namespace in the inputs", "namespaceSelector")
    }
    guard matched.contains(where: context.heldNamespaces.contains),
      !context.peerPicksAny(pods: pods, namespaces: namespaces, policy: policy)
    else { return nil }
    return (
      "peer selects nothing: no pod or workload in the selected namespaces matches"
        + note(pods, namespaces, policy, context), which
    )
  }

  static let bystanders = " (only host-network or finished pods do, and no policy applies to them)"

  /// Says so when the selector does match pods, but only ones that take no part.
  func note(
    _ pods: LabelSelector?, _ namespaces: LabelSelector?, _ policy: NetworkPolicy,
    _ context: LintContext
  ) -> String {
    context.peerPods(pods: pods, namespaces: namespaces, policy: policy, among: context.bystanders)
      .isEmpty ? "" : Self.bystanders
  }
}
