import IptablesEmitter
import PolicyModel
import Synchronization

/// Each chain's rule lines and hash as a plan last rendered them, by
/// family and chain name, reused while the chain is the same value: an
/// agent plans its node after every policy change, and rendering and
/// hashing every chain of a large node again was a third of the plan.
public final class RenderedChains: Sendable {
  struct Entry {
    var chain: IptablesChain
    var lines: String
    var hash: String
  }

  let entries = Mutex<[IPAddress.Family: [String: Entry]]>([:])

  public init() {}

  /// A chain's rule lines as iptables-save prints them, and their hash.
  static func render(_ chain: IptablesChain) -> (lines: String, hash: String) {
    let lines = RestoreWriter.lines(chain)
    return (lines, ApplyState.chainHash(text: lines))
  }

  /// `render` of every chain of `ruleSet`, from the last call where the
  /// chain is unchanged; keeps this call's chains for the next.
  func lines(of ruleSet: IptablesRuleSet) -> [(lines: String, hash: String)] {
    entries.withLock { entries in
      let last = entries[ruleSet.family] ?? [:]
      var next: [String: Entry] = [:]
      let out = ruleSet.chains.map { chain in
        let entry =
          last[chain.name].flatMap { $0.chain == chain ? $0 : nil }
          ?? {
            let (lines, hash) = Self.render(chain); return Entry(chain: chain, lines: lines, hash: hash)
          }()
        next[chain.name] = entry
        return (entry.lines, entry.hash)
      }
      entries[ruleSet.family] = next
      return out
    }
  }
}
