public import PolicyModel
import YAMLBridge

/// A port and protocol to probe, written `80/TCP` (protocol defaults to TCP).
public struct PortProbe: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var port: Int
  public var proto: NetProtocol

  public init(port: Int, proto: NetProtocol) {
    self.port = port
    self.proto = proto
  }

  public init?(parsing text: String) {
    guard let probe = try? Self.parse(text) else { return nil }
    self = probe
  }

  /// Why a `--port` value is not PORT[/PROTOCOL].
  public struct Invalid: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  /// `80`, `80/udp`, `9003/SCTP`; the error says which part is wrong and
  /// what is valid.
  public static func parse(_ text: String) throws(Invalid) -> PortProbe {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), !parts[0].isEmpty else {
      throw Invalid(description: "expected PORT[/PROTOCOL], such as 80 or 53/UDP")
    }
    guard let port = Int(parts[0]) else {
      throw Invalid(
        description:
          "\"\(parts[0])\" is not a port number: give a number from 1 to 65535 (a named port means different numbers on different pods, so probe the number)"
      )
    }
    guard (1...65535).contains(port) else { throw Invalid(description: "port \(port) is out of range 1-65535") }
    guard parts.count == 2 else { return PortProbe(port: port, proto: .tcp) }
    guard !parts[1].isEmpty else { throw Invalid(description: "no protocol after \"/\": give TCP, UDP or SCTP") }
    guard let proto = NetProtocol(rawValue: parts[1].uppercased()) else {
      throw Invalid(
        description: "protocol \"\(parts[1])\" is not TCP, UDP or SCTP (the protocols a NetworkPolicy can name)")
    }
    return PortProbe(port: port, proto: proto)
  }

  public var description: String { "\(port)/\(proto.rawValue)" }

  public static func < (lhs: PortProbe, rhs: PortProbe) -> Bool { (lhs.port, lhs.proto) < (rhs.port, rhs.proto) }
}

/// Who can reach whom on which ports, from the reference verdict. Cells are
/// stored once per pair of classes, so 5,000 pods cost 25 million lookups,
/// not 25 million arrays.
public struct ConnectivityMatrix: Sendable {
  public var endpoints: [String]
  public var ports: [PortProbe]
  let classOf: [Int]
  let width: Int
  /// Verdict rows per ordered pair of classes (`a * width + b`), nil where
  /// no two endpoints of that pair exist.
  let rows: [[Bool]?]
  /// Per ordered pair of classes, the ports whose answer would change if a
  /// pod of the pair without an address had one inside an ipBlock; nil when
  /// none would.
  let dependent: [[Bool]?]
  /// Endpoints that are pods without an address.
  public var addressless: Set<Int>
  /// Index into `cluster.pods` of each endpoint; nil for an address.
  var podOf: [Int?] = []
  /// With `--by workload` (see `byWorkload`): the pods each endpoint
  /// stands for; nil when endpoints are single pods.
  public var members: [[String]]? = nil
  /// With `--by workload`: per ordered pair of endpoints, the ports on
  /// which some pod pairs are allowed and others denied.
  var mixed: [[Bool]?] = []
  /// With `--by workload`: how replicas of a workload differ (labels, named
  /// ports, answers), one sentence each.
  public var disagreements: [String] = []

  /// Whether endpoint `from` may reach endpoint `to` on `ports[port]`; for
  /// workloads, whether every pod pair may (a workload with itself is two
  /// of its replicas).
  public func isAllowed(_ from: Int, _ to: Int, _ port: Int) -> Bool {
    let row = rows[classOf[from] * width + classOf[to]]
    if from == to, members == nil || row == nil { return true }
    return row![port]
  }

  /// With `--by workload`: whether endpoint `i` stands for two pods or
  /// more, so that its cell with itself is a real pair.
  public func pairsWithin(_ i: Int) -> Bool {
    members != nil && rows[classOf[i] * width + classOf[i]] != nil
  }

  /// With `--by workload`: whether some pod pairs of the cell are allowed
  /// and others denied.
  public func isMixed(_ from: Int, _ to: Int, _ port: Int) -> Bool {
    mixed.isEmpty ? false : mixed[from * endpoints.count + to]?[port] ?? false
  }

  /// Whether the answer for a cell depends on an address a pod of the pair
  /// does not have: the cell shows it as no ipBlock matching that pod, and
  /// it would flip were the pod's address inside some ipBlock of the policies.
  public func dependsOnAddress(_ from: Int, _ to: Int, _ port: Int) -> Bool {
    (from != to || pairsWithin(from)) && (dependent[classOf[from] * width + classOf[to]]?[port] ?? false)
  }

