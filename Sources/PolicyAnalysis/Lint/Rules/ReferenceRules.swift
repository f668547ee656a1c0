import PolicyModel

/// A namespaceSelector that names, by `kubernetes.io/metadata.name`, a
/// namespace the inputs neither define nor use: most often a typo (`apii`
/// for `api`), which makes the peer allow nothing.
struct UnknownNamespace: LintRule {
  let description = RuleDescription(
    id: "unknown-namespace", title: "namespaceSelector names a namespace the inputs do not hold",
    rationale: """
      A namespaceSelector on `kubernetes.io/metadata.name` (in `matchLabels` or an `In` expression) \
      picks namespaces by name. A name that no Namespace, pod, workload or policy of the inputs has \
      is usually a typo, and a peer naming it allows nothing there. Only checked when the inputs \
      define or use namespaces (a Namespace object, or an object with a namespace written); the \
      namespaces every cluster has (default, kube-system, kube-public, kube-node-lease) always count \
      as known. Says which known namespace was probably meant.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: api}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web-egress, namespace: web}
      spec:
        podSelector: {}
        policyTypes: [Egress]
        egress:
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ↓apii}}
        - to:
          - namespaceSelector:
              matchExpressions:
              - {key: kubernetes.io/metadata.name, operator: In, values: [web, ↓kube-sytem]}
      """
    ],
    nonTriggering: [
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: api}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web-egress, namespace: web}
      spec:
        podSelector: {}
        policyTypes: [Egress]
        egress:
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: api}}
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
          # NotIn names namespaces to leave out: not a reference.
          - namespaceSelector:
              matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [apii]}]
      """,
      // No namespace written or defined anywhere: nothing to compare against.
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web-egress}
      spec:
        podSelector: {}
        egress:
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: apii}}
      """,
    ])

  /// Namespaces every cluster has.
  static let builtIn = ["default", "kube-node-lease", "kube-public", "kube-system"]

  func check(_ context: LintContext) -> [Finding] {
    let inventory = context.inventory
    let written =
      !inventory.namespaces.isEmpty
      || (inventory.pods + inventory.workloads).contains { $0.meta.namespaceWritten }
      || inventory.policies.contains { $0.meta.namespaceWritten }
    guard written else { return [] }
    let known = Set(context.namespaceLabels.keys).union(Self.builtIn)
    var out: [Finding] = []
    for policy in inventory.policies {
      for direction in PolicyType.allCases {
        let field = direction == .ingress ? "from" : "to"
        for (i, rule) in policy.rules(direction).enumerated() {
          for (j, peer) in rule.peers.enumerated() {
            guard case .selectors(_, let namespaces?) = peer.kind else { continue }
            let base = "spec.\(direction.rawValue.lowercased())[\(i)].\(field)[\(j)].namespaceSelector"
            for (name, path) in Self.names(in: namespaces, base: base) where !known.contains(name) {
              out.append(
                context.finding(
                  description,
                  "namespaceSelector names namespace \"\(name)\", which the inputs do not hold"
                    + Wording.didYouMean(name, among: known),
                  policy: policy, path: path))
            }
          }
        }
      }
    }
    return out
  }

  /// Namespace names a selector asks for, with the field path of each.
  static func names(in selector: LabelSelector, base: String) -> [(String, String)] {
    var out: [(String, String)] = []
    if let name = selector.matchLabels[Namespace.nameLabel] {
      out.append((name, "\(base).matchLabels[\"\(Namespace.nameLabel)\"]"))
    }
    for (k, requirement) in selector.expressions.enumerated()
    where requirement.key == Namespace.nameLabel && requirement.op == .in {
      for (v, name) in requirement.values.enumerated() {
        out.append((name, "\(base).matchExpressions[\(k)].values[\(v)]"))
      }
    }
    return out
  }
}

