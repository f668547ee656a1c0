import PolicyModel

/// One way a peer can match: any address, one host, or a CIDR with its
/// excepts (each ipBlock keeps its own excepts: one block's except never cuts
/// into another block).
enum PeerAlternative: Hashable, Comparable {
  case any
  case host(IPAddress)
  case block(CIDR, except: [CIDR])
  /// Membership in an ipset policyc made (ipset mode).
  case set(String)

  static func < (lhs: PeerAlternative, rhs: PeerAlternative) -> Bool {
    if case .set(let a) = lhs, case .set(let b) = rhs { return a < b }
    return lhs.sortKey < rhs.sortKey
  }

  var sortKey: (Int, IPAddress, Int) {
    switch self {
    case .any: return (0, IPAddress(family: .ipv4, value: 0), 0)
    case .host(let ip): return (1, ip, 0)
    case .block(let cidr, _): return (2, cidr.network, cidr.prefix)
    case .set: return (3, IPAddress(family: .ipv4, value: 0), 0)
    }
  }
}

/// One way a port can match, optionally tied to a destination address (a
/// named port resolved on one particular pod).
struct PortAlternative: Hashable, Comparable {
  var proto: NetProtocol?
  var range: ClosedRange<Int>?
  var destination: IPAddress?

  static func < (lhs: PortAlternative, rhs: PortAlternative) -> Bool {
    let l = (
      lhs.destination ?? IPAddress(family: .ipv4, value: 0), lhs.proto?.rawValue ?? "", lhs.range?.lowerBound ?? 0,
      lhs.range?.upperBound ?? 0
    )
    let r = (
      rhs.destination ?? IPAddress(family: .ipv4, value: 0), rhs.proto?.rawValue ?? "", rhs.range?.lowerBound ?? 0,
      rhs.range?.upperBound ?? 0
    )
    return l < r
  }

  var matches: [Match] {
    var out: [Match] = []
    if let destination { out.append(.address(.destination, .host(destination))) }
    if let proto { out.append(.transport(proto, ports: range)) }
    return out
  }
}

/// The peers and ports of one policy rule, as the alternatives the rules
/// that set the mark bit are made of.
struct RuleLowering {
  let cluster: Cluster
  let options: EmitOptions
  var family: IPAddress.Family { options.family }

  func address(_ pod: Pod) -> IPAddress? { pod.address(family) }

  /// Peer alternatives of a rule, for a policy in `namespace`.
  func peerAlternatives(_ rule: PolicyRule, namespace: String) -> [PeerAlternative] {
    // "`from`/`to` empty or missing: every source/destination."
    if rule.peers.isEmpty { return [.any] }
    var out = Set<PeerAlternative>()
    for peer in rule.peers {
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        for ip in cluster.peerAddresses(pods: pods, namespaces: namespaces, policyNamespace: namespace, family: family)
        {
          out.insert(.host(ip))
        }
      case .ipBlock(let block):
        guard block.cidr.family == family else { continue }
        out.insert(
          block.cidr.prefix == 0 && block.except.isEmpty ? .any : .block(block.cidr, except: block.except.sorted()))
      }
    }
    return out.sorted()
  }

  /// Pods a rule's peers contain (for named ports in egress rules, which
  /// resolve against the peer pod). ipBlock peers contribute the pods whose
  /// address they cover.
  func peerPods(_ rule: PolicyRule, namespace: String) -> [Pod] {
    if rule.peers.isEmpty { return cluster.pods }
    var indices = Set<Int>()
    for peer in rule.peers {
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        indices.formUnion(cluster.peerPods(pods: pods, namespaces: namespaces, policyNamespace: namespace))
      case .ipBlock(let block):
        // By the address of this file's family: a dual-stack pod inside an
        // IPv6 block is no IPv4 peer.
        for (i, pod) in cluster.pods.enumerated() where address(pod).map(block.contains) ?? false {
          indices.insert(i)
        }
      }
    }
    return indices.sorted().map { cluster.pods[$0] }
  }

  /// Numeric and protocol-only entries; named entries resolved per pod in
  /// `namedDestinations` ("against the DESTINATION pod's container ports").
  func portAlternatives(_ rule: PolicyRule, namedDestinations: () -> [Pod]) -> (
    plain: [PortAlternative], named: [PortAlternative]
  ) {
    // "`ports` empty or missing: all ports, all protocols."
    if rule.ports.isEmpty { return ([PortAlternative(proto: nil, range: nil, destination: nil)], []) }
    var plain = Set<PortAlternative>()
    var named = Set<PortAlternative>()
    var destinations: [Pod]?
    for entry in rule.ports {
      switch entry.port {
      case nil: plain.insert(PortAlternative(proto: entry.proto, range: nil, destination: nil))
      case .number(let start)?:
        plain.insert(PortAlternative(proto: entry.proto, range: start...(entry.endPort ?? start), destination: nil))
      case .name(let name)?:
        if destinations == nil { destinations = namedDestinations() }
        for pod in destinations! {
          guard let ip = address(pod) else { continue }
          for number in pod.numbers(forPortName: name, proto: entry.proto) {
            named.insert(PortAlternative(proto: entry.proto, range: number...number, destination: ip))
          }
        }
      }
    }
    return (plain.sorted(), named.sorted())
  }
}
