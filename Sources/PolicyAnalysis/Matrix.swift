public import PolicyModel

/// A port and protocol to probe, written `80/TCP` (protocol defaults to TCP).
public struct PortProbe: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var port: Int
  public var proto: NetProtocol

  public init(port: Int, proto: NetProtocol) {
    self.port = port
    self.proto = proto
  }

  public init?(parsing text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let port = Int(parts[0]), (1...65535).contains(port) else { return nil }
    var proto = NetProtocol.tcp
    if parts.count == 2 {
      guard let p = NetProtocol(rawValue: parts[1].uppercased()) else { return nil }
      proto = p
    }
    self.init(port: port, proto: proto)
  }

  public var description: String { "\(port)/\(proto.rawValue)" }

  public static func < (lhs: PortProbe, rhs: PortProbe) -> Bool { (lhs.port, lhs.proto) < (rhs.port, rhs.proto) }
}

/// Who can reach whom on which ports, from the reference verdict.
public struct ConnectivityMatrix: Sendable {
  public var endpoints: [String]
  public var ports: [PortProbe]
  /// allowed[from][to][port]
  public var allowed: [[[Bool]]]

  /// Every participating pod (as `namespace/name`), optionally only of some
  /// namespaces, then the extra addresses in the order given. Each cell is
  /// the reference verdict, asked once per pair of pod classes (see
  /// `ConnectivityEngine`) rather than once per pair of pods.
  public static func compute(
    cluster: Cluster, ports: [PortProbe], namespaces: Set<String>? = nil, addresses: [IPAddress] = []
  ) -> ConnectivityMatrix {
    let verdict = ReferenceVerdict(cluster: cluster)
    let engine = ConnectivityEngine(cluster: cluster)
    var endpoints: [(name: String, side: ConnectivityEngine.Side)] = []
    for (i, pod) in cluster.pods.enumerated() where namespaces?.contains(pod.meta.namespace) ?? true {
      endpoints.append((AnalysisEndpoint.name(of: pod), .pod(i)))
    }
    for ip in addresses { endpoints.append((ip.description, .address(ip))) }
    func endpoint(_ side: ConnectivityEngine.Side) -> Endpoint {
      switch side {
      case .pod(let i): return .pod(namespace: cluster.pods[i].meta.namespace, name: cluster.pods[i].meta.name)
      case .address(let ip): return .address(ip)
      }
    }
    /// Stand-ins: pods by class (two members when a class talks to itself).
    func key(_ from: ConnectivityEngine.Side, _ to: ConnectivityEngine.Side) -> (ConnectivityEngine.Side, ConnectivityEngine.Side) {
      guard case .pod(let a) = from, case .pod(let b) = to, a != b else {
        let f: ConnectivityEngine.Side = if case .pod(let a) = from { .pod(engine.classMembers[engine.classOfPod[a]][0]) } else { from }
        let t: ConnectivityEngine.Side = if case .pod(let b) = to { .pod(engine.classMembers[engine.classOfPod[b]][0]) } else { to }
        return (f, t)
      }
      let ca = engine.classOfPod[a]
      let cb = engine.classOfPod[b]
      let members = engine.classMembers[ca]
      return ca == cb ? (.pod(members[0]), .pod(members[1])) : (.pod(members[0]), .pod(engine.classMembers[cb][0]))
    }
    var cache: [[ConnectivityEngine.Side]: [Bool]] = [:]
    let allowed = endpoints.map { from in
      endpoints.map { to -> [Bool] in
        if from.side == to.side { return ports.map { _ in true } }
        let (f, t) = key(from.side, to.side)
        if let hit = cache[[f, t]] { return hit }
        let cells = ports.map { verdict.allows(from: endpoint(f), to: endpoint(t), port: $0.port, proto: $0.proto) }
        cache[[f, t]] = cells
        return cells
      }
    }
    return ConnectivityMatrix(endpoints: endpoints.map(\.name), ports: ports, allowed: allowed)
  }
}

/// Pure functions from a matrix to text, one per format.
public enum MatrixReporter {
  /// One table per port, rows from, columns to; `.` allowed, `X` denied.
  public static func text(_ m: ConnectivityMatrix) -> String {
    var out = ""
    let width = max(4, (m.endpoints.map(\.count).max() ?? 0))
    for (p, probe) in m.ports.enumerated() {
      out += "\(probe)\n"
      out += pad("", width) + " " + m.endpoints.indices.map { String(format3($0)) }.joined(separator: " ") + "\n"
      for (i, from) in m.endpoints.enumerated() {
        let cells = m.endpoints.indices.map { j in m.allowed[i][j][p] ? "  ." : "  X" }
        out += pad(from, width) + " " + cells.joined(separator: " ") + "\n"
      }
      out += "columns: " + m.endpoints.enumerated().map { "\($0.offset)=\($0.element)" }.joined(separator: " ") + "\n\n"
    }
    return out
  }

  static func format3(_ i: Int) -> String {
    let s = String(i)
    return String(repeating: " ", count: max(0, 3 - s.count)) + s
  }

  static func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }

  /// `{"allowed": [[from, to, port], ...], "endpoints": [...], "ports": [...]}`,
  /// keys sorted; every triple not listed (from != to) is denied.
  public static func json(_ m: ConnectivityMatrix) -> String {
    var triples: [String] = []
    for (i, from) in m.endpoints.enumerated() {
      for (j, to) in m.endpoints.enumerated() where i != j {
        for (p, probe) in m.ports.enumerated() where m.allowed[i][j][p] {
          triples.append("[\(JSON.string(from)),\(JSON.string(to)),\(JSON.string(probe.description))]")
        }
      }
    }
    return "{\"allowed\":[" + triples.joined(separator: ",") + "],\"endpoints\":["
      + m.endpoints.map(JSON.string).joined(separator: ",") + "],\"ports\":["
      + m.ports.map { JSON.string($0.description) }.joined(separator: ",") + "]}\n"
  }

  public static func csv(_ m: ConnectivityMatrix) -> String {
    var out = "from,to," + m.ports.map(\.description).joined(separator: ",") + "\n"
    for (i, from) in m.endpoints.enumerated() {
      for (j, to) in m.endpoints.enumerated() where i != j {
        out += "\(from),\(to)," + m.ports.indices.map { m.allowed[i][j][$0] ? "allow" : "deny" }.joined(separator: ",") + "\n"
      }
    }
    return out
  }

  /// Graphviz: an edge per allowed pair, labelled with the allowed ports.
  public static func dot(_ m: ConnectivityMatrix) -> String {
    var out = "digraph connectivity {\n  rankdir=LR;\n"
    for e in m.endpoints { out += "  \(JSON.string(e));\n" }
    for (i, from) in m.endpoints.enumerated() {
      for (j, to) in m.endpoints.enumerated() where i != j {
        let ports = m.ports.indices.filter { m.allowed[i][j][$0] }.map { m.ports[$0].description }
        guard !ports.isEmpty else { continue }
        out += "  \(JSON.string(from)) -> \(JSON.string(to)) [label=\(JSON.string(ports.joined(separator: " ")))];\n"
      }
    }
    return out + "}\n"
  }
}

/// Minimal JSON string escaping (RFC 8259), shared by the reporters.
public enum JSON {
  public static func string(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