  /// Whether any cell depends on an address.
  public var hasAddressDependence: Bool { dependent.contains { $0 != nil } }

  /// allowed[from][to][port], materialised (for small matrices and tests).
  public var allowed: [[[Bool]]] {
    endpoints.indices.map { i in endpoints.indices.map { j in ports.indices.map { isAllowed(i, j, $0) } } }
  }

  /// Every participating pod (as `namespace/name`), optionally only of some
  /// namespaces, then the extra addresses in the order given. Each cell is
  /// the reference verdict, asked once per pair of pod classes (see
  /// `ConnectivityEngine`) rather than once per pair of pods.
  public static func compute(
    cluster: Cluster, ports: [PortProbe], namespaces: Set<String>? = nil, addresses: [IPAddress] = [],
    family: IPAddress.Family = .ipv4
  ) -> ConnectivityMatrix {
    let verdict = ReferenceVerdict(cluster: cluster)
    let engine = ConnectivityEngine(cluster: cluster, family: family)
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
    // Each endpoint's class: pods by their engine class, each address alone.
    let podClasses = engine.classMembers.count
    let width = podClasses + addresses.count
    var next = podClasses
    let classOf: [Int] = endpoints.map { e in
      if case .pod(let p) = e.side { return engine.classOfPod[p] }
      next += 1
      return next - 1
    }
    var standIns: [ConnectivityEngine.Side?] = Array(repeating: nil, count: width)
    var seconds: [ConnectivityEngine.Side?] = Array(repeating: nil, count: width)
    var present = Array(repeating: 0, count: width)
    for (i, c) in classOf.enumerated() {
      if standIns[c] == nil {
        standIns[c] = endpoints[i].side
      } else if seconds[c] == nil {
        seconds[c] = endpoints[i].side
      }
      present[c] += 1
    }
    // One verdict row per ordered pair of classes that occurs; a class with
    // itself needs two distinct members.
    var rows: [[Bool]?] = Array(repeating: nil, count: width * width)
    var dependent: [[Bool]?] = Array(repeating: nil, count: width * width)
    let assumable = engine.assumableAddresses
    for a in 0..<width where present[a] > 0 {
      for b in 0..<width where present[b] > 0 && (a != b || present[a] > 1) {
        let t = a == b ? seconds[b]! : standIns[b]!
        let f = standIns[a]!
        rows[a * width + b] = ports.map {
          verdict.allows(from: endpoint(f), to: endpoint(t), port: $0.port, proto: $0.proto, family: family)
        }
        let others = engine.addressDependence(from: f, to: t, addresses: assumable)
        if !others.isEmpty {
          let base = engine.allowedPorts(from: f, to: t)
          let flips = ports.map { p in
            others.contains { $0.1.contains(p.port, p.proto) != base.contains(p.port, p.proto) }
          }
          if flips.contains(true) { dependent[a * width + b] = flips }
        }
      }
    }
    let addressless = Set(
      endpoints.indices.filter {
        if case .pod(let p) = endpoints[$0].side { return cluster.pods[p].hasNoAddress }
        return false
      })
    return ConnectivityMatrix(
      endpoints: endpoints.map(\.name), ports: ports, classOf: classOf, width: width, rows: rows,
      dependent: dependent, addressless: addressless,
      podOf: endpoints.map { if case .pod(let p) = $0.side { p } else { nil } })
  }
}

/// Pure functions from a matrix to text, one per format.
public enum MatrixReporter {
  /// One table per port, rows from, columns to; `.` allowed, `X` denied,
  /// `~` replicas disagree (`--by workload`), `?` after any of them when the
  /// answer depends on an address a pod lacks.
  public static func text(_ m: ConnectivityMatrix) -> String {
    var out = ""
    let width = max(4, (m.endpoints.map(\.count).max() ?? 0))
    for (p, probe) in m.ports.enumerated() {
      out += "\(probe)\n"
      out += pad("", width) + " " + m.endpoints.indices.map { String(format3($0)) }.joined(separator: " ") + "\n"
      for (i, from) in m.endpoints.enumerated() {
        let cells = m.endpoints.indices.map { j in
          let mark = m.isMixed(i, j, p) ? "~" : m.isAllowed(i, j, p) ? "." : "X"
          return m.dependsOnAddress(i, j, p) ? " \(mark)?" : "  \(mark)"
        }
        out += pad(from, width) + " " + cells.joined(separator: " ") + "\n"
      }
      out += "columns: " + m.endpoints.enumerated().map { "\($0.offset)=\($0.element)" }.joined(separator: " ") + "\n\n"
    }
    return out + notes(m) + workloadNotes(m)
  }

