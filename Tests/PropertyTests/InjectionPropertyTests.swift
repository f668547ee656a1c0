import Foundation
import IptablesEmitter
import PolicyModel
import RuleModel
import TestSupport
import XCTest

/// "The restore file is not an injection channel": random hostile strings
/// in every string field of a namespace, pods and a policy. Each input is
/// either refused with located errors, or compiles to files that the strict
/// reader accepts token by token (so no byte of input escaped a sanitised
/// comment or a validated token), and a sample loads with the real
/// `iptables-restore --test` and `ipset restore`.
final class InjectionPropertyTests: XCTestCase {
  static let hostile: [String] = [
    "\"", "'", "\n", "\r\n", "\\", "\\n", "$(reboot)", "`id`", ";rm -rf /", "-j ACCEPT", "\n-A FORWARD -j ACCEPT\n",
    "COMMIT", "*filter", "#", "--comment", "\" -j ACCEPT \"", "\u{0}", "\u{7f}", "é", "🙂", "\u{202e}", "a b", "%s%n",
    String(repeating: "x", count: 300), "0x800000/0x800000", "-m set --match-set", "POLICYC-FORWARD", ":", "{}", "[]",
  ]

  /// YAML double-quoted, so any string reaches the decoder exactly.
  static func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7f {
          out += String(format: "\\x%02x", scalar.value)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }

  static func document(_ pick: (String) -> String) -> String {
    """
    apiVersion: v1
    kind: Namespace
    metadata:
      name: \(pick("ns"))
      labels: {\(pick("nslabelkey")): \(pick("nslabel"))}
      annotations: {note: \(pick("annotation"))}
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: \(pick("pod"))
      namespace: \(pick("ns"))
      labels: {app: \(pick("podlabel"))}
      annotations: {note: \(pick("annotation"))}
    spec:
      nodeName: \(pick("node"))
      containers:
      - name: \(pick("container"))
        ports: [{name: \(pick("portname")), containerPort: 80, protocol: \(pick("protocol"))}]
    status: {phase: \(pick("phase")), podIP: \(pick("ip"))}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: \(pick("policy"))
      namespace: \(pick("ns"))
      annotations: {note: \(pick("annotation"))}
    spec:
      podSelector: {matchLabels: {app: \(pick("podlabel"))}}
      ingress:
      - from:
        - namespaceSelector: {matchExpressions: [{key: \(pick("nslabelkey")), operator: In, values: [\(pick("nslabel"))]}]}
        - ipBlock: {cidr: \(pick("cidr")), except: [\(pick("except"))]}
        ports: [{port: \(pick("portname")), protocol: \(pick("protocol"))}]
      egress:
      - to: [{podSelector: {}}]
        ports: [{port: \(pick("portname"))}]
    """
  }

  static let freeText: Set<String> = ["annotation", "phase", "node", "container"]

  static let valid: [String: String] = [
    "ns": "shop", "nslabelkey": "team", "nslabel": "a", "annotation": "x", "pod": "web", "podlabel": "web",
    "node": "node-a",
    "container": "c", "portname": "http", "protocol": "TCP", "phase": "Running", "ip": "10.0.0.5", "policy": "p",
    "cidr": "10.0.0.0/8", "except": "10.1.0.0/16",
  ]

  func testHostileStringsNeverReachTheRulesUnsanitised() throws {
    var generator = SeededGenerator(seed: 42)
    var refused = 0
    var compiled = 0
    var samples: [(String, String)] = []
    for round in 0..<400 {
      // Fields the API accepts any string for (annotations, phase, node and
      // container names) are often hostile; validated ones now and then,
      // so that both refusals and compiled outputs occur.
      let text = Self.document { field in
        let chance = Self.freeText.contains(field) ? 0.7 : 0.08
        let hostile = Double.random(in: 0..<1, using: &generator) < chance
        return Self.quote(hostile ? Self.hostile.randomElement(using: &generator)! : Self.valid[field]!)
      }
      let inventory = Loader.load([InputSource(path: "in.yaml", bytes: Array(text.utf8))])
      if !inventory.errors.isEmpty {
        refused += 1
        for d in inventory.errors {
          XCTAssertGreaterThan(d.location.line, 0, "round \(round): unlocated error \(d.formatted)")
          XCTAssertFalse(d.formatted.contains("\n"), "round \(round): message breaks a line: \(d.formatted)")
        }
        continue
      }
      compiled += 1
      for useSets in [false, true] {
        let ruleSet = try IptablesCompiler.compile(Cluster(inventory), options: EmitOptions(useIPSets: useSets))
        let rules = RestoreWriter.render(ruleSet)
        let sets = IPSetWriter.render(ruleSet.sets)
        XCTAssertNoThrow(try RestoreProgram(rules), "round \(round): strict reader refused:\n\(rules)")
        XCTAssertNoThrow(try IPSetState(sets), "round \(round): strict reader refused sets:\n\(sets)")
        if samples.count < 25 { samples.append((rules, sets)) }
      }
    }
    XCTAssertGreaterThan(refused, 50)
    XCTAssertGreaterThan(compiled, 5, "too few inputs compiled to test the output side")
    try kernelAccepts(samples)
  }

  /// The real tools must take the sampled files too.
  func kernelAccepts(_ samples: [(String, String)]) throws {
    XCTAssertEqual(getuid(), 0, "the kernel check needs root")
    let netns = "pci-\(getpid())"
    try Shell.run("ip netns add \(netns)")
    defer { _ = try? Shell.run("ip netns del \(netns)") }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(netns)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for (i, (rules, sets)) in samples.enumerated() {
      try rules.write(to: dir.appendingPathComponent("r\(i)"), atomically: true, encoding: .utf8)
      try sets.write(to: dir.appendingPathComponent("s\(i)"), atomically: true, encoding: .utf8)
      let loadSets = try Shell.run("ip netns exec \(netns) ipset restore < \(dir.path)/s\(i)", check: false)
      XCTAssertEqual(loadSets.status, 0, "ipset refused sample \(i): \(loadSets.output)")
      let test = try Shell.run(
        "ip netns exec \(netns) iptables-restore --test --noflush < \(dir.path)/r\(i)", check: false)
      XCTAssertEqual(test.status, 0, "iptables-restore refused sample \(i): \(test.output)\n\(rules)")
    }
  }
}

enum Shell {
  @discardableResult
  static func run(_ command: String, check: Bool = true) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command + " 2>&1"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let output = String(decoding: data, as: UTF8.self)
    if check, process.terminationStatus != 0 {
      throw RestoreProgram.Failure(description: "`\(command)` failed: \(output)")
    }
    return (process.terminationStatus, output)
  }
}
