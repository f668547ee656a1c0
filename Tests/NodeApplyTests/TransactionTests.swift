import IptablesEmitter
import NodeApply
import PolicyModel
import RuleModel
import XCTest

/// Every step of an iptables apply fails in turn, in a fake kernel: each
/// time the kernel must end exactly as it was and no state be written.
final class TransactionTests: XCTestCase {
  /// Four pods on node-a; `web` selects peers by label, so moving labels
  /// changes set members without changing chains.
  static func cluster(dbLabel: String, extraPolicy: Bool) -> Cluster {
    var docs = [
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}"
    ]
    for (name, ip, app) in [
      ("a", "10.0.0.1", "web"), ("b", "10.0.0.2", "web"), ("c", "10.0.0.3", dbLabel),
      ("d", "10.0.0.4", "db"),
    ] {
      docs.append(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: \(name), namespace: shop, labels: {app: \(app)}}\nspec: {nodeName: node-a}\nstatus: {podIP: \(ip), podIPs: [{ip: \(ip)}]}"
      )
    }
    docs.append(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-in, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}, {podSelector: {matchLabels: {app: db}}}]"
    )
    docs.append(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-in, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: db}}}, {ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]"
    )
    if extraPolicy {
      docs.append(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a-only, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from: [{ipBlock: {cidr: 172.16.0.0/12, except: [172.16.1.0/24]}}]"
      )
    }
    let text = docs.joined(separator: "\n---\n")
    return Cluster(Loader.load([InputSource(path: "test.yaml", bytes: Array(text.utf8))]))
  }

  static func ruleSet(dbLabel: String = "db", extraPolicy: Bool = true) throws -> IptablesRuleSet {
    try IptablesCompiler.compile(
      cluster(dbLabel: dbLabel, extraPolicy: extraPolicy), options: EmitOptions(node: "node-a", useIPSets: true))
  }

  var statePath: String { NSTemporaryDirectory() + "policyc-tx-\(getpid())-\(name.hashValue).state" }

  /// A kernel holding the first rule set (and foreign rules), and its state.
  func loadedKernel() async throws -> (FakeKernel, ApplyState) { try await Self.loadedKernel() }

  static func loadedKernel() async throws -> (FakeKernel, ApplyState) {
    let kernel = FakeKernel()
    kernel.order = ["KUBE-FORWARD"]
    kernel.rules["KUBE-FORWARD"] = ["-m conntrack --ctstate INVALID -j DROP"]
    kernel.rules["FORWARD"] = ["-j KUBE-FORWARD", "-s 10.98.0.0/16 -j DROP"]
    let applier = NodeApplier(runner: kernel)
    let first = try await applier.prepare(try ruleSet(), state: nil)
    _ = try await applier.commit(first, force: false, statePath: nil)
    return (kernel, first.plan.newState)
  }

  /// The second apply: c turns from app=db to app=cache (members move), the a-only policy
  /// goes (its set is stale), and one set has no record in the state (so
  /// it is swapped, not updated).
  func secondApply(_ state: ApplyState) throws -> (IptablesRuleSet, ApplyState) {
    var state = state
    let next = try Self.ruleSet(dbLabel: "cache", extraPolicy: false)
    // A set whose members stay: without its record it is swapped, while the changed ones get deltas.
    let swapped = try XCTUnwrap(next.sets.first { state.sets[$0.name]?.members == $0.members }?.name)
    state.sets[swapped] = nil
    return (next, state)
  }

  func testSecondApplySwapsUpdatesAndRemovesSets() async throws {
    let (kernel, state) = try await loadedKernel()
    let (next, edited) = try secondApply(state)
    let prepared = try await NodeApplier(runner: kernel).prepare(next, state: edited)
    XCTAssertFalse(prepared.plan.swappedSets.isEmpty, "no swap: \(prepared.plan)")
    XCTAssertFalse(prepared.plan.updatedSets.isEmpty, "no member delta")
    XCTAssertFalse(prepared.plan.staleSets.isEmpty, "no stale set")
  }

  func testEveryFailingIPSetCallLeavesTheKernelAsItWas() async throws {
    let (probe, state) = try await loadedKernel()
    let (next, edited) = try secondApply(state)
    // How many ipset calls the apply makes when nothing fails.
    let before = probe.calls.count
    _ = try await NodeApplier(runner: probe).commit(
      try await NodeApplier(runner: probe).prepare(next, state: edited), force: false, statePath: nil)
    let ipsetCalls = probe.calls[before...].filter { $0[0] == "ipset" }.count
    XCTAssertGreaterThanOrEqual(ipsetCalls, 4, "save, prepare, commit, cleanup")
    for n in 1...ipsetCalls {
      try await assertRollback(failing: "ipset", at: n, next: next, state: edited)
    }
  }

  func testFailingRulesLoadAndReadsLeaveTheKernelAsItWas() async throws {
    let (_, state) = try await loadedKernel()
    let (next, edited) = try secondApply(state)
    try await assertRollback(failing: "iptables-restore", at: 1, next: next, state: edited)
    try await assertRollback(failing: "iptables-save", at: 1, next: next, state: edited)
  }

  func assertRollback(failing program: String, at n: Int, next: IptablesRuleSet, state: ApplyState) async throws {
    let (kernel, _) = try await loadedKernel()
    let picture = kernel.picture
    kernel.fail(program, onCall: n)
    unlink(statePath)
    let applier = NodeApplier(runner: kernel)
    do {
      _ = try await applier.commit(try await applier.prepare(next, state: state), force: false, statePath: statePath)
      XCTFail("\(program) call \(n): the apply succeeded")
    } catch {
      XCTAssertTrue(
        error.message.contains("nothing changed") || error.message.contains("rolled back"),
        "\(program) call \(n): \(error.message)")
    }
    XCTAssertEqual(kernel.picture, picture, "\(program) call \(n) left the kernel changed")
    XCTAssertFalse(kernel.setOrder.contains { $0.hasSuffix("-T") || $0.hasSuffix("-R") }, "a temporary set leaked")
    XCTAssertFalse(FileManager.default.fileExists(atPath: statePath), "a failed apply wrote the state")
  }

  func testSuccessfulApplyWritesStateAndReportsWhatChanged() async throws {
    let (kernel, state) = try await loadedKernel()
    let (next, edited) = try secondApply(state)
    let applier = NodeApplier(runner: kernel)
    unlink(statePath)
    let report = try await applier.commit(
      try await applier.prepare(next, state: edited), force: false, statePath: statePath)
    XCTAssertTrue(report.changed)
    XCTAssertTrue(report.summary.hasPrefix("ipv4: incremental apply, "), report.summary)
    XCTAssertNotNil(StateFile.read(statePath))
    let again = try await applier.commit(
      try await applier.prepare(next, state: StateFile.read(statePath)), force: false, statePath: nil)
    XCTAssertEqual(again.summary, "ipv4: no change")
    XCTAssertFalse(kernel.setOrder.contains { $0.hasSuffix("-T") })
    unlink(statePath)
  }

  /// Member changes without a compile (the agent's pod updates): one
  /// `ipset -exist restore`, adds before deletes, the state brought along
  /// and written; a failure puts the members back, and the state file is
  /// gone (the next apply reloads everything) rather than wrong.
  func testMemberChangesUpdateSetsAndState() async throws {
    let (kernel, state) = try await loadedKernel()
    let set = try XCTUnwrap(state.sets.first { $0.value.members.contains("10.0.0.3") }?.key)
    let applier = NodeApplier(runner: kernel)
    var updated = state
    try StateFile.write(state, to: statePath)
    try await applier.updateMembers(
      [SetMemberChange(set: set, added: ["10.0.0.9"], removed: ["10.0.0.3"])], state: &updated, statePath: statePath)
    XCTAssertEqual(kernel.calls.last, ["ipset", "-exist", "restore"])
    XCTAssertTrue(kernel.sets[set]!.members.contains("10.0.0.9"))
    XCTAssertFalse(kernel.sets[set]!.members.contains("10.0.0.3"))
    XCTAssertEqual(Set(updated.sets[set]!.members), Set(kernel.sets[set]!.members))
    XCTAssertEqual(StateFile.read(statePath), updated)

    let before = kernel.sets[set]!.members
    kernel.fail("ipset", onCall: 1)
    var failed = updated
    do {
      try await applier.updateMembers(
        [SetMemberChange(set: set, added: ["10.0.0.10"], removed: ["10.0.0.9"])], state: &failed,
        statePath: statePath)
      XCTFail("the injected failure was not reported")
    } catch {
      XCTAssertTrue(error.message.contains("the sets were put back"), error.message)
    }
    XCTAssertEqual(Set(kernel.sets[set]!.members), Set(before))
    XCTAssertEqual(failed, updated, "the state must not change on failure")
    XCTAssertNil(StateFile.read(statePath), "a state file that may be wrong must be gone")

    // A set the state does not know, or one that would outgrow maxelem: nothing runs.
    let calls = kernel.calls.count
    var unknown = updated
    await XCTAssertThrowsAsync {
      try await applier.updateMembers(
        [SetMemberChange(set: "POLICYC-4P-none", added: ["10.0.0.1"], removed: [])], state: &unknown, statePath: nil)
    }
    var full = updated
    full.sets[set]!.maxelem = full.sets[set]!.members.count
    await XCTAssertThrowsAsync {
      try await applier.updateMembers(
        [SetMemberChange(set: set, added: ["10.0.0.11"], removed: [])], state: &full, statePath: nil)
    }
    XCTAssertEqual(kernel.calls.count, calls)
    unlink(statePath)
  }

  func XCTAssertThrowsAsync(_ body: () async throws -> Void, line: UInt = #line) async {
    do {
      try await body()
      XCTFail("no error", line: line)
    } catch {}
  }

  /// apply's state files: FILE for one family, FILE and FILE.ipv6 for both,
  /// the defaults without --state; --full (`full`) reads none of them.
  func testEachFamilyPlansAgainstItsStateFile() async throws {
    let (kernel, state) = try await loadedKernel()
    unlink(statePath)
    defer { unlink(statePath) }
    try StateFile.write(state, to: statePath)
    let applier = NodeApplier(runner: kernel)
    let v4 = try Self.ruleSet()
    let v6 = try IptablesCompiler.compile(
      Self.cluster(dbLabel: "db", extraPolicy: true), options: EmitOptions(node: "node-a", family: .ipv6))
    let both = try await applier.prepare([v4, v6], state: statePath, full: false)
    XCTAssertEqual(both.map(\.statePath), [statePath, statePath + ".ipv6"])
    XCTAssertEqual(both.map(\.0.plan.full), [false, true], "IPv4 read its state file; IPv6 has none yet")
    XCTAssertTrue(both[0].0.plan.isNoop, "the kernel holds what the state file says")
    let alone = try await applier.prepare([v6], state: statePath, full: false)
    XCTAssertEqual(alone.map(\.statePath), [statePath])
    let full = try await applier.prepare([v4], state: statePath, full: true)
    XCTAssertEqual(full.map(\.0.plan.full), [true])
    let defaults = try await applier.prepare([v4, v6], state: nil, full: true)
    XCTAssertEqual(defaults.map(\.statePath), [StateFile.defaultPath(ipv6: false), StateFile.defaultPath(ipv6: true)])
  }
}
