import PolicyModel
import XCTest

/// One connection to probe and the verdict the spec demands.
struct Probe {
  var from: String
  var to: String
  var port: Int
  var proto: NetProtocol
  var allowed: Bool

  /// `from` and `to` are `namespace/name` for pods, anything else an address.
  static func allow(_ from: String, _ to: String, _ port: Int = 80, _ proto: NetProtocol = .tcp)
    -> Probe
  {
    Probe(from: from, to: to, port: port, proto: proto, allowed: true)
  }

  static func deny(_ from: String, _ to: String, _ port: Int = 80, _ proto: NetProtocol = .tcp)
    -> Probe
  {
    Probe(from: from, to: to, port: port, proto: proto, allowed: false)
  }

  var description: String { "\(from) -> \(to) \(port)/\(proto.rawValue)" }
}

/// A cluster built from manifests and the reference verdict over it.
struct World {
  let cluster: Cluster
  let verdict: ReferenceVerdict

  init(_ documents: [String], file: StaticString = #filePath, line: UInt = #line) {
    cluster = Load.cluster(documents, file: file, line: line)
    verdict = ReferenceVerdict(cluster: cluster)
  }

  static func endpoint(_ text: String) -> Endpoint {
    let parts = text.split(separator: "/")
    if parts.count == 2, IPAddress(text) == nil, CIDR(text) == nil {
      return .pod(namespace: String(parts[0]), name: String(parts[1]))
    }
    return .address(IPAddress(text)!)
  }

  func allows(_ probe: Probe) -> Bool {
    verdict.allows(
      from: Self.endpoint(probe.from), to: Self.endpoint(probe.to), port: probe.port,
      proto: probe.proto)
  }

  func check(
    _ probes: [Probe], _ label: String = "", file: StaticString = #filePath, line: UInt = #line
  ) {
    for probe in probes {
      XCTAssertEqual(
        allows(probe), probe.allowed, "\(label) \(probe.description)", file: file, line: line)
    }
  }

  func explain(_ from: String, _ to: String, _ port: Int = 80, _ proto: NetProtocol = .tcp)
    -> (egress: DirectionVerdict, ingress: DirectionVerdict)
  {
    verdict.explain(from: Self.endpoint(from), to: Self.endpoint(to), port: port, proto: proto)
  }
}
