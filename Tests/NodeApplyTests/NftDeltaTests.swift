import PolicyModel
import XCTest

@testable import NftEmitter

/// The incremental nft script: what it loads, in which order, and when it
/// declines (the agent then loads the whole table).
final class NftDeltaTests: XCTestCase {
  func chain(_ name: String, _ rules: [String]) -> NftChain {
    NftChain(name: name, owner: "ns/p", rules: rules.map { NftRule(text: $0, comment: nil) })
  }

  func addresses(_ name: String, _ elements: [String], interval: Bool = false) -> NftSet {
    NftSet(name: name, family: .ipv4, interval: interval, elements: elements)
  }

  func table(_ sets: [NftSet], _ chains: [NftChain], root: String = "v4-A") -> NftRuleSet {
    NftRuleSet(sets: sets, chains: chains, roots: [(.ipv4, root)], summary: [])
  }

  func testTheSameTableNeedsNothing() throws {
    let maker = NftRuleSetMaker(seed: 1)
    var steps = maker
    let ruleSet = steps.step()
    let delta = try XCTUnwrap(NftDelta.plan(from: ruleSet, to: ruleSet))
    XCTAssertTrue(delta.isEmpty)
    XCTAssertEqual(delta.chainsChanged + delta.chainsAdded + delta.chainsRemoved, 0)
  }

  func testAChangedChainIsFlushedAndFilledAndNothingElseMoves() throws {
    let old = table(
      [addresses("pA", ["10.0.0.1"])],
      [chain("v4-A", ["ip saddr @pA jump v4-B"]), chain("v4-B", ["tcp dport 80 accept"])])
    let new = table(
      [addresses("pA", ["10.0.0.1"])],
      [chain("v4-A", ["ip saddr @pA jump v4-B"]), chain("v4-B", ["tcp dport 80 accept", "tcp dport 81 accept"])])
    let delta = try XCTUnwrap(NftDelta.plan(from: old, to: new))
    XCTAssertEqual(
      delta.text,
      """
      flush chain inet policyc v4-B
      add rule inet policyc v4-B tcp dport 80 accept
      add rule inet policyc v4-B tcp dport 81 accept

      """)
    XCTAssertEqual(delta.chainsChanged, 1)
  }

  func testNewThingsComeBeforeTheirUsersAndOldOnesGoAfter() throws {
    let old = table(
      [addresses("pA", ["10.0.0.1", "10.0.0.2"]), addresses("s4-OLD", ["10.9.0.0/16"], interval: true)],
      [
        chain("v4-A", ["ip saddr @s4-OLD jump v4-OLD"]), chain("v4-OLD", ["ip saddr @pA jump v4-OLD2"]),
        chain("v4-OLD2", []),
      ])
    let new = table(
      [
        addresses("pA", ["10.0.0.2", "10.0.0.3"]),
        addresses("s4-NEW", ["10.8.0.0/16", "10.7.0.1-10.7.0.9"], interval: true),
      ],
      [chain("v4-A", ["ip saddr @s4-NEW jump v4-NEW"]), chain("v4-NEW", ["accept"])])
    let delta = try XCTUnwrap(NftDelta.plan(from: old, to: new))
    XCTAssertEqual(
      delta.text,
      """
      delete element inet policyc pA { 10.0.0.1 }
      add element inet policyc pA { 10.0.0.3 }
      add set inet policyc s4-NEW { type ipv4_addr; flags interval; elements = { 10.8.0.0/16, 10.7.0.1-10.7.0.9 }; }
      add chain inet policyc v4-NEW
      flush chain inet policyc v4-A
      add rule inet policyc v4-A ip saddr @s4-NEW jump v4-NEW
      add rule inet policyc v4-NEW accept
      flush chain inet policyc v4-OLD
      delete chain inet policyc v4-OLD
      delete chain inet policyc v4-OLD2
      delete set inet policyc s4-OLD

      """)
    XCTAssertEqual(
      [delta.chainsAdded, delta.chainsChanged, delta.chainsRemoved, delta.setsAdded, delta.setsRemoved],
      [1, 1, 2, 1, 1])
    XCTAssertEqual([delta.elementsAdded, delta.elementsRemoved], [1, 1])
  }

  func testAMovedRootRefillsTheBaseChain() throws {
    let chains = [chain("v4-A", []), chain("v4-B", [])]
    let delta = try XCTUnwrap(NftDelta.plan(from: table([], chains), to: table([], chains, root: "v4-B")))
    XCTAssertEqual(
      delta.text, "flush chain inet policyc forward\nadd rule inet policyc forward meta nfproto ipv4 jump v4-B\n")
  }

  func testCommentsAreWrittenAsTheWholeTableWritesThem() throws {
    var rule = NftRule(text: "accept", comment: "ns/p \"quoted\"\ningress[0]")
    let old = table([], [chain("v4-A", [])])
    let new = table([], [NftChain(name: "v4-A", owner: "ns/p", rules: [rule])])
    let delta = try XCTUnwrap(NftDelta.plan(from: old, to: new))
    XCTAssertEqual(
      delta.text, "flush chain inet policyc v4-A\nadd rule inet policyc v4-A \(NftWriter.statement(rule))\n")
    XCTAssertTrue(NftWriter.render(new).contains("\t\t\(NftWriter.statement(rule))\n"))
    rule.comment = nil
    XCTAssertEqual(NftWriter.statement(rule), "accept")
  }

  func testASetThatChangedItsKindIsLeftToAWholeLoad() {
    let old = table([addresses("pA", ["10.0.0.1"])], [chain("v4-A", [])])
    let new = table([addresses("pA", ["10.0.0.0/24"], interval: true)], [chain("v4-A", [])])
    XCTAssertNil(NftDelta.plan(from: old, to: new))
    let twice = table([], [chain("v4-A", []), chain("v4-A", ["accept"])])
    XCTAssertNil(NftDelta.plan(from: old, to: twice))
  }

  /// Applying a delta's counts to the old table gives the new one's, on
  /// random steps (the kernel test checks the listings themselves).
  func testCountsAddUpOnRandomSteps() throws {
    var maker = NftRuleSetMaker(seed: 42)
    var old = maker.step()
    for _ in 0..<200 {
      let new = maker.step()
      let delta = try XCTUnwrap(NftDelta.plan(from: old, to: new))
      XCTAssertEqual(old.chains.count + delta.chainsAdded - delta.chainsRemoved, new.chains.count)
      XCTAssertEqual(old.sets.count + delta.setsAdded - delta.setsRemoved, new.sets.count)
      XCTAssertEqual(
        old.elementCount + delta.elementsAdded - delta.elementsRemoved - removedWithSets(old, new), new.elementCount)
      XCTAssertEqual(delta.isEmpty, NftWriter.render(old) == NftWriter.render(new))
      old = new
    }
  }

  /// Elements of sets deleted whole, and minus those of sets added whole.
  func removedWithSets(_ old: NftRuleSet, _ new: NftRuleSet) -> Int {
    let newNames = Set(new.sets.map(\.name))
    let oldNames = Set(old.sets.map(\.name))
    return old.sets.filter { !newNames.contains($0.name) }.reduce(0) { $0 + $1.elements.count }
      - new.sets.filter { !oldNames.contains($0.name) }.reduce(0) { $0 + $1.elements.count }
  }
}
