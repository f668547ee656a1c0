import PolicyModel
import PolicyReference
import XCTest

/// The corners of the API, written by hand, for the independent reference
/// itself: the oracle must be right before it judges anything.
final class IndependentReferenceTests: XCTestCase {
  let here = RandomCluster.here

  func pod(
    _ ns: String, _ name: String, _ labels: [String: String], ip: String, phase: String = "Running",
    hostNetwork: Bool = false, ports: [ContainerPort] = []
  ) -> Pod {
    Pod(
      meta: ObjectMeta(name: name, namespace: ns, labels: labels, location: here), nodeName: "n",
      hostNetwork: hostNetwork, phase: phase, ips: [IPAddress(ip)!], ports: ports)
  }

  func ingressOnly(_ ns: String, select: LabelSelector = .everything, from peers: [PeerKind], ports: [PolicyPort] = [])
    -> NetworkPolicy
  {
    NetworkPolicy(
      meta: ObjectMeta(name: "p", namespace: ns, location: here), podSelector: select, policyTypes: [.ingress],
      policyTypesWritten: true,
      ingress: [PolicyRule(peers: peers.map { Peer(kind: $0, location: here) }, ports: ports, location: here)],
      egress: [])
  }

  func allows(_ r: IndependentReference, _ from: String, _ to: String, _ port: Int = 80, _ proto: NetProtocol = .tcp)
    -> Bool
  {
    func endpoint(_ text: String) -> Endpoint {
      let parts = text.split(separator: "/").map(String.init)
      return parts.count == 2 ? .pod(namespace: parts[0], name: parts[1]) : .address(IPAddress(text)!)
    }
    return r.allows(from: endpoint(from), to: endpoint(to), port: port, proto: proto)
  }

  func testNotInAndDoesNotExistMatchPodsWithoutTheKey() {
    let pods = [
      pod("a", "t", [:], ip: "10.0.0.1"), pod("a", "bare", [:], ip: "10.0.0.2"),
      pod("a", "web", ["tier": "web"], ip: "10.0.0.3"), pod("a", "db", ["tier": "db"], ip: "10.0.0.4"),
    ]
    let notIn = LabelSelector(expressions: [SelectorRequirement(key: "tier", op: .notIn, values: ["web"])])
    let r = IndependentReference(
      namespaces: [], pods: pods,
      policies: [ingressOnly("a", select: LabelSelector(matchLabels: ["x": ""]), from: [])]
        + [ingressOnly("a", select: .everything, from: [.selectors(pods: notIn, namespaces: nil)])])
    XCTAssertTrue(allows(r, "a/bare", "a/t"))
    XCTAssertTrue(allows(r, "a/db", "a/t"))
    XCTAssertFalse(allows(r, "a/web", "a/t"))
  }

  func testNamespaceAndPodSelectorInOnePeerIsAnAnd() {
    let pods = [
      pod("a", "t", [:], ip: "10.0.0.1"), pod("b", "web", ["app": "web"], ip: "10.0.0.2"),
      pod("c", "web", ["app": "web"], ip: "10.0.0.3"), pod("b", "db", [:], ip: "10.0.0.4"),
    ]
    let both = PeerKind.selectors(
      pods: LabelSelector(matchLabels: ["app": "web"]),
      namespaces: LabelSelector(matchLabels: ["kubernetes.io/metadata.name": "b"]))
    // Namespace b is never written: its implicit name label still selects it.
    let r = IndependentReference(namespaces: [], pods: pods, policies: [ingressOnly("a", from: [both])])
    XCTAssertTrue(allows(r, "b/web", "a/t"))
    XCTAssertFalse(allows(r, "c/web", "a/t"))
    XCTAssertFalse(allows(r, "b/db", "a/t"))
  }

