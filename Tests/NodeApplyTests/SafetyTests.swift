import IptablesEmitter
import NodeApply
import PolicyModel
import RuleModel
import XCTest

/// Enforced pods, large drops, both backends at once, and removal, against
/// the fake kernel and listings as the tools print them.
final class SafetyTests: XCTestCase {
  func testEnforcedPodsFromIptablesSave() {
    let saved = """
      *filter
      :POLICYC-INGRESS - [0:0]
      -A FORWARD -m comment --comment "x/not-ours" -j ACCEPT
      -A POLICYC-INGRESS -d 10.0.0.1/32 -m comment --comment "x/a" -g POLICYC-IP-A
      -A POLICYC-EGRESS -s 10.0.0.1/32 -m comment --comment "x/a" -g POLICYC-EP-A
      -A POLICYC-EGRESS -s 10.0.0.2/32 -m comment --comment y/b -g POLICYC-EP-B
      -A POLICYC-IP-A -m comment --comment "deny ingress x/a" -j REJECT
      COMMIT
      """
    XCTAssertEqual(EnforcedPods.iptables(saved), ["x/a", "y/b"])
  }

  func testEnforcedPodsFromAnNftListing() {
    let listing = """
      table inet policyc {
      \tchain v4-INGRESS {
      \t\tip daddr vmap { 10.0.0.1 : goto v4-IP-A, 10.0.0.2 : goto v4-IP-B,
      \t\t\t\t10.0.0.3 : goto v4-IP-C }
      \t}
      \tchain v6-INGRESS {
      \t\tip6 daddr vmap { fd00::1 : goto v6-IP-A }
      \t}
      \tchain v4-IP-A {
      \t\treject with icmp admin-prohibited comment "deny ingress x/a"
      \t}
      \tchain v6-IP-A {
      \t\treject with icmpv6 admin-prohibited comment "deny ingress x/a"
      \t}
      \tchain v4-IP-B {
      \t\tjump v4-IN-P comment "x/allow"
      \t\tmeta mark & 0x01000000 == 0x01000000 reject comment "admin deny ingress x/b"
      \t}
      }
      """
    // x/a counts once for both families; v4-IP-C names no pod, so its address stands in.
    XCTAssertEqual(EnforcedPods.nft(listing), ["x/a", "x/b", "10.0.0.3"])
  }

  func testMoreThanHalfIsADropAndNamesTenPods() throws {
    let before = Set((1...14).map { "ns/p\($0 < 10 ? "0" : "")\($0)" })
    XCTAssertNil(EnforcementDrop(before: before, after: Set(before.sorted().prefix(7))), "half is not more than half")
    XCTAssertNil(EnforcementDrop(before: [], after: []))
    let drop = try XCTUnwrap(EnforcementDrop(before: before, after: ["ns/p01"]))
    XCTAssertEqual(drop.losing.count, 13)
    XCTAssertEqual(
      drop.message,
      "this apply would remove enforcement from 13 of the 14 pods enforced on this node (more than half): ns/p02, ns/p03, ns/p04, ns/p05, ns/p06, ns/p07, ns/p08, ns/p09, ns/p10, ns/p11 and 3 more; nothing changed (if this is intended, apply again with --force)"
    )
  }

  func loaded() async throws -> FakeKernel {
    let kernel = FakeKernel()
    kernel.order = ["KUBE-FORWARD"]
    kernel.rules["KUBE-FORWARD"] = ["-j ACCEPT"]
    kernel.rules["FORWARD"] = ["-j KUBE-FORWARD"]
    kernel.nftTables = ["inet foreign"]
    let applier = NodeApplier(runner: kernel)
    _ = try await applier.commit(
      try await applier.prepare(try TransactionTests.ruleSet(), state: nil), force: false, statePath: nil)
    XCTAssertFalse(kernel.setOrder.isEmpty)
    return kernel
  }

  func testALargeDropIsRefusedAndChangesNothing() async throws {
    let kernel = try await loaded()
    let picture = kernel.picture
    let applier = NodeApplier(runner: kernel)
    let empty = try IptablesCompiler.compile(
      Cluster(namespaces: [], pods: [], policies: []), options: EmitOptions(node: "node-a", useIPSets: true))
    let prepared = try await applier.prepare(empty, state: nil)
    XCTAssertEqual(prepared.drop?.losing, ["shop/a", "shop/b", "shop/c", "shop/d"])
    do {
      _ = try await applier.commit(prepared, force: false, statePath: nil)
      XCTFail("a large drop was applied without force")
    } catch {
      XCTAssertTrue("\(error)".contains("more than half"), "\(error)")
    }
    XCTAssertEqual(kernel.picture, picture)
    _ = try await applier.commit(prepared, force: true, statePath: nil)
    XCTAssertTrue(kernel.setOrder.isEmpty, "--force applies")
  }

  func testTheOtherBackendIsRefused() async throws {
    let kernel = try await loaded()
    kernel.nftTables.append("inet policyc")
    let applier = NodeApplier(runner: kernel)
    do {
      _ = try await applier.prepare(try TransactionTests.ruleSet(), state: nil)
      XCTFail("iptables was prepared while the nft backend is loaded")
    } catch {
      XCTAssertTrue("\(error)".contains("table inet policyc"), "\(error)")
      XCTAssertTrue("\(error)".contains("`policyc remove`"), "\(error)")
    }
  }

  func testRemoveLeavesForeignRulesAndIsIdempotent() async throws {
    let kernel = try await loaded()
    kernel.nftTables.append("inet policyc")
    let state = NSTemporaryDirectory() + "policyc-remove-\(getpid()).state"
    XCTAssertTrue(FileManager.default.createFile(atPath: state, contents: Data("x".utf8)))
    let applier = NodeApplier(runner: kernel)
    let report = try await applier.remove(statePaths: [state, state + ".ipv6"])
    XCTAssertTrue(report.summary.hasPrefix("policyc: removed table inet policyc, "), report.summary)
    XCTAssertTrue(report.summary.hasSuffix(", 1 state file"), report.summary)
    XCTAssertEqual(kernel.order, ["KUBE-FORWARD"])
    XCTAssertEqual(kernel.rules["FORWARD"], ["-j KUBE-FORWARD"])
    XCTAssertEqual(kernel.rules["KUBE-FORWARD"], ["-j ACCEPT"])
    XCTAssertEqual(kernel.nftTables, ["inet foreign"])
    XCTAssertTrue(kernel.setOrder.isEmpty)
    XCTAssertFalse(FileManager.default.fileExists(atPath: state))
    let again = try await applier.remove(statePaths: [state])
    XCTAssertEqual(again.summary, "policyc: nothing to remove: policyc has no rules, sets or state on this node")
  }
}
