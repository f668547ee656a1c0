import PolicyModel

/// Two AdminNetworkPolicies with one priority whose subjects share a pod.
struct AdminPriorityOverlap: LintRule {
  let description = RuleDescription(
    id: "admin-priority-overlap", title: "AdminNetworkPolicies with the same priority select the same pods",
    rationale: """
      The API leaves the order of two AdminNetworkPolicies with the same priority undefined, so when \
      both select a pod, which rule wins can differ between network plugins and even between \
      restarts. Give each a priority of its own. (`policyc compile` orders them by name.) Without \
      pods in the inputs, subjects overlap when both select a common namespace.
      """,
    severity: .error,
    triggering: [
      """
      apiVersion: policy.networking.k8s.io/v1alpha1
      kind: AdminNetworkPolicy
      metadata: {name: deny-a}
      spec:
        priority: ↓5
        subject: {namespaces: {}}
        ingress: [{action: Deny, from: [{namespaces: {}}]}]
      ---
      apiVersion: policy.networking.k8s.io/v1alpha1
      kind: AdminNetworkPolicy
      metadata: {name: allow-b}
      spec:
        priority: ↓5
        subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}}
        ingress: [{action: Allow, from: [{namespaces: {}}]}]
      ---
      apiVersion: v1
      kind: Namespace
      metadata: {name: shop}
      """
    ],
    nonTriggering: [
      """
      apiVersion: policy.networking.k8s.io/v1alpha1
      kind: AdminNetworkPolicy
      metadata: {name: deny-a}
      spec:
        priority: 5
        subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}}
        ingress: [{action: Deny, from: [{namespaces: {}}]}]
      ---
      apiVersion: policy.networking.k8s.io/v1alpha1
      kind: AdminNetworkPolicy
      metadata: {name: allow-b}
      spec:
        priority: 5
        subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: bank}}}
        ingress: [{action: Allow, from: [{namespaces: {}}]}]
      ---
      apiVersion: v1
      kind: Namespace
      metadata: {name: shop}
      ---
      apiVersion: v1
      kind: Namespace
      metadata: {name: bank}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    let admin = context.inventory.adminPolicies.filter { $0.tier != .baseline }
    let pods = context.allCandidates
    var out: [Finding] = []
    let byPriority = Dictionary(grouping: admin) { $0.priority ?? -1 }
    for priority in byPriority.keys.sorted() {
      let group = byPriority[priority]!
      for (i, a) in group.enumerated() {
        for b in group[(i + 1)...] {
          guard let shared = overlap(a, b, pods: pods, context: context) else { continue }
          for (this, other) in [(a, b), (b, a)] {
            let there = context.location(of: other.meta, "spec.priority")
            out.append(
              Finding(
                ruleID: description.id, severity: description.severity,
                message:
                  "priority \(priority) is also the priority of AdminNetworkPolicy \(other.meta.name) "
                  + "(\(there.file):\(there.line):\(there.column)), and both select \(shared): "
                  + "their order is undefined",
                location: context.location(of: this.meta, "spec.priority"), fieldPath: "spec.priority",
                object: this.ref))
          }
        }
      }
    }
    return out
  }

  /// A pod (or, without pods, a namespace) both subjects select.
  func overlap(_ a: AdminPolicy, _ b: AdminPolicy, pods: [Pod], context: LintContext) -> String? {
    let labels = { (ns: String) in context.namespaceLabels[ns] ?? [Namespace.nameLabel: ns] }
    if !pods.isEmpty {
      let pod = pods.first {
        a.selects($0, namespaceLabels: labels($0.meta.namespace))
          && b.selects($0, namespaceLabels: labels($0.meta.namespace))
      }
      return pod.map { "pod \($0.lintName)" }
    }
    if a.subject == b.subject { return "the same subject" }
    let namespaces = Set(context.namespaces(matching: a.subject.namespaces))
    return context.namespaces(matching: b.subject.namespaces).first { namespaces.contains($0) }.map {
      "namespace \($0)"
    }
  }
}

extension LoaderRule {
  static let invalidAdminPolicy = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidAdminPolicy,
      title: "AdminNetworkPolicy or BaselineAdminNetworkPolicy the API server would refuse",
      rationale: """
        The policy breaks the CRD's schema or validation rules (a priority outside 0-1000, an action \
        other than Allow, Deny or Pass, Pass in the baseline, a baseline not named `default`, a \
        subject, peer or port with none or two of its one-of fields, more than 100 rules or peers), \
        or uses a peer policyc cannot enforce offline (`nodes`, `domainNames`). The object is not \
        compiled.
        """,
      severity: .error,
      triggering: [
        """
        apiVersion: policy.networking.k8s.io/v1alpha1
        kind: AdminNetworkPolicy
        metadata: {name: too-low}
        spec:
          priority: ↓1001
          subject: {namespaces: {}}
        """,
        """
        apiVersion: policy.networking.k8s.io/v1alpha1
        kind: BaselineAdminNetworkPolicy
        metadata: {name: default}
        spec:
          subject: {namespaces: {}}
          ingress: [{action: ↓Pass, from: [{namespaces: {}}]}]
        """,
      ],
      nonTriggering: [
        """
        apiVersion: policy.networking.k8s.io/v1alpha1
        kind: AdminNetworkPolicy
        metadata: {name: ok}
        spec:
          priority: 1000
          subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}
          egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}], ports: [{portRange: {start: 1, end: 1024}}]}]
        """
      ]))
}
