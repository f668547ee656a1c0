import PolicyModel

/// The same NetworkPolicy (namespace and name) defined twice.
struct DuplicatePolicy: LintRule {
  let description = RuleDescription(
    id: "duplicate-policy", title: "NetworkPolicy defined twice",
    rationale: """
      Two manifests with the same namespace and name describe one object: applying both keeps only \
      the last one applied, so half of what was written is lost depending on file order. Rename \
      one or merge them. (`policyc compile` refuses such input.)
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec: {podSelector: {}}
      ---
      ↓apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec: {podSelector: {matchLabels: {app: web}}}
      """
    ],
    nonTriggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec: {podSelector: {}}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop-staging}
      spec: {podSelector: {}}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    context.inventory.diagnostics.filter {
      $0.ruleID == RuleID.duplicateObject
        && context.index.object(at: $0.location)?.kind == "NetworkPolicy"
    }.map {
      var finding = Finding(diagnostic: $0, severity: description.severity)
      finding.ruleID = description.id
      return finding
    }
  }
}

/// Rules in a direction that an explicit `policyTypes` leaves out.
struct IgnoredRules: LintRule {
  let description = RuleDescription(
    id: "ignored-rules", title: "rules ignored because policyTypes leaves out their direction",
    rationale: """
      With `policyTypes` written, only the listed directions are enforced: `egress` rules of a \
      policy with `policyTypes: [Ingress]` are ignored (and the pods' egress stays open). Add the \
      direction to `policyTypes` or delete the rules.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec:
        podSelector: {}
        policyTypes: [Ingress]
        ingress: [{}]
        ↓egress:
        - to: [{podSelector: {}}]
      """
    ],
    nonTriggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec:
        podSelector: {}
        ingress: [{}]
        egress:
        - to: [{podSelector: {}}]
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    var out: [Finding] = []
    for policy in context.inventory.policies where policy.policyTypesWritten {
      for direction in PolicyType.allCases
      where !policy.applies(to: direction) && !policy.rules(direction).isEmpty {
        let name = direction.rawValue.lowercased()
        let types = policy.policyTypes.map(\.rawValue).joined(separator: ", ")
        out.append(
          context.finding(
            description, "\(name) rules are ignored: policyTypes is [\(types)]", policy: policy,
            path: "spec.\(name)",
            key: true))
      }
    }
    return out
  }
}
