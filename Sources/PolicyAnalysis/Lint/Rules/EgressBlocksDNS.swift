import PolicyModel

/// A policy that isolates egress of pods while nothing lets those pods reach
/// DNS: name lookups then time out, the most common way an egress policy
/// breaks an application.
struct EgressBlocksDNS: LintRule {
  let description = RuleDescription(
    id: "egress-blocks-dns", title: "egress isolation blocks DNS",
    rationale: """
      Once a policy isolates a pod's egress, only what some egress rule allows gets out, and DNS is \
      not exempt. Allow port 53 over UDP and over TCP (answers too large for UDP are retried over \
      TCP) to your DNS service, in this policy or another that selects the same pods. Pods in the \
      inputs are checked one by one; without pods, policies of the same namespace whose podSelector \
      certainly covers this one's count.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: deny-egress, namespace: shop}
      spec:
        podSelector: {}
        policyTypes: [Ingress, ↓Egress]
      """,
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: api-egress, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: api}}
        ↓egress:
        - to:
          - namespaceSelector: {}
          ports:
          - {port: 53, protocol: UDP}
      """,
    ],
    nonTriggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: deny-egress, namespace: shop}
      spec:
        podSelector: {}
        policyTypes: [Egress]
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: allow-dns, namespace: shop}
      spec:
        podSelector: {}
        policyTypes: [Egress]
        egress:
        - to:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
            podSelector: {matchLabels: {k8s-app: kube-dns}}
          ports:
          - {port: 53, protocol: UDP}
          - {port: 53, protocol: TCP}
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    let egressPolicies = context.inventory.policies.filter { $0.applies(to: .egress) }
    let byNamespace = Dictionary(grouping: egressPolicies, by: \.meta.namespace)
    let dnsNames = Self.dnsPortNames(context)
    // What each pod lacks depends only on the policies that select it: work
    // it out once per pod, not once per pod and policy.
    var lacking: [String: Set<NetProtocol>] = [:]
    var out: [Finding] = []
    for policy in egressPolicies {
      let targets = context.targets(of: policy)
      var missing: Set<NetProtocol> = []
      var example: Pod?
      if targets.isEmpty {
        // No pods to go by: count the policies that select at least this one's pods.
        let covering = (byNamespace[policy.meta.namespace] ?? []).filter {
          Coverage.selector($0.podSelector, covers: policy.podSelector)
        }
        missing = Self.lacking(covering, dnsNames)
      } else {
        for pod in targets {
          let key = pod.lintName
          let lack =
            lacking[key]
            ?? Self.lacking(
              (byNamespace[pod.meta.namespace] ?? []).filter {
                $0.podSelector.matches(pod.meta.labels)
              }, dnsNames)
          lacking[key] = lack
          if lack.count > missing.count {
            missing = lack
            example = pod
          }
        }
      }
      guard !missing.isEmpty else { continue }
      let what =
        missing.count == 2
        ? "no egress rule allows DNS (port 53 over UDP and TCP)"
        : "no egress rule allows DNS over \(missing.first!.rawValue) port 53"
      let whose = example.map { " for \($0.lintName)" } ?? ""
      out.append(
        context.finding(
          description, "egress is isolated and \(what)\(whose)", policy: policy, path: path(policy),
          key: true))
    }
    return out
  }

  /// Port names that stand for DNS: those some pod of the inputs defines as
  /// 53 (with their protocol); nil when the inputs hold no pods to tell, so
  /// every name may be DNS.
  static func dnsPortNames(_ context: LintContext) -> Set<String>? {
    guard context.hasPods else { return nil }
    var names: Set<String> = []
    for pod in context.allCandidates {
      for port in pod.ports where port.number == 53 {
        if let name = port.name { names.insert("\(name)/\(port.proto.rawValue)") }
      }
    }
    return names
  }

  /// Where the policy turns egress isolation on: its `Egress` policy type,
  /// or the `egress` key that made the default include it.
  func path(_ policy: NetworkPolicy) -> String {
    if policy.policyTypesWritten, let i = policy.policyTypes.firstIndex(of: .egress) {
      // The loader keeps written types in order, so the index matches the YAML.
      return "spec.policyTypes[\(i)]"
    }
    return "spec.egress"
  }

  /// Which of UDP and TCP port 53 no egress rule of these policies allows.
  static func lacking(_ policies: [NetworkPolicy], _ dnsNames: Set<String>?) -> Set<NetProtocol> {
    var missing: Set<NetProtocol> = [.udp, .tcp]
    for rule in policies.flatMap(\.egress) {
      if rule.ports.isEmpty { return [] }
      for entry in rule.ports where allowsDNS(entry, dnsNames) { missing.remove(entry.proto) }
      if missing.isEmpty { return [] }
    }
    return missing
  }

  static func allowsDNS(_ entry: PolicyPort, _ dnsNames: Set<String>?) -> Bool {
    switch entry.port {
    case nil: return true
    case .number(let start)?: return (start...(entry.endPort ?? start)).contains(53)
    case .name(let name)?: return dnsNames?.contains("\(name)/\(entry.proto.rawValue)") ?? true
    }
  }
}
