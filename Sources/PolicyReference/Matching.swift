import PolicyModel

extension IndependentReference {
  /// apimachinery label selectors: every matchLabels pair and every
  /// expression must hold; an empty selector selects everything.
  func selectorHolds(_ selector: LabelSelector, _ labels: [String: String]) -> Bool {
    // "matchLabels {k: v} needs key k present with value v."
    for (key, value) in selector.matchLabels {
      guard let actual = labels[key], actual == value else { return false }
    }
    for requirement in selector.expressions {
      let actual = labels[requirement.key]
      switch requirement.op {
      case .in:
        guard let actual, requirement.values.contains(actual) else { return false }
      case .notIn:
        // "NotIn and DoesNotExist MATCH a pod that does not have the key."
        if let actual, requirement.values.contains(actual) { return false }
      case .exists:
        if actual == nil { return false }
      case .doesNotExist:
        if actual != nil { return false }
      }
    }
    return true
  }

  /// "from/to empty or missing: every source/destination, in-cluster or not."
  func peersMatch(_ peers: [Peer], policyNamespace: String?, _ traffic: Traffic) -> Bool {
    if peers.isEmpty { return true }
    for peer in peers {
      switch peer.kind {
      case .selectors(let podSelector, let namespaceSelector):
        guard let pod = traffic.peer else { continue }
        if let namespaceSelector {
          // "Peer with both: pods matching the pod selector INSIDE namespaces
          // matching the namespace selector (AND, not OR)."
          guard let labels = namespaceLabels[pod.meta.namespace], selectorHolds(namespaceSelector, labels) else {
            continue
          }
        } else if pod.meta.namespace != policyNamespace {
          // "Peer with only podSelector: pods in the policy's namespace."
          continue
        }
        if podSelector.map({ selectorHolds($0, pod.meta.labels) }) ?? true { return true }
      case .ipBlock(let block):
        // "ipBlock: matches any address inside cidr and outside every except,
        // INCLUDING pod IPs. Each ipBlock is independent."
        guard let address = traffic.peerAddress, inside(address, block.cidr) else { continue }
        if !block.except.contains(where: { inside(address, $0) }) { return true }
      }
    }
    return false
  }

  /// Whether an address lies in a CIDR: same family, and the first `prefix`
  /// bits equal.
  func inside(_ address: IPAddress, _ cidr: CIDR) -> Bool {
    guard address.family == cidr.network.family else { return false }
    let width = address.family == .ipv4 ? 32 : 128
    let hostBits = width - cidr.prefix
    if hostBits >= width { return true }
    return address.value >> UInt128(hostBits) == cidr.network.value >> UInt128(hostBits)
  }

  /// "ports empty or missing: all ports, all protocols." "protocol without
  /// port: every port of that protocol."
  func portsMatch(_ ports: [PolicyPort], _ traffic: Traffic) -> Bool {
    if ports.isEmpty { return true }
    for entry in ports where entry.proto == traffic.proto {
      switch entry.port {
      case nil:
        return true
      case .number(let first)?:
        // "endPort ... the range is inclusive."
        if traffic.port >= first && traffic.port <= (entry.endPort ?? first) { return true }
      case .name(let name)?:
        // "A named port is resolved against the DESTINATION pod's container
        // ports (name AND protocol must match)"; regular containers and
        // sidecars count (`Pod.ports` holds both as decoded). "A pod that
        // does not define the name contributes nothing for that entry."
        guard let destination = traffic.destination else { continue }
        for container in destination.ports
        where container.name == name && container.proto == traffic.proto && container.number == traffic.port {
          return true
        }
      }
    }
    return false
  }
}
