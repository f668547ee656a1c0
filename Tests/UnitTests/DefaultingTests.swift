import PolicyModel
import XCTest

/// The defaults the API server applies before any controller sees an object.
final class DefaultingTests: XCTestCase {
  func onlyPolicy(
    _ document: String, options: LoadOptions = LoadOptions(), file: StaticString = #filePath,
    line: UInt = #line
  ) throws
    -> NetworkPolicy
  {
    let inventory = Load.inventory([document], options: options)
    XCTAssertEqual(inventory.errors.map(\.formatted), [], file: file, line: line)
    return try XCTUnwrap(inventory.policies.first, file: file, line: line)
  }

  func testMissingNamespaceMeansDefault() throws {
    let inventory = Load.inventory([
      Manifest.pod(nil, "web", ip: "10.0.0.1"), Manifest.policy(nil, "p", "podSelector: {}"),
      Manifest.pod("shop", "api", ip: "10.0.0.2"),
    ])
    XCTAssertEqual(
      inventory.pods.map { "\($0.meta.namespace)/\($0.meta.name) \($0.meta.namespaceWritten)" },
      ["default/web false", "shop/api true"])
    XCTAssertEqual(inventory.policies.map(\.meta.namespace), ["default"])
    XCTAssertEqual(inventory.policies.map(\.meta.namespaceWritten), [false])
  }

  /// Go decodes `namespace: ""` to the zero value, the same as no namespace
  /// at all, and kubectl fills in the default; Helm charts render it often.
  func testEmptyNamespaceMeansDefault() {
    let inventory = Load.inventory([
      Manifest.pod(nil, "web", ip: "10.0.0.1").replacingOccurrences(
        of: "  name: web\n", with: "  name: web\n  namespace: \"\"\n"),
      policy("podSelector: {}").replacingOccurrences(
        of: "  namespace: a\n", with: "  namespace: \"\"\n"),
    ])
    XCTAssertEqual(inventory.errors.map(\.formatted), [])
    XCTAssertEqual(inventory.pods.map(\.meta.namespace), ["default"])
    XCTAssertEqual(inventory.policies.map(\.meta.namespace), ["default"])
  }

  func testDefaultNamespaceOptionOverridesOnlyWhatIsNotWritten() {
    let inventory = Load.inventory(
      [
        Manifest.pod(nil, "web", ip: "10.0.0.1"), Manifest.policy(nil, "p", "podSelector: {}"),
        Manifest.pod("shop", "api", ip: "10.0.0.2"),
      ],
      options: LoadOptions(defaultNamespace: "team"))
    XCTAssertEqual(
      inventory.pods.map { "\($0.meta.namespace)/\($0.meta.name)" }, ["shop/api", "team/web"])
    XCTAssertEqual(inventory.policies.map(\.meta.namespace), ["team"])
  }

  func testPortProtocolDefaultsToTCP() throws {
    let policy = try onlyPolicy(
      policy("podSelector: {}\ningress:\n- ports:\n  - port: 80\n  - {}\n  - protocol: UDP"))
    let ports = try XCTUnwrap(policy.ingress.first?.ports)
    XCTAssertEqual(ports.map(\.proto), [.tcp, .tcp, .udp])
    XCTAssertEqual(ports.map(\.port), [.number(80), nil, nil])
    let pod = try XCTUnwrap(
      Load.inventory([Manifest.pod("a", "web", ip: "10.0.0.1", ports: [.init(8080, "http")])]).pods
        .first)
    XCTAssertEqual(pod.ports, [ContainerPort(name: "http", number: 8080, proto: .tcp)])
  }

  func testPolicyTypesDefaulting() throws {
    let table: [(String, String, [PolicyType], Bool)] = [
      ("omitted", "podSelector: {}", [.ingress], false),
      ("omitted, ingress rules", "podSelector: {}\ningress:\n- {}", [.ingress], false),
      ("omitted, egress rules", "podSelector: {}\negress:\n- {}", [.ingress, .egress], false),
      (
        "omitted, both rules", "podSelector: {}\ningress:\n- {}\negress:\n- {}",
        [.ingress, .egress], false
      ),
      ("empty list", "podSelector: {}\npolicyTypes: []", [.ingress], false),
      (
        "empty list, egress rules", "podSelector: {}\npolicyTypes: []\negress:\n- {}",
        [.ingress, .egress], false
      ),
      ("egress: [] adds nothing", "podSelector: {}\negress: []", [.ingress], false),
      ("explicit Egress", "podSelector: {}\npolicyTypes: [Egress]", [.egress], true),
      (
        "explicit Egress with ingress rules",
        "podSelector: {}\npolicyTypes: [Egress]\ningress:\n- {}", [.egress], true
      ),
      (
        "explicit both", "podSelector: {}\npolicyTypes: [Egress, Ingress]", [.egress, .ingress],
        true
      ),
    ]
    for (label, spec, types, written) in table {
      let policy = try onlyPolicy(policy(spec))
      XCTAssertEqual(policy.policyTypes, types, label)
      XCTAssertEqual(policy.policyTypesWritten, written, label)
    }
  }

  func testExplicitEgressOnlyDoesNotIsolateIngress() throws {
    let policy = try onlyPolicy(policy("podSelector: {}\npolicyTypes: [Egress]\ningress:\n- {}"))
    XCTAssertFalse(policy.applies(to: .ingress))
    XCTAssertTrue(policy.applies(to: .egress))
    XCTAssertEqual(policy.egress.count, 0, "[Egress] with no egress rules denies all egress")
  }

  func testPolicyWithoutSpecSelectsEverythingForIngress() throws {
    let policy = try onlyPolicy(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n")
    XCTAssertEqual(policy.policyTypes, [.ingress])
    XCTAssertTrue(policy.podSelector.isEmpty)
    XCTAssertTrue(policy.ingress.isEmpty)
  }

  func testNamespaceAlwaysCarriesItsNameLabel() throws {
    let inventory = Load.inventory([
      Manifest.namespace("shop", labels: ["team": "x"]),
      Manifest.namespace("bare"),
      Manifest.namespace("liar", labels: [Namespace.nameLabel: "someone-else"]),
    ])
    XCTAssertEqual(inventory.errors.map(\.formatted), [])
    let labels = Dictionary(uniqueKeysWithValues: inventory.namespaces.map { ($0.name, $0.labels) })
    XCTAssertEqual(labels["shop"], ["team": "x", Namespace.nameLabel: "shop"])
    XCTAssertEqual(labels["bare"], [Namespace.nameLabel: "bare"])
    XCTAssertEqual(
      labels["liar"], [Namespace.nameLabel: "liar"],
      "the API server sets the label, whatever was written")
  }

  func testNamespacesMentionedOnlyByPodsOrPoliciesExistWithTheNameLabel() {
    let cluster = Load.cluster([
      Manifest.namespace("shop", labels: ["team": "x"]),
      Manifest.pod("ghost", "web", ip: "10.0.0.1"),
      Manifest.policy("lonely", "p", "podSelector: {}"),
      Manifest.pod(nil, "api", ip: "10.0.0.2"),
    ])
    XCTAssertEqual(
      cluster.namespaceLabels,
      [
        "shop": ["team": "x", Namespace.nameLabel: "shop"], "ghost": [Namespace.nameLabel: "ghost"],
        "lonely": [Namespace.nameLabel: "lonely"], "default": [Namespace.nameLabel: "default"],
      ])
    XCTAssertEqual(
      cluster.namespaces(matching: LabelSelector(matchLabels: [Namespace.nameLabel: "ghost"])),
      ["ghost"])
  }
}
