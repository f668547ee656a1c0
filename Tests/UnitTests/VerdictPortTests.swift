import PolicyModel
import XCTest

/// The "Ports" section of SEMANTICS.md: numbers, ranges, protocols and
/// named ports resolved on the destination pod.
final class VerdictPortTests: XCTestCase {
  typealias Port = Manifest.Port

  func serverWorld(_ ports: String) -> World {
    World([
      Manifest.pod("a", "server", labels: ["app": "server"], ip: "10.0.0.1"),
      Manifest.pod("a", "client", labels: ["app": "client"], ip: "10.0.0.2"),
      Manifest.policy(
        "a", "p", "podSelector: {matchLabels: {app: server}}\ningress:\n- ports:\n" + ports),
    ])
  }

  func testNumericPortAndProtocol() {
    serverWorld("  - port: 80").check([
      .allow("a/client", "a/server", 80), .deny("a/client", "a/server", 81),
      .deny("a/client", "a/server", 80, .udp),
    ])
  }

  func testEndPortIsInclusive() {
    serverWorld("  - port: 8000\n    endPort: 8080").check([
      .deny("a/client", "a/server", 7999), .allow("a/client", "a/server", 8000),
      .allow("a/client", "a/server", 8040),
      .allow("a/client", "a/server", 8080), .deny("a/client", "a/server", 8081),
      .deny("a/client", "a/server", 8040, .udp),
    ])
  }

  func testProtocolWithoutPortMeansEveryPortOfThatProtocol() {
    serverWorld("  - protocol: UDP").check([
      .allow("a/client", "a/server", 1, .udp), .allow("a/client", "a/server", 65535, .udp),
      .deny("a/client", "a/server", 53, .tcp),
      .deny("a/client", "a/server", 53, .sctp),
    ])
  }

  func testEmptyPortsMeansEveryPortAndProtocol() {
    for ports in ["- {}", "- ports: []"] {
      World([
        Manifest.pod("a", "server", ip: "10.0.0.1"), Manifest.pod("a", "client", ip: "10.0.0.2"),
        Manifest.policy("a", "p", "podSelector: {}\ningress:\n" + ports),
      ]).check(
        [.allow("a/client", "a/server", 1), .allow("a/client", "a/server", 9999, .sctp)], ports)
    }
  }

  func testNamedPortsResolveOnEachTargetPodForIngress() {
    World([
      Manifest.pod(
        "a", "one", labels: ["app": "server"], ip: "10.0.0.1", ports: [Port(8080, "http")]),
      Manifest.pod(
        "a", "two", labels: ["app": "server"], ip: "10.0.0.2", ports: [Port(9090, "http")]),
      Manifest.pod("a", "none", labels: ["app": "server"], ip: "10.0.0.3", ports: [Port(8080)]),
      Manifest.pod("a", "client", ip: "10.0.0.9", ports: [Port(7070, "http")]),
      Manifest.policy(
        "a", "p", "podSelector: {matchLabels: {app: server}}\ningress:\n- ports:\n  - port: http"),
    ]).check([
      .allow("a/client", "a/one", 8080), .deny("a/client", "a/one", 9090),
      .allow("a/client", "a/two", 9090),
      .deny("a/client", "a/two", 8080), .deny("a/client", "a/none", 8080),
      .deny("a/client", "a/one", 7070),
    ])
  }

  func testNamedPortsResolveOnThePeerPodForEgress() {
    World([
      Manifest.pod("a", "one", labels: ["app": "db"], ip: "10.0.0.1", ports: [Port(5432, "sql")]),
      Manifest.pod("a", "two", labels: ["app": "db"], ip: "10.0.0.2", ports: [Port(3306, "sql")]),
      Manifest.pod(
        "a", "client", labels: ["app": "client"], ip: "10.0.0.9", ports: [Port(1111, "sql")]),
      Manifest.policy(
        "a", "p",
        "podSelector: {matchLabels: {app: client}}\npolicyTypes: [Egress]\negress:\n- ports:\n  - port: sql"
      ),
    ]).check([
      .allow("a/client", "a/one", 5432), .deny("a/client", "a/one", 3306),
      .allow("a/client", "a/two", 3306),
      .deny("a/client", "a/two", 1111), .deny("a/client", "203.0.113.9", 5432),
    ])
  }

  func testNamedPortTowardsAnIPBlockResolvesOnlyOnPodsInsideIt() {
    World([
      Manifest.pod("a", "db", ip: "10.0.0.1", ports: [Port(5432, "sql")]),
      Manifest.pod("a", "client", labels: ["app": "client"], ip: "10.0.0.9"),
      Manifest.policy(
        "a", "p",
        "podSelector: {matchLabels: {app: client}}\npolicyTypes: [Egress]\negress:\n- to: [{ipBlock: {cidr: 10.0.0.0/8}}]\n  ports: [{port: sql}]"
      ),
    ]).check([.allow("a/client", "a/db", 5432), .deny("a/client", "10.0.0.77", 5432)])
  }

  func testNamedPortNeedsNameAndProtocol() {
    let pods = [
      Manifest.pod(
        "a", "dns", labels: ["app": "dns"], ip: "10.0.0.1",
        ports: [Port(53, "dns", "UDP"), Port(5353, "dns-tcp")]),
      Manifest.pod("a", "client", ip: "10.0.0.2"),
    ]
    World(pods + [Manifest.policy("a", "p", "podSelector: {}\ningress:\n- ports:\n  - port: dns")])
      .check(
        [.deny("a/client", "a/dns", 53, .tcp), .deny("a/client", "a/dns", 53, .udp)],
        "TCP by default")
    World(
      pods + [
        Manifest.policy(
          "a", "p", "podSelector: {}\ningress:\n- ports:\n  - {port: dns, protocol: UDP}")
      ]
    ).check(
      [.allow("a/client", "a/dns", 53, .udp), .deny("a/client", "a/dns", 53, .tcp)], "UDP")
  }

  func testSidecarPortsCountAndPlainInitContainerPortsDoNot() {
    World([
      Manifest.pod(
        "a", "server", ip: "10.0.0.1", sidecarPorts: [Port(15090, "metrics")],
        initPorts: [Port(9000, "setup")]),
      Manifest.pod("a", "client", ip: "10.0.0.2"),
      Manifest.policy(
        "a", "p", "podSelector: {}\ningress:\n- ports:\n  - port: metrics\n  - port: setup"),
    ]).check([.allow("a/client", "a/server", 15090), .deny("a/client", "a/server", 9000)])
  }
}
