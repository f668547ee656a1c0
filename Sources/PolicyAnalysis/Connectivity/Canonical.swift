public import PolicyModel

/// A canonical text of a policy's meaning-bearing fields, to tell an edited
/// policy from an untouched one (file position and key order do not count).
public enum Canonical {
  public static func text(_ p: NetworkPolicy) -> String {
    var out = "sel=\(selector(p.podSelector));types=\(p.policyTypes.sorted().map(\.rawValue).joined(separator: ","))"
    for (name, rules) in [("in", p.ingress), ("eg", p.egress)] {
      // Order carries no meaning: rules, peers and ports are sorted.
      out += ";\(name)=[" + rules.map(rule).sorted().joined(separator: "|") + "]"
    }
    return out
  }

  /// Rule order carries meaning here (the first match wins), so it is kept.
  public static func text(_ p: AdminPolicy) -> String {
    var out = "tier=\(p.priority.map(String.init) ?? "baseline");ns=\(selector(p.subject.namespaces))"
    out += ";pods=\(p.subject.pods.map(selector) ?? "-")"
    for (name, rules) in [("in", p.ingress), ("eg", p.egress)] {
      out += ";\(name)=[" + rules.map { "\($0.action.rawValue)\(rule($0.match))" }.joined(separator: "|") + "]"
    }
    return out
  }

  static func rule(_ r: PolicyRule) -> String {
    let peers = r.peers.map { peer -> String in
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        return "p:\(pods.map(selector) ?? "-")/n:\(namespaces.map(selector) ?? "-")"
      case .ipBlock(let b):
        return "b:\(b.cidr)-\(b.except.sorted().map(\.description).joined(separator: ","))"
      }
    }
    let ports = r.ports.map { port -> String in
      let value: String
      switch port.port {
      case nil: value = "*"
      case .number(let n)?: value = "\(n)-\(port.endPort ?? n)"
      case .name(let s)?: value = "name:\(s)"
      }
      return "\(port.proto.rawValue)/\(value)"
    }
    return "{" + peers.sorted().joined(separator: ",") + "}{" + ports.sorted().joined(separator: ",") + "}"
  }

  static func selector(_ s: LabelSelector) -> String { s.canonicalText }
}