/// An AdminNetworkPolicy (or the baseline) whose subject selects no pod, or
/// one of whose peers selects nothing: the policy, or that rule, does
/// nothing.
struct AdminSelectsNothing: LintRule {
  let description = RuleDescription(
    id: "admin-selects-nothing", title: "AdminNetworkPolicy subject or peer selects nothing",
    rationale: """
      A subject that selects no pod makes the whole AdminNetworkPolicy do nothing; a peer that \
      selects nothing makes its rule never match, so an intended Deny does not deny. Usually a \
      typo in a namespace name or a label. Only checked when the inputs hold pods or workloads \
      (pods without an address count: they are selected by identity); namespaces whose pods the \
      inputs do not hold are not judged, and namespace labels only when the inputs hold Namespace \
      objects. Says which namespace or label value was probably meant.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: shop}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: web-1, namespace: shop, labels: {app: web}}
      spec: {containers: [{name: web}]}
      ---
      apiVersion: policy.networking.k8s.io/v1alpha1
      kind: AdminNetworkPolicy
      metadata: {name: deny-shop}
      spec:
        priority: 10
        subject: ↓{namespaces: {matchLabels: {kubernetes.io/metadata.name: shopp}}}
        ingress:
        - name: no-web
          action: Deny
          from:
          - ↓pods:
              namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
              podSelector: {matchLabels: {app: wep}}
      """
    ],
    nonTriggering: [
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: shop}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: web-1, namespace: shop, labels: {app: web}}
      spec: {containers: [{name: web}]}
      ---
      apiVersion: policy.networking.k8s.io/v1alpha1
      kind: AdminNetworkPolicy
      metadata: {name: deny-shop}
      spec:
        priority: 10
        subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}}
        ingress:
        - action: Deny
          from:
          - pods:
              namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
              podSelector: {matchLabels: {app: web}}
          # Pods of namespaces the inputs do not hold are not judged.
          - namespaces: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    guard context.hasPods else { return [] }
    let pods = context.allCandidates
    let labels = { (ns: String) in context.namespaceLabels[ns] ?? [Namespace.nameLabel: ns] }
    var out: [Finding] = []
    for policy in context.inventory.adminPolicies {
      if selectsNothing(namespaces: policy.subject.namespaces, pods: policy.subject.pods, context),
        !pods.contains(where: { policy.selects($0, namespaceLabels: labels($0.meta.namespace)) })
      {
        let hint = hint(namespaces: policy.subject.namespaces, pods: policy.subject.pods, context)
        out.append(
          Finding(
            ruleID: description.id, severity: description.severity,
            message: "\(policy.kind) \(policy.meta.name): subject selects no pod" + hint,
            location: context.location(of: policy.meta, "spec.subject"), fieldPath: "spec.subject",
            object: policy.ref))
      }
      for direction in PolicyType.allCases {
        let field = direction == .ingress ? "from" : "to"
        for (i, rule) in policy.rules(direction).enumerated() {
          for (j, peer) in rule.match.peers.enumerated() {
            guard case .selectors(let podSelector, let nsSelector?) = peer.kind else { continue }
            guard selectsNothing(namespaces: nsSelector, pods: podSelector, context) else { continue }
            out.append(
              Finding(
                ruleID: description.id, severity: description.severity,
                message:
                  "\(policy.kind) \(policy.meta.name)" + (rule.name.isEmpty ? "" : " rule \"\(rule.name)\"")
                  + ": peer selects nothing"
                  + hint(namespaces: nsSelector, pods: podSelector, context),
                location: peer.location,
                fieldPath: "spec.\(direction.rawValue.lowercased())[\(i)].\(field)[\(j)]", object: policy.ref))
          }
        }
      }
    }
    return out
  }

  /// Whether a namespace selector (and pod selector) picks no pod, judged
  /// only where the inputs can tell: a namespace named outright that the
  /// inputs do not hold (and no cluster has by default), namespace labels
  /// when the inputs hold Namespace objects, pods of namespaces they hold.
  func selectsNothing(namespaces nsSelector: LabelSelector, pods podSelector: LabelSelector?, _ context: LintContext)
    -> Bool
  {
    let namespaces = context.namespaces(matching: nsSelector)
    if namespaces.isEmpty {
      let named = UnknownNamespace.names(in: nsSelector, base: "").map(\.0)
      if !named.isEmpty { return named.allSatisfy { !UnknownNamespace.builtIn.contains($0) } }
      return !context.inventory.namespaces.isEmpty
    }
    guard namespaces.contains(where: context.heldNamespaces.contains) else { return false }
    return !namespaces.contains { ns in
      (context.candidates[ns] ?? []).contains { podSelector?.matches($0.meta.labels) ?? true }
    }
  }

  /// A "did you mean" for the first name or label value that matches
  /// nothing: a namespace name near one the inputs hold, or a pod label value
  /// near one the pods of the selected namespaces carry.
  func hint(namespaces: LabelSelector, pods: LabelSelector?, _ context: LintContext) -> String {
    let known = Set(context.namespaceLabels.keys)
    for (name, _) in UnknownNamespace.names(in: namespaces, base: "") where !known.contains(name) {
      let near = Wording.didYouMean(name, among: known)
      if !near.isEmpty { return ": no namespace \"\(name)\"" + near }
    }
    guard let pods else { return "" }
    let candidates = context.namespaces(matching: namespaces).flatMap { context.candidates[$0] ?? [] }
    for key in pods.matchLabels.keys.sorted() {
      let value = pods.matchLabels[key]!
      let values = candidates.compactMap { $0.meta.labels[key] }
      guard !values.contains(value) else { continue }
      if let near = Wording.nearest(to: value, among: values) {
        return ": no pod with \(key)=\(value) (did you mean \(key)=\(near)?)"
      }
    }
    return ""
  }
}
