import IptablesEmitter
import NodeApply
import PolicyModel
import XCTest

/// A plan made from the last apply's state, without reading the kernel
/// (what the agent does between resyncs), is the plan a read of the kernel
/// gives while the kernel holds that apply; and a failed step of it leaves
/// the rules in force and asks for a read.
final class PlanFromMemoryTests: XCTestCase {
  func loadedKernel() async throws -> (FakeKernel, ApplyState) { try await TransactionTests.loadedKernel() }

  func testPlanFromStateIsThePlanFromTheKernel() async throws {
    let (read, state) = try await loadedKernel()
    let (memory, _) = try await loadedKernel()
    XCTAssertEqual(read.picture, memory.picture)
    var states = (read: state, memory: state)
    // The agent keeps the chains' lines from plan to plan.
    let rendered = RenderedChains()
    // Members move, a policy goes, then everything comes back.
    for next in [
      try TransactionTests.ruleSet(dbLabel: "cache", extraPolicy: false), try TransactionTests.ruleSet(),
      try TransactionTests.ruleSet(dbLabel: "cache", extraPolicy: true),
    ] {
      let fromKernel = try await NodeApplier(runner: read).prepare(next, state: states.read)
      let calls = memory.calls.count
      let fromState = NodeApplier(runner: memory).prepare(next, trusting: states.memory, rendered: rendered)
      XCTAssertEqual(memory.calls.count, calls, "the plan from the state read the kernel")
      XCTAssertFalse(fromState.plan.full)
      for (a, b) in [
        (fromKernel.plan.stageSets, fromState.plan.stageSets), (fromKernel.plan.commitSets, fromState.plan.commitSets),
        (fromKernel.plan.restoreText, fromState.plan.restoreText),
        (fromKernel.plan.cleanupSets, fromState.plan.cleanupSets),
      ] {
        XCTAssertEqual(a, b)
      }
      XCTAssertEqual(fromKernel.plan.newState, fromState.plan.newState)
      _ = try await NodeApplier(runner: read).commit(fromKernel, force: false, statePath: nil)
      _ = try await NodeApplier(runner: memory).commit(fromState, force: false, statePath: nil)
      XCTAssertEqual(read.picture, memory.picture)
      XCTAssertFalse(
        memory.calls[calls...].contains { $0[0].hasSuffix("-save") || $0 == ["ipset", "save"] },
        "the apply from the state read the kernel")
      states = (fromKernel.plan.newState, fromState.plan.newState)
    }
  }

  func testFailedStepLeavesTheRulesAndAsksForARead() async throws {
    let (probe, state) = try await loadedKernel()
    let next = try TransactionTests.ruleSet(dbLabel: "cache", extraPolicy: false)
    let before = probe.calls.count
    _ = try await NodeApplier(runner: probe).commit(
      NodeApplier(runner: probe).prepare(next, trusting: state), force: false, statePath: nil)
    let ipsetCalls = probe.calls[before...].filter { $0[0] == "ipset" }.count
    XCTAssertGreaterThanOrEqual(ipsetCalls, 2)
    for (program, n) in [("iptables-restore", 1)] + (1...ipsetCalls).map({ ("ipset", $0) }) {
      let (kernel, state) = try await loadedKernel()
      let rules = kernel.save()
      kernel.fail(program, onCall: n)
      let applier = NodeApplier(runner: kernel)
      do {
        _ = try await applier.commit(applier.prepare(next, trusting: state), force: false, statePath: nil)
        XCTFail("\(program) call \(n): the apply succeeded")
      } catch {
        XCTAssertTrue(error.fromMemory, "\(program) call \(n): \(error.message)")
      }
      // The rules restore is the last step but the cleanup: before it, the
      // rules in force are the old ones; after it, the new ones.
      let cleanup = program == "ipset" && n == ipsetCalls
      if !cleanup { XCTAssertEqual(kernel.save(), rules, "\(program) call \(n) changed the rules") }
      // The caller's fallback: read the kernel, load everything.
      let full = try await applier.prepare(next, state: nil)
      _ = try await applier.commit(full, force: false, statePath: nil)
      let expected = try await loadedKernel().0
      _ = try await NodeApplier(runner: expected).commit(
        NodeApplier(runner: expected).prepare(next, state: nil), force: false, statePath: nil)
      XCTAssertEqual(kernel.save(), expected.save(), "\(program) call \(n): the reload differs")
      XCTAssertEqual(
        kernel.setOrder.sorted().map { kernel.sets[$0]!.members.sorted() },
        expected.setOrder.sorted().map { expected.sets[$0]!.members.sorted() }, "\(program) call \(n)")
      XCTAssertEqual(kernel.setOrder.sorted(), expected.setOrder.sorted(), "\(program) call \(n): sets leaked")
    }
  }
}
