/// Why an input cannot be the cluster a node's rules are built from.
///
/// Enforcement built from an empty or wrong input is not "no policy": it
/// removes every rule the node had. A failing `kubectl` in a pipe, an empty
/// directory, a typo in `--node` or `--family ipv6` on an IPv4-only cluster
/// all look like a cluster without policies. compile, apply (and the agent)
/// refuse them unless the user says the input is meant (`--allow-empty`).
public enum InputRefusal: Error, Equatable, Sendable {
  /// No Kubernetes object at all.
  case nothingRead
  /// Objects, but no Pod: `read` names what was read instead.
  case noPods(read: [String])
  /// `--node` names a node no pod runs on.
  case unknownNode(String, seen: [String])
  /// The family asked for, and no pod has an address of it.
  case noAddresses(IPAddress.Family)

  /// The first reason `inventory` cannot be enforced for `node` and
  /// `family` (nil: it can). `family` nil means every family (nft).
  public static func check(_ inventory: Inventory, node: String?, family: IPAddress.Family?) -> InputRefusal? {
    let objects =
      inventory.namespaces.count + inventory.pods.count + inventory.policies.count + inventory.adminPolicies.count
      + inventory.workloads.count + inventory.skipped.count
    if objects == 0 { return .nothingRead }
    if inventory.pods.isEmpty { return .noPods(read: readInstead(inventory)) }
    if let node, !inventory.pods.contains(where: { $0.nodeName == node }) {
      return .unknownNode(node, seen: Set(inventory.pods.compactMap(\.nodeName)).sorted())
    }
    if let family, !inventory.pods.contains(where: { $0.ips.contains { $0.family == family } }) {
      return .noAddresses(family)
    }
    return nil
  }

  /// What the input held instead of pods, by kind: `2 NetworkPolicies, 1 Deployment`.
  static func readInstead(_ inventory: Inventory) -> [String] {
    var byKind: [String: Int] = [:]
    byKind["Namespace", default: 0] += inventory.namespaces.count
    byKind["NetworkPolicy", default: 0] += inventory.policies.count
    for policy in inventory.adminPolicies { byKind[policy.kind, default: 0] += 1 }
    for workload in inventory.workloads { byKind[workload.workloadKind ?? "workload", default: 0] += 1 }
    for object in inventory.skipped { byKind[object.kind, default: 0] += 1 }
    return byKind.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { kind, n in
      Wording.count(n, kind, kind.hasSuffix("Policy") ? String(kind.dropLast()) + "ies" : nil)
    }
  }

  /// The message, after `where` (the input paths) and before the
  /// consequence (`nothing written`, `nothing changed`).
  public func message(inputs: String, consequence: String) -> String {
    switch self {
    case .nothingRead:
      return "\(inputs): no Kubernetes objects read; \(consequence) (is the command that feeds policyc failing?)"
    case .noPods(let read):
      let what = read.isEmpty ? "" : " (read \(read.joined(separator: ", ")))"
      return
        "\(inputs): no Pod objects read\(what); rules are built from the cluster's pods and namespaces as well as its policies, such as `kubectl get ns,pods,networkpolicies -A -o yaml`; \(consequence)"
    case .unknownNode(let node, let seen):
      let nodes = seen.isEmpty ? "no pod names a node" : "nodes seen: \(Wording.list(seen))"
      let hint = Wording.nearest(to: node, among: seen).map { "; did you mean \"\($0)\"?" } ?? ""
      return "--node \"\(node)\": no pod in \(inputs) runs on this node (\(nodes))\(hint); \(consequence)"
    case .noAddresses(let family):
      let name = family == .ipv6 ? "IPv6" : "IPv4"
      let flag = family == .ipv6 ? "ipv6" : "ipv4"
      return "--family \(flag): no pod in \(inputs) has an \(name) address; \(consequence)"
    }
  }

  /// The way out, printed after the message.
  public static let override =
    "if this input is meant (a drained or new node, an empty cluster), run again with --allow-empty"
}
