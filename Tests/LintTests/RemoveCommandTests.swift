import Foundation
import XCTest

/// `policyc apply --remove` and `policyc remove` are one code path: against
/// the same stand-in kernel (scripts named like the real tools, first on
/// PATH, that print a node with policyc loaded in both backends and log
/// every call) they make the same calls, print the same summary and delete
/// the same state files. The kernel suite proves the removal on real
/// netfilter; this proves the two spellings do not drift apart.
final class RemoveCommandTests: XCTestCase {
  /// What the stand-in tools print: policyc's chains and FORWARD jump in
  /// both families, two sets (one another program's) and both nft tables.
  static let tools: [String: String] = [
    "iptables-save": """
    *filter
    :FORWARD ACCEPT [0:0]
    :POLICYC-FORWARD - [0:0]
    :POLICYC-I-ABC - [0:0]
    -A FORWARD -m comment --comment "policyc: enforce NetworkPolicies" -j POLICYC-FORWARD
    -A POLICYC-FORWARD -j POLICYC-I-ABC
    COMMIT
    """,
    "ip6tables-save": """
    *filter
    :FORWARD ACCEPT [0:0]
    :POLICYC-FORWARD - [0:0]
    -A FORWARD -m comment --comment "policyc: enforce NetworkPolicies" -j POLICYC-FORWARD
    COMMIT
    """,
    "ipset": "POLICYC-4P-AAAA\nKUBE-OTHER\n",
    "nft": "table inet policyc\ntable ip other\n",
  ]

