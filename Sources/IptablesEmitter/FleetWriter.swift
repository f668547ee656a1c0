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
  let chains = Mutex<[Key: FleetText.Run]>([:])
  let sets = Mutex<[Key: FleetText.Run]>([:])

  public init(memo: FleetMemo) {
    self.memo = memo
  }

  /// One node's rules, compiled with the memo.
  public func compile(_ cluster: Cluster, options: EmitOptions) throws(RuleCompiler.Failure) -> RuleSet {
    try RuleCompiler.compile(cluster, options: options, memo: memo)
  }

  /// `RestoreWriter.render(IptablesLowering.ruleSet(model))`, and with
  /// `ipsets`, `IPSetWriter.render` of its sets.
  public func render(_ model: RuleSet, options: EmitOptions, ipsets: Bool) -> (rules: FleetText, ipset: FleetText?) {
    let lowering = IptablesLowering.Lowering(family: model.family)
    func key(_ name: String) -> Key {
      Key(family: options.family, useIPSets: options.useIPSets, markBit: options.markBit, name: name)
    }
    // The files are megabytes, mostly text shared with other nodes: that
    // text is spelled once and written from where it is kept.
    var rules = FleetText(RestoreWriter.header(family: model.family, summary: model.summary))
    for chain in model.chains { rules.append(RestoreWriter.declaration(IptablesLowering.name(chain.name))) }
    for chain in model.chains {
      func spell() -> String {
        RestoreWriter.lines(
          IptablesChain(
            name: IptablesLowering.name(chain.name), owner: chain.owner, rules: chain.rules.map(lowering.rule)))
      }
      // Without sets a policy's chain holds a rule per peer address: the
      // text of them all would take another few hundred MB on W3, so it is
      // spelled again for each node that has it.
      if options.useIPSets {
        Self.add(chains, key(chain.name), spell, to: &rules, isShared: { memo.isShared(chain.name, options: options) })
      } else {
        rules.append(spell())
      }
    }
    rules.append(
      RestoreWriter.footer(hooks: [IptablesHook(builtin: "FORWARD", chain: IptablesLowering.name(model.entry))]))
    guard ipsets else { return (rules, nil) }
    var ipset = FleetText(IPSetWriter.header)
    for set in model.sets {
      func spell() -> String { IPSetWriter.block(IptablesLowering.set(set)) }
      Self.add(sets, key(set.name), spell, to: &ipset, isShared: { memo.isShared(set.name, options: options) })
    }
    return (rules, ipset)
  }

  /// Appends the text of a chain or set: from `table` when the memo shares
  /// it, else spelled for this file alone. Only shared text is kept there,
  /// and a shared name stays shared: a hit needs no second look at the memo.
  static func add(
    _ table: borrowing Mutex<[Key: FleetText.Run]>, _ key: Key, _ spell: () -> String, to text: inout FleetText,
    isShared: () -> Bool
  ) {
    if let run = table.withLock({ $0[key] }) { return text.append(run) }
    guard isShared() else { return text.append(spell()) }
    // Two threads may spell the same text; either copy serves.
    let run = FleetText.Run(spell())
    table.withLock { $0[key] = run }
    text.append(run)
  }
}
