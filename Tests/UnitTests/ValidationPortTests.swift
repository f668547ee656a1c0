import PolicyModel
import XCTest

/// ValidateNetworkPolicyPort: port numbers, port names (IANA_SVC_NAME),
/// endPort and protocol.
final class ValidationPortTests: XCTestCase {
  func ingressPort(_ entry: String) -> String {
    policy(
      "podSelector: {}\ningress:\n- ports:\n  - "
        + entry.replacingOccurrences(of: "\n", with: "\n    "))
  }

  func reject(_ label: String, _ entry: String, _ rule: String, _ message: String, field: String)
    -> Rejection
  {
    Rejection(
      label: label, document: ingressPort(entry), rule: rule, message: message,
      path: "spec.ingress[0].ports[0].\(field)")
  }

  func testPortNumbersAndNames() {
    let name = "must be no more than 15 characters"
    assertRejected([
      reject(
        "quoted number", "port: ↓\"80\"", RuleID.invalidPort,
        "invalid port name \"80\": must contain at least one letter (a-z) (a quoted number is a port name",
        field: "port"),
      reject("port 0", "port: ↓0", RuleID.invalidPort, "0 is out of range 1-65535", field: "port"),
      reject(
        "port 65536", "port: ↓65536", RuleID.invalidPort, "65536 is out of range 1-65535",
        field: "port"),
      reject("negative port", "port: ↓-1", RuleID.invalidPort, "-1 is out of range", field: "port"),
      reject(
        "huge port", "port: ↓99999999999999999999", RuleID.invalidPort,
        "99999999999999999999 is out of range", field: "port"),
      reject("16 characters", "port: ↓abcdefghijklmnop", RuleID.invalidPort, name, field: "port"),
      reject(
        "uppercase", "port: ↓HTTP", RuleID.invalidPort,
        "must contain only alpha-numeric characters (a-z, 0-9)", field: "port"),
      reject(
        "underscore", "port: ↓my_port", RuleID.invalidPort,
        "must contain only alpha-numeric characters", field: "port"),
      reject(
        "double dash", "port: ↓web--http", RuleID.invalidPort,
        "must not contain consecutive hyphens", field: "port"),
      reject(
        "leading dash", "port: ↓-http", RuleID.invalidPort, "must not begin or end with a hyphen",
        field: "port"),
      reject(
        "trailing dash", "port: ↓http-", RuleID.invalidPort, "must not begin or end with a hyphen",
        field: "port"),
      reject(
        "no letter", "port: ↓\"8-0\"", RuleID.invalidPort, "must contain at least one letter (a-z)",
        field: "port"),
      reject(
        "empty name", "port: ↓\"\"", RuleID.invalidPort, "invalid port name \"\": must contain",
        field: "port"),
      reject(
        "boolean", "port: ↓yes", RuleID.invalidType, "expected an integer, found boolean",
        field: "port"),
    ])
  }

  func testEndPort() {
    assertRejected([
      reject(
        "endPort with a named port", "port: http\nendPort: ↓90", RuleID.invalidPort,
        "endPort may not be specified when port is non-numeric", field: "endPort"),
      reject(
        "endPort without port", "endPort: ↓90", RuleID.invalidPort,
        "endPort may not be specified when port is not specified",
        field: "endPort"),
      reject(
        "endPort below port", "port: 90\nendPort: ↓80", RuleID.invalidPort,
        "endPort 80 must be greater than or equal to port 90",
        field: "endPort"),
      reject(
        "endPort 65536", "port: 90\nendPort: ↓65536", RuleID.invalidPort,
        "65536 is out of range 1-65535", field: "endPort"),
    ])
  }

  func testProtocol() {
    assertRejected([
      reject(
        "ICMP", "protocol: ↓ICMP", RuleID.invalidProtocol,
        "unsupported protocol \"ICMP\": must be TCP, UDP or SCTP", field: "protocol"),
      reject(
        "lowercase tcp", "protocol: ↓tcp\nport: 80", RuleID.invalidProtocol,
        "unsupported protocol \"tcp\"", field: "protocol"),
      reject(
        "number", "protocol: ↓6", RuleID.invalidType, "expected a string, found integer",
        field: "protocol"),
    ])
  }

  func testEgressPortsArePathedUnderEgress() {
    assertRejected([
      Rejection(
        label: "egress port 0",
        document: policy("podSelector: {}\negress:\n- ports:\n  - port: ↓0"),
        rule: RuleID.invalidPort,
        message: "0 is out of range", path: "spec.egress[0].ports[0].port")
    ])
  }

  func testBoundariesAreAccepted() {
    assertAccepted([
      ("port 1", ingressPort("port: 1")),
      ("port 65535", ingressPort("port: 65535")),
      ("15-character name", ingressPort("port: abcdefghijklmno")),
      ("name with inner dash and digits", ingressPort("port: h2-c")),
      ("endPort equal to port", ingressPort("port: 80\nendPort: 80")),
      ("endPort 65535", ingressPort("port: 1\nendPort: 65535")),
      ("SCTP", ingressPort("protocol: SCTP\nport: 9")),
      ("UDP without port", ingressPort("protocol: UDP")),
      ("null protocol is defaulted", ingressPort("protocol: null\nport: 80")),
    ])
  }
}