  /// Which endpoints have no address, and what `?` means, when it applies.
  static func notes(_ m: ConnectivityMatrix) -> String {
    guard !m.addressless.isEmpty else { return "" }
    let names = m.addressless.sorted().map { m.endpoints[$0] }
    var out = "without an address (no ipBlock matches them): " + Wording.list(names) + "\n"
    if m.hasAddressDependence {
      out +=
        "?: the answer depends on the address; shown as if no ipBlock matches, and it would differ were the address inside an ipBlock of the policies\n"
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
      for (j, to) in m.endpoints.enumerated() where i != j || m.pairsWithin(i) {
        for (p, probe) in m.ports.enumerated() where m.isAllowed(i, j, p) {
          triples.append("[\(JSON.string(from)),\(JSON.string(to)),\(JSON.string(probe.description))]")
        }
      }
    }
    var dependent: [String] = []
    for i in m.endpoints.indices {
      for j in m.endpoints.indices where i != j || m.pairsWithin(i) {
        for (p, probe) in m.ports.enumerated() where m.dependsOnAddress(i, j, p) {
          dependent.append(
            "[\(JSON.string(m.endpoints[i])),\(JSON.string(m.endpoints[j])),\(JSON.string(probe.description))]")
        }
      }
    }
    // Keys for pods without an address appear only when there are such pods,
    // so the output for inputs with addresses stays as it was; so do the
    // keys of `--by workload`.
    let addressless = m.addressless.sorted().map { JSON.string(m.endpoints[$0]) }
    var fields = [
      ("allowed", "[" + triples.joined(separator: ",") + "]"),
      ("endpoints", "[" + m.endpoints.map(JSON.string).joined(separator: ",") + "]"),
      ("ports", "[" + m.ports.map { JSON.string($0.description) }.joined(separator: ",") + "]"),
    ]
    if !addressless.isEmpty {
      fields.append(("dependsOnAddress", "[" + dependent.joined(separator: ",") + "]"))
      fields.append(("withoutAddress", "[" + addressless.joined(separator: ",") + "]"))
    }
    if let members = m.members { fields += workloadJSON(m, members) }
    return "{" + fields.sorted { $0.0 < $1.0 }.map { "\(JSON.string($0.0)):\($0.1)" }.joined(separator: ",") + "}\n"
  }

  public static func csv(_ m: ConnectivityMatrix) -> String {
    var out = "from,to," + m.ports.map(\.description).joined(separator: ",") + "\n"
    for (i, from) in m.endpoints.enumerated() {
      for (j, to) in m.endpoints.enumerated() where i != j || m.pairsWithin(i) {
        out +=
          "\(from),\(to),"
          + m.ports.indices.map { m.isMixed(i, j, $0) ? "mixed" : m.isAllowed(i, j, $0) ? "allow" : "deny" }.joined(
            separator: ",")
          + "\n"
      }
    }
    return out
  }

  /// Graphviz: an edge per allowed pair, labelled with the allowed ports.
  public static func dot(_ m: ConnectivityMatrix) -> String {
    var out = "digraph connectivity {\n  rankdir=LR;\n"
    for e in m.endpoints { out += "  \(JSON.string(e));\n" }
    for (i, from) in m.endpoints.enumerated() {
      for (j, to) in m.endpoints.enumerated() where i != j || m.pairsWithin(i) {
        // A port only some replica pairs may use is marked `~`.
        let ports = m.ports.indices.filter { m.isAllowed(i, j, $0) || m.isMixed(i, j, $0) }.map {
          m.ports[$0].description + (m.isMixed(i, j, $0) ? "~" : "")
        }
        guard !ports.isEmpty else { continue }
        out += "  \(JSON.string(from)) -> \(JSON.string(to)) [label=\(JSON.string(ports.joined(separator: " ")))];\n"
      }
    }
    return out + "}\n"
  }
}

/// Minimal JSON string escaping (RFC 8259), shared by the reporters.
public enum JSON {
  public static func string(_ s: String) -> String { JSONQuoting.quote(s) }
}
