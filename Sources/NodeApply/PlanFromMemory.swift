import IptablesEmitter
import PolicyModel

extension NodeApplier {
  /// Plans against `state`, the state the caller's own last apply of this
  /// family left (with the member updates made since), without reading the
  /// kernel: an agent that applies every few seconds saves the
  /// iptables-save and ipset save of a large node each time. Nothing
  /// checks the kernel still matches; a caller that cannot vouch for that
  /// (a failed step, a restart, drift found at a resync) uses
  /// `prepare(_:state:)`. A failure in `commit` leaves the last rules in
  /// force and throws an error with `fromMemory` set: the caller then
  /// reads the kernel and loads everything.
  /// `rendered` keeps the chains' lines from one plan to the next.
  public func prepare(_ ruleSet: IptablesRuleSet, trusting state: ApplyState, rendered: RenderedChains? = nil)
    -> IptablesPrepared
  {
    let clock = ContinuousClock()
    let started = clock.now
    let plan = ApplyPlan.make(trusting: state, ruleSet: ruleSet, rendered: rendered)
    return IptablesPrepared(
      plan: plan, family: ruleSet.family, drop: nil, snapshot: nil, planTime: clock.now - started)
  }
}
