import PolicyModel
import XCTest

/// Who a peer is: the "Peers" section of SEMANTICS.md, one bullet per test.
final class VerdictPeerTests: XCTestCase {
  /// Two labelled namespaces with a client and an other pod each, and a
  /// server in `a` that the policy under test isolates for ingress.
  func world(_ ingress: String) -> World {
    World([
      Manifest.namespace("a", labels: ["team": "x"]),
      Manifest.namespace("b", labels: ["team": "x"]),
      Manifest.namespace("c", labels: ["team": "z"]),
      Manifest.pod("a", "server", labels: ["app": "server"], ip: "10.0.0.1"),
      Manifest.pod("a", "client", labels: ["app": "client"], ip: "10.0.0.2"),
      Manifest.pod("a", "other", labels: ["app": "other"], ip: "10.0.0.3"),
      Manifest.pod("b", "client", labels: ["app": "client"], ip: "10.0.1.2"),
      Manifest.pod("b", "other", labels: ["app": "other"], ip: "10.0.1.3"),
      Manifest.pod("c", "client", labels: ["app": "client"], ip: "10.0.2.2"),
      Manifest.policy("a", "p", "podSelector: {matchLabels: {app: server}}\ningress:\n" + ingress),
    ])
  }

  func testPodSelectorOnlyMeansTheOwnNamespace() {
    world("- from:\n  - podSelector: {matchLabels: {app: client}}").check([
      .allow("a/client", "a/server"), .deny("a/other", "a/server"), .deny("b/client", "a/server"),
      .deny("c/client", "a/server"), .deny("203.0.113.9", "a/server"),
    ])
  }

  func testEmptyPodSelectorOnlyMeansEveryPodOfTheOwnNamespace() {
    world("- from:\n  - podSelector: {}").check([
      .allow("a/client", "a/server"), .allow("a/other", "a/server"), .deny("b/client", "a/server"),
    ])
  }

  func testNamespaceSelectorOnlyMeansEveryPodOfMatchingNamespaces() {
    world("- from:\n  - namespaceSelector: {matchLabels: {team: x}}").check([
      .allow("a/client", "a/server"), .allow("a/other", "a/server"), .allow("b/client", "a/server"),
      .allow("b/other", "a/server"), .deny("c/client", "a/server"),
      .deny("203.0.113.9", "a/server"),
    ])
  }

  func testBothSelectorsInOnePeerAreAnd() {
    world(
      "- from:\n  - namespaceSelector: {matchLabels: {team: x}}\n    podSelector: {matchLabels: {app: client}}"
    ).check([
      .allow("a/client", "a/server"), .allow("b/client", "a/server"), .deny("b/other", "a/server"),
      .deny("a/other", "a/server"), .deny("c/client", "a/server"),
    ])
  }

  func testTwoPeersInOneListAreOr() {
    world(
      "- from:\n  - namespaceSelector: {matchLabels: {team: z}}\n  - podSelector: {matchLabels: {app: other}}"
    ).check([
      .allow("c/client", "a/server"), .allow("a/other", "a/server"), .deny("b/other", "a/server"),
      .deny("a/client", "a/server"),
    ])
  }

  func testEmptyNamespaceSelectorMeansAllNamespacesButNoExternalAddress() {
    world("- from:\n  - namespaceSelector: {}").check([
      .allow("a/client", "a/server"), .allow("b/other", "a/server"), .allow("c/client", "a/server"),
      .deny("203.0.113.9", "a/server"), .deny("10.0.9.9", "a/server"),
    ])
  }

  func testNamespaceSelectorOnTheNameLabel() {
    world("- from:\n  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: c}}").check([
      .allow("c/client", "a/server"), .deny("b/client", "a/server"),
    ])
  }

  func testIPBlockMatchesPodAddressesToo() {
    world("- from:\n  - ipBlock: {cidr: 10.0.1.0/24}").check([
      .allow("b/client", "a/server"), .allow("b/other", "a/server"),
      .allow("10.0.1.200", "a/server"),
      .deny("a/client", "a/server"), .deny("c/client", "a/server"), .deny("10.0.2.200", "a/server"),
    ])
  }

  func testExceptCutsOutOfItsBlock() {
    world("- from:\n  - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}").check([
      .allow("a/client", "a/server"), .allow("c/client", "a/server"), .deny("b/client", "a/server"),
      .deny("10.0.1.7", "a/server"), .allow("10.0.7.7", "a/server"), .deny("10.1.0.1", "a/server"),
    ])
  }

  func testEachIPBlockKeepsItsOwnExcepts() {
    let two =
      "- from:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.1.0/24]}\n  - ipBlock: {cidr: 10.0.1.0/24}"
    world(two).check([
      .allow("10.0.1.5", "a/server"), .allow("b/client", "a/server"),
      .allow("10.9.9.9", "a/server"),
      .deny("11.0.0.1", "a/server"),
    ])
    let crossed =
      "- from:\n  - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}\n  - ipBlock: {cidr: 10.0.1.0/25, except: [10.0.1.0/26]}"
    world(crossed).check([
      .deny("10.0.1.5", "a/server"), .allow("10.0.1.70", "a/server"),
      .deny("10.0.1.200", "a/server"),
      .allow("10.0.3.3", "a/server"),
    ])
  }

  func testMissingOrEmptyFromMeansEverySourceInClusterOrNot() {
    for rule in ["- {}", "- from: []", "- ports: [{port: 80}]"] {
      world(rule).check(
        [
          .allow("a/client", "a/server"), .allow("c/client", "a/server"),
          .allow("203.0.113.9", "a/server"),
          .allow("2001:db8::1", "a/server"),
        ], rule)
    }
  }

  func testEgressPeersPickDestinations() {
    let world = World([
      Manifest.namespace("a", labels: ["team": "x"]),
      Manifest.namespace("b", labels: ["team": "z"]),
      Manifest.pod("a", "client", labels: ["app": "client"], ip: "10.0.0.2"),
      Manifest.pod("a", "db", labels: ["app": "db"], ip: "10.0.0.3"),
      Manifest.pod("b", "db", labels: ["app": "db"], ip: "10.0.1.3"),
      Manifest.policy(
        "a", "p",
        "podSelector: {matchLabels: {app: client}}\npolicyTypes: [Egress]\negress:\n- to:\n  - podSelector: {matchLabels: {app: db}}\n  - ipBlock: {cidr: 192.0.2.0/24}"
      ),
    ])
    world.check([
      .allow("a/client", "a/db"), .deny("a/client", "b/db"), .allow("a/client", "192.0.2.9"),
      .deny("a/client", "198.51.100.1"),
      .allow("b/db", "a/client"), .allow("a/db", "a/client"),
    ])
  }
}
