import PolicyModel

/// A rule whose traffic another rule of the same policy already allows:
/// dead weight that makes reviews slower and hides what was meant.
struct RedundantRule: LintRule {
  let description = RuleDescription(
    id: "redundant-rule", title: "rule already allowed by another rule of the policy",
    rationale: """
      Rules of a policy are additive, so a rule whose peers and ports are all covered by another \
      rule of the same direction changes nothing. Usually one of the two was meant to be narrower \
      or different; otherwise delete it. Coverage is judged on what is written (a peer covered by \
      one peer of the other rule, ports by the other rule's ports), so a rule covered only by \
      several rules together is not reported.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: api, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: api}}
        ingress:
        - from:
          - podSelector: {matchLabels: {app: web}}
          ports:
          - port: 8000
            endPort: 9000
        - ↓from:
          - podSelector: {matchLabels: {app: web, tier: front}}
          ports:
          - port: 8080
        - from:
          - ipBlock: {cidr: 10.0.0.0/8}
        - ↓from:
          - ipBlock: {cidr: 10.0.0.0/8}
      """
    ],
    nonTriggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: api, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: api}}
        ingress:
        - from:
          - podSelector: {matchLabels: {app: web}}
          ports:
          - port: 8080
        - from:
          - podSelector: {matchLabels: {app: admin}}
          ports:
          - port: 8080
        - from:
          - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
        - from:
          - ipBlock: {cidr: 10.1.0.0/16}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    var out: [Finding] = []
    for policy in context.inventory.policies {
      let labels =
        context.namespaceLabels[policy.meta.namespace] ?? [
          Namespace.nameLabel: policy.meta.namespace
        ]
      for direction in PolicyType.allCases {
        let rules = policy.rules(direction)
        let name = direction.rawValue.lowercased()
        for (i, rule) in rules.enumerated() {
          // Of two equal rules, the later one is reported.
          let by = rules.indices.first { j in
            j != i && Coverage.rule(rules[j], covers: rule, namespaceLabels: labels)
              && (j < i || !Coverage.rule(rule, covers: rules[j], namespaceLabels: labels))
          }
          guard let by else { continue }
          out.append(
            context.finding(
              description, "everything this rule allows is already allowed by spec.\(name)[\(by)]",
              policy: policy,
              path: "spec.\(name)[\(i)]"))
        }
      }
    }
    return out
  }
}
