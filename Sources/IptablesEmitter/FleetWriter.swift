import PolicyModel
import RuleModel
import Synchronization

/// Writes the iptables-restore and ipset files of many nodes of one fleet
/// (`compile --all-nodes`), each byte for byte what `RestoreWriter` and
/// `IPSetWriter` write for the node alone. A chain or set the fleet's memo
/// shares is the same on every node that has it, so its text is spelled
/// once and reused. Threads share a writer.
public final class FleetWriter: Sendable {
  public let memo: FleetMemo
  /// What a chain's or set's text depends on besides its name.
  struct Key: Hashable {
    var family: IPAddress.Family
    var useIPSets: Bool
    var markBit: UInt32
    var name: String
  }
  let chains = Mutex<[Key: String]>([:])
  let sets = Mutex<[Key: String]>([:])

  public init(memo: FleetMemo) {
    self.memo = memo
  }

  /// One node's rules, compiled with the memo.
  public func compile(_ cluster: Cluster, options: EmitOptions) throws(RuleCompiler.Failure) -> RuleSet {
    try RuleCompiler.compile(cluster, options: options, memo: memo)
  }

  /// `RestoreWriter.render(IptablesLowering.ruleSet(model))`, and with
  /// `ipsets`, `IPSetWriter.render` of its sets.
  public func render(_ model: RuleSet, options: EmitOptions, ipsets: Bool) -> (rules: String, ipset: String?) {
    let lowering = IptablesLowering.Lowering(family: model.family)
    func key(_ name: String) -> Key {
      Key(family: options.family, useIPSets: options.useIPSets, markBit: options.markBit, name: name)
    }
    // The pieces first, then one string of their exact size: the files are
    // megabytes, mostly text shared with other nodes.
    var pieces = [RestoreWriter.header(family: model.family, summary: model.summary)]
    for chain in model.chains { pieces.append(RestoreWriter.declaration(IptablesLowering.name(chain.name))) }
    for chain in model.chains {
      func spell() -> String {
        RestoreWriter.lines(
          IptablesChain(
            name: IptablesLowering.name(chain.name), owner: chain.owner, rules: chain.rules.map(lowering.rule)))
      }
      // Without sets a policy's chain holds a rule per peer address: the
      // text of them all would take another few hundred MB on W3, so it is
      // spelled again for each node that has it.
      let shared = options.useIPSets && memo.isShared(chain.name, options: options)
      pieces.append(shared ? Self.cached(chains, key(chain.name), spell) : spell())
    }
    pieces.append(
      RestoreWriter.footer(hooks: [IptablesHook(builtin: "FORWARD", chain: IptablesLowering.name(model.entry))]))
    let rules = Self.concatenate(pieces)
    guard ipsets else { return (rules, nil) }
    pieces = [IPSetWriter.header]
    for set in model.sets {
      func spell() -> String { IPSetWriter.block(IptablesLowering.set(set)) }
      pieces.append(memo.isShared(set.name, options: options) ? Self.cached(sets, key(set.name), spell) : spell())
    }
    return (rules, Self.concatenate(pieces))
  }

  static func concatenate(_ pieces: [String]) -> String {
    var out = ""
    out.reserveCapacity(pieces.reduce(0) { $0 + $1.utf8.count })
    for piece in pieces { out += piece }
    return out
  }

  static func cached(_ table: borrowing Mutex<[Key: String]>, _ key: Key, _ spell: () -> String) -> String {
    if let text = table.withLock({ $0[key] }) { return text }
    let text = spell()
    table.withLock { $0[key] = text }
    return text
  }
}
