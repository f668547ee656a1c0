import PolicyModel

/// An ipBlock that covers addresses of pods in the inputs.
struct IPBlockMatchesPods: LintRule {
  let description = RuleDescription(
    id: "ipblock-matches-pods", title: "ipBlock covers pod addresses",
    rationale: """
      ipBlock is meant for addresses outside the cluster; pod addresses change whenever a pod is \
      rescheduled. An ipBlock that covers pod addresses still matches those pods (and policyc \
      enforces that), so the rule allows more, or other, pods than its selectors suggest. Select \
      pods with podSelector/namespaceSelector, and `except` the pod network from wide blocks such \
      as 0.0.0.0/0. Only pods with addresses in the inputs (a `kubectl get -o yaml` dump) count.
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: db, namespace: shop}
      status: {phase: Running, podIP: 10.244.2.7}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec:
        podSelector: {}
        egress:
        - to:
          - ipBlock:
              cidr: ↓0.0.0.0/0
      """
    ],
    nonTriggering: [
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: db, namespace: shop}
      status: {phase: Running, podIP: 10.244.2.7}
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec:
        podSelector: {}
        egress:
        - to:
          - ipBlock:
              cidr: 0.0.0.0/0
              except: [10.244.0.0/16]
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    var out: [Finding] = []
    for policy in context.inventory.policies {
      for (block, path) in IPBlocks.all(policy) {
        let (found, count) = context.addresses.first(in: block)
        guard let (ip, first) = found else { continue }
        let more = count > 1 ? " and \(count - 1) more" : ""
        out.append(
          context.finding(
            description,
            "ipBlock \(block.cidr) covers the address of pod \(first.lintName) (\(ip))\(more)",
            policy: policy,
            path: path + ".cidr"))
      }
    }
    return out
  }
}

/// An ipBlock written with host bits set (`10.1.2.3/8`): accepted, and
/// taken to mean the whole network, which is rarely what was meant.
struct CIDRHostBits: LintRule {
  let description = RuleDescription(
    id: "cidr-host-bits", title: "CIDR with host bits set",
    rationale: """
      The API server accepts `10.1.2.3/8` and means 10.0.0.0/8: sixteen million addresses where \
      one host or a small subnet was probably meant. Write the network address, or the prefix \
      length you meant (`/32` for one host).
      """,
    severity: .warning,
    triggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec:
        podSelector: {}
        ingress:
        - from:
          - ipBlock:
              cidr: ↓192.168.10.5/16
              except: [↓192.168.10.7/24, 192.168.20.0/24]
      """
    ],
    nonTriggering: [
      """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: web, namespace: shop}
      spec:
        podSelector: {}
        ingress:
        - from:
          - ipBlock:
              cidr: 192.168.0.0/16
              except: [192.168.20.0/24, 192.168.10.5/32]
      """
    ])

  func check(_ context: LintContext) -> [Finding] {
    var out: [Finding] = []
    for policy in context.inventory.policies {
      for (block, path) in IPBlocks.all(policy) {
        for (cidr, field) in [(block.cidr, path + ".cidr")]
          + block.except.enumerated().map({ ($1, "\(path).except[\($0)]") })
        where cidr.hadHostBits {
          let written = context.text(of: policy.meta, field) ?? cidr.description
          out.append(
            context.finding(
              description, "\"\(written)\" has host bits set; it means the network \(cidr)",
              policy: policy, path: field))
        }
      }
    }
    return out
  }
}

enum IPBlocks {
  /// Every ipBlock of a policy with its field path (`spec.egress[0].to[1].ipBlock`).
  static func all(_ policy: NetworkPolicy) -> [(block: IPBlock, path: String)] {
    var out: [(block: IPBlock, path: String)] = []
    for direction in PolicyType.allCases {
      let field = direction == .ingress ? "from" : "to"
      for (i, rule) in policy.rules(direction).enumerated() {
        for (j, peer) in rule.peers.enumerated() {
          guard case .ipBlock(let block) = peer.kind else { continue }
          out.append(
            (block, "spec.\(direction.rawValue.lowercased())[\(i)].\(field)[\(j)].ipBlock"))
        }
      }
    }
    return out
  }
}
