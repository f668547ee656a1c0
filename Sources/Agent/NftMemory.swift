import Foundation
import NftEmitter
import NodeApply
import RuleModel

/// The nft table the agent's own loads and element updates left in force,
/// as a rule set, so that the next compile loads only what differs
/// (`NftDelta`). Forgotten whenever the agent cannot vouch for the kernel:
/// a failed load or update, a load that read the kernel first (a repair,
/// a start), or element updates it could not follow.
public final class NftMemory: @unchecked Sendable {
  private let lock = NSLock()
  private var ruleSet: NftRuleSet?
  private var podSets = PodSetMemo()

  public init() {}

  var current: NftRuleSet? { lock.withLock { ruleSet } }

  func remember(_ loaded: NftRuleSet?) { lock.withLock { ruleSet = loaded } }

  func forget() { remember(nil) }

  /// Lowers `models` as the agent loads them, reusing the pod sets of the
  /// last lowering whose model sets are unchanged.
  func lower(_ models: [RuleSet]) throws(NftCompiler.Failure) -> NftRuleSet {
    var memo = lock.withLock { podSets }
    let lowered = try NftCompiler.lower(models, podSetsByMeaning: true, reusing: &memo)
    lock.withLock { podSets = memo }
    return lowered
  }

  /// After a successful element update: the sets now hold what `changes`
  /// (nft set names) made of them. A change to a set it does not know
  /// makes it forget the table.
  func apply(_ changes: [SetMemberChange]) {
    lock.withLock {
      guard var known = ruleSet else { return }
      var index: [String: Int] = [:]
      for (position, set) in known.sets.enumerated() { index[set.name] = position }
      for change in changes where !change.added.isEmpty || !change.removed.isEmpty {
        guard let position = index[change.set], !known.sets[position].interval else {
          ruleSet = nil
          return
        }
        // As `updateElements` loads them: the additions, then the
        // deletions. The order is kept; `NftDelta` compares these sets'
        // elements as sets.
        var elements = known.sets[position].elements
        var present = Set(elements)
        for element in change.added where present.insert(element).inserted { elements.append(element) }
        let removed = Set(change.removed)
        if !removed.isEmpty { elements.removeAll { removed.contains($0) } }
        known.sets[position].elements = elements
      }
      ruleSet = known
    }
  }
}