  func testEachIPBlockKeepsItsOwnExcept() {
    let pods = [pod("a", "t", [:], ip: "10.0.0.1")]
    let blocks: [PeerKind] = [
      .ipBlock(IPBlock(cidr: CIDR("192.0.2.0/24")!, except: [CIDR("192.0.2.128/25")!])),
      .ipBlock(IPBlock(cidr: CIDR("192.0.2.192/26")!, except: [])),
    ]
    let r = IndependentReference(namespaces: [], pods: pods, policies: [ingressOnly("a", from: blocks)])
    XCTAssertTrue(allows(r, "192.0.2.1", "a/t"))
    XCTAssertFalse(allows(r, "192.0.2.130", "a/t"))
    XCTAssertTrue(allows(r, "192.0.2.200", "a/t"), "one block's except must not cut into another block")
  }

  func testNamedPortsEndPortAndParticipation() {
    let ports = [
      ContainerPort(name: "http", number: 8080, proto: .tcp), ContainerPort(name: "http", number: 9090, proto: .tcp),
      ContainerPort(name: "dns", number: 53, proto: .udp),
    ]
    let pods = [
      pod("a", "t", [:], ip: "10.0.0.1", ports: ports), pod("a", "src", [:], ip: "10.0.0.2"),
      pod("a", "gone", [:], ip: "10.0.0.3", phase: "Succeeded"),
      pod("a", "host", [:], ip: "10.0.0.4", hostNetwork: true),
    ]
    let entries = [
      PolicyPort(proto: .tcp, port: .name("http"), location: here),
      PolicyPort(proto: .tcp, port: .name("dns"), location: here),
      PolicyPort(proto: .sctp, port: .number(1000), endPort: 1002, location: here),
    ]
    let r = IndependentReference(
      namespaces: [], pods: pods,
      policies: [ingressOnly("a", from: [.selectors(pods: .everything, namespaces: nil)], ports: entries)])
    XCTAssertTrue(allows(r, "a/src", "a/t", 8080))
    XCTAssertTrue(allows(r, "a/src", "a/t", 9090), "each container defining the name counts")
    XCTAssertFalse(allows(r, "a/src", "a/t", 53, .tcp), "name AND protocol must match")
    XCTAssertTrue(allows(r, "a/src", "a/t", 1002, .sctp))
    XCTAssertFalse(allows(r, "a/src", "a/t", 1003, .sctp))
    XCTAssertFalse(allows(r, "a/gone", "a/t", 8080), "a finished pod is no peer")
    XCTAssertFalse(allows(r, "a/host", "a/t", 8080), "a host-network pod is no peer")
    let gone = Endpoint.pod(namespace: "a", name: "gone")
    let src = Endpoint.pod(namespace: "a", name: "src")
    let decision: IndependentReference.Decision = r.decide(from: gone, to: src, port: 1, proto: .tcp).egress
    XCTAssertEqual(decision, .notApplicable, "a finished pod is no target")
  }

  func testAdminTiersPassAndBaseline() {
    let pods = [pod("a", "t", [:], ip: "10.0.0.1"), pod("a", "src", [:], ip: "10.0.0.2")]
    func admin(_ name: String, _ tier: AdminTier, _ action: AdminAction) -> AdminPolicy {
      let match = PolicyRule(
        peers: [Peer(kind: .selectors(pods: .everything, namespaces: .everything), location: here)], ports: [],
        location: here)
      return AdminPolicy(
        meta: ObjectMeta(name: name, namespace: "", location: here), tier: tier,
        subject: AdminSubject(namespaces: .everything, pods: nil),
        ingress: [AdminRule(name: "r", action: action, match: match)], egress: [])
    }
    func build(_ admins: [AdminPolicy]) -> IndependentReference {
      IndependentReference(namespaces: [], pods: pods, policies: [], adminPolicies: admins)
    }
    XCTAssertFalse(
      allows(build([admin("b", .admin(priority: 2), .allow), admin("a", .admin(priority: 1), .deny)]), "a/src", "a/t"))
    XCTAssertTrue(
      allows(build([admin("b", .admin(priority: 1), .allow), admin("a", .admin(priority: 2), .deny)]), "a/src", "a/t"))
    // Pass skips the rest of the tier; the baseline decides for a pod no NetworkPolicy isolates.
    XCTAssertFalse(
      allows(
        build([
          admin("a", .admin(priority: 1), .pass), admin("b", .admin(priority: 2), .allow),
          admin("default", .baseline, .deny),
        ]), "a/src", "a/t"))
  }
}