  func makeNode() throws -> (bin: URL, log: URL, state: URL) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-remove-\(UUID().uuidString)")
    try? FileManager.default.removeItem(at: root)
    let bin = root.appendingPathComponent("bin")
    try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: root) }
    let log = root.appendingPathComponent("calls.log")
    for program in ["iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore", "ipset", "nft"] {
      // Only the listing calls print; every call logs its arguments and input.
      let output = Self.tools[program].map { "printf '%s\\n' '\($0)'" } ?? ":"
      let script = """
        #!/bin/sh
        echo "\(program) $*" >> '\(log.path)'
        case "$1" in -t|list) \(output) ;; *) cat >> '\(log.path)' ;; esac
        """
      let path = bin.appendingPathComponent(program)
      try script.write(to: path, atomically: true, encoding: .utf8)
      try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path.path)
    }
    let state = root.appendingPathComponent("apply.state")
    return (bin, log, state)
  }

  func run(_ arguments: [String]) throws -> (PolicycBinary.Run, calls: String, stateLeft: [String]) {
    let node = try makeNode()
    for suffix in ["", ".ipv6"] { try "x\n".write(toFile: node.state.path + suffix, atomically: true, encoding: .utf8) }
    let path = node.bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    let run = try PolicycBinary.policyc(arguments + ["--state", node.state.path], environment: ["PATH": path])
    let calls = (try? String(contentsOf: node.log, encoding: .utf8)) ?? ""
    let left = ["", ".ipv6"].filter { FileManager.default.fileExists(atPath: node.state.path + $0) }
    return (run, calls, left)
  }

  func testApplyRemoveDoesWhatRemoveDoes() throws {
    let remove = try run(["remove"])
    let applyRemove = try run(["apply", "--remove"])
    XCTAssertEqual(remove.0.status, 0, remove.0.stderr)
    XCTAssertEqual(
      remove.0.stdout,
      "policyc: removed table inet policyc, 2 chains in iptables, 1 chain in ip6tables, 1 ipset, 2 state files\n")
    XCTAssertEqual(remove.stateLeft, [])
    // The removal itself: the nft table, each family's jump and chains, and only policyc's set.
    for call in [
      "nft delete table inet policyc", "iptables-restore --noflush", "ip6tables-restore --noflush",
      "-D FORWARD -m comment --comment \"policyc: enforce NetworkPolicies\" -j POLICYC-FORWARD", "-X POLICYC-I-ABC",
      "ipset restore\ndestroy POLICYC-4P-AAAA\n",
    ] {
      XCTAssertTrue(remove.calls.contains(call), "remove did not run \(call):\n\(remove.calls)")
    }
    XCTAssertFalse(remove.calls.contains("KUBE-OTHER\n"), "remove touched another program's set")
    XCTAssertEqual(applyRemove.0.status, remove.0.status, applyRemove.0.stderr)
    XCTAssertEqual(applyRemove.0.stdout, remove.0.stdout)
    XCTAssertEqual(applyRemove.0.stderr, remove.0.stderr)
    XCTAssertEqual(applyRemove.calls, remove.calls)
    XCTAssertEqual(applyRemove.stateLeft, [])
  }

  func testApplyRemoveQuiet() throws {
    let quiet = try run(["apply", "--remove", "--quiet"])
    XCTAssertEqual(quiet.0.status, 0, quiet.0.stderr)
    XCTAssertEqual(quiet.0.stdout, "")
    XCTAssertTrue(quiet.calls.contains("nft delete table inet policyc"), quiet.calls)
  }

  /// `--remove` with what only an apply reads is refused before anything runs.
  func testApplyRemoveRefusesApplyInputs() throws {
    for extra in [["samples/"], ["--dry-run"], ["--iptables-save", "iptables-legacy-save"]] {
      let refused = try run(["apply", "--remove"] + extra)
      XCTAssertEqual(refused.0.status, 2, "\(extra)")
      XCTAssertTrue(refused.0.stderr.contains("--remove takes no manifests"), refused.0.stderr)
      XCTAssertEqual(refused.calls, "", "\(extra): a refused --remove ran \(refused.calls)")
      XCTAssertEqual(refused.stateLeft, ["", ".ipv6"])
    }
  }

  /// apply and remove run iptables, ipset and nft inside a pod's or node's
  /// network namespace, where loopback may be down (Foundation's Process
  /// aborts there). Both run for real in a fresh namespace with lo down.
  func testApplyAndRemoveRunInANamespaceWithoutLoopback() throws {
    XCTAssertEqual(getuid(), 0, "network namespaces need root")
    let netns = "pc-nolo-\(getpid())"
    XCTAssertEqual(try PolicycBinary.run(["netns", "add", netns], executable: "/usr/sbin/ip").status, 0)
    defer { _ = try? PolicycBinary.run(["netns", "del", netns], executable: "/usr/sbin/ip") }
    let lo = try PolicycBinary.run(
      ["netns", "exec", netns, "ip", "-o", "link", "show", "lo"], executable: "/usr/sbin/ip")
    XCTAssertTrue(lo.stdout.contains("state DOWN"), "lo is up: the test would prove nothing: \(lo.stdout)")
    let state = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-nolo-\(getpid()).state").path
    defer { for path in [state, state + ".ipv6"] { unlink(path) } }
    let samples = LintGolden.repository.appendingPathComponent("samples/cluster").path
    let inNetns = ["netns", "exec", netns, PolicycBinary.path]
    let apply = try PolicycBinary.run(
      inNetns + ["apply", "--node", "node-a", "--ipsets", "--state", state, samples], executable: "/usr/sbin/ip")
    XCTAssertEqual(apply.status, 0, apply.stderr)
    XCTAssertTrue(apply.stdout.hasPrefix("policyc: ipv4: full apply, loaded "), apply.stdout)
    let remove = try PolicycBinary.run(inNetns + ["apply", "--remove", "--state", state], executable: "/usr/sbin/ip")
    XCTAssertEqual(remove.status, 0, remove.stderr)
    XCTAssertTrue(remove.stdout.hasPrefix("policyc: removed "), remove.stdout)
    XCTAssertTrue(remove.stdout.hasSuffix("ipsets, 1 state file\n"), remove.stdout)
  }
}
