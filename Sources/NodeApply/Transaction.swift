import IptablesEmitter
import PolicyModel
import RuleModel

/// A node apply or removal that did not happen. The message says what
/// failed and in what state the kernel was left (as before, unless it says
/// otherwise); the command line prints it and exits 2.
public struct ApplyError: Error, Sendable, CustomStringConvertible {
  public var message: String
  /// A step of a plan made without reading the kernel failed: read it and
  /// load everything (`NodeApplier.prepare(_:state:)` with no state).
  public var fromMemory: Bool
  public init(_ message: String, fromMemory: Bool = false) {
    self.message = message
    self.fromMemory = fromMemory
  }
  public var description: String { message }
}

/// One family's iptables apply, all or nothing: sets, rules and (in the
/// caller) the state file.
///
/// The steps, each undone by a rollback to the snapshot taken before:
/// 1. prepare the sets (`ApplyPlan.stageSets`): new sets, temporaries;
/// 2. update the sets (`commitSets`): swaps and member deltas;
/// 3. load the rules (`restoreText`): one iptables-restore transaction;
/// 4. remove stale sets (`cleanupSets`): temporaries and sets no rule uses.
/// The rollback reads the kernel again and makes it match the snapshot:
/// sets that are gone are recreated with their members, changed sets get
/// their old members back (deltas, or a copy with the old header swapped
/// in), the rules of policyc's chains and the hooks are restored in one
/// iptables-restore transaction, and only then are the sets the apply
/// made destroyed. It works from any point, since it does not trust what
/// the failed step did.
struct IptablesTransaction {
  var runner: any CommandRunner
  var tools: NodeTools
  var family: IPAddress.Family

  var programs: (save: String, restore: String) { tools.iptables(ipv6: family == .ipv6) }

  /// Sets of this family's apply: policyc's, without the other family's.
  var setFilter: (String) -> Bool {
    let other = IPSetDefinition.namePrefix(family == .ipv4 ? .ipv6 : .ipv4)
    return { $0.hasPrefix(ChainNamer.prefix) && !$0.hasPrefix(other) }
  }

  func snapshot(needSets: Bool) async throws(ApplyError) -> IptablesSnapshot {
    let saved = try await call([programs.save, "-t", "filter"], nil, "read the current rules")
    do {
      let listing = try await runner.run([tools.ipset, "save"], input: nil)
      return IptablesSnapshot(saved: saved, sets: sets(listing), hasIPSet: true)
    } catch  where error.kind == .notFound && !needSets {
      return IptablesSnapshot(saved: saved, sets: [:], hasIPSet: false)
    } catch {
      throw ApplyError("cannot list the ipsets: \(error); nothing changed")
    }
  }

  func sets(_ listing: String) -> [String: SavedSet] {
    IPSetSave.parse(listing, prefix: ChainNamer.prefix).filter { setFilter($0.key) }
  }

  /// Runs the plan's steps; on a failure, rolls back to `snapshot`. Without
  /// one (a plan from the last apply's state), nothing is undone: the
  /// rules restore is one transaction, so a failure before or in it leaves
  /// the last rules in force, at most with sets that hold the pods as they
  /// are now (what a member update does) and unused new sets; the caller
  /// then reads the kernel and loads everything.
  func execute(_ plan: ApplyPlan, from snapshot: IptablesSnapshot?) async throws(ApplyError) {
    let steps: [(String, [String], String)] = [
      ("prepare the sets", [tools.ipset, "restore"], plan.stageSets),
      ("update the sets", [tools.ipset, "restore"], plan.commitSets),
      ("load the rules", [programs.restore, "--noflush"], plan.restoreText),
      ("remove stale sets", [tools.ipset, "restore"], plan.cleanupSets),
    ]
    for (what, arguments, input) in steps where !input.isEmpty {
      do {
        _ = try await runner.run(arguments, input: input)
      } catch {
        guard let snapshot else {
          throw ApplyError(
            "cannot \(what): \(error); planned without reading the kernel, so nothing was rolled back", fromMemory: true
          )
        }
        let undo = await rollback(to: snapshot)
        throw ApplyError("cannot \(what): \(error); \(undo)")
      }
    }
  }

  /// Puts the kernel back as `snapshot` found it; says how that went.
  func rollback(to snapshot: IptablesSnapshot) async -> String {
    do {
      let saved = try await runner.run([programs.save, "-t", "filter"], input: nil)
      let current = snapshot.hasIPSet ? sets(try await runner.run([tools.ipset, "save"], input: nil)) : [:]
      let (repair, destroy) = Self.setRepair(from: current, to: snapshot.sets)
      if !repair.isEmpty { _ = try await runner.run([tools.ipset, "restore"], input: repair) }
      if let rules = Self.ruleRepair(from: saved, to: snapshot.saved) {
        _ = try await runner.run([programs.restore, "--noflush"], input: rules)
      }
      if !destroy.isEmpty { _ = try await runner.run([tools.ipset, "restore"], input: destroy) }
      return "rolled back: the rules and sets are as they were"
    } catch {
      return "and the rollback failed too (\(error)): the kernel may hold part of the update; apply again"
    }
  }

  /// An `ipset restore` script that gives every set of `old` its create
  /// line and members back, and one that destroys the sets `old` lacks.
  static func setRepair(from current: [String: SavedSet], to old: [String: SavedSet]) -> (String, String) {
    var repair = ""
    for (name, set) in old.sorted(by: { $0.key < $1.key }) {
      guard let now = current[name] else {
        repair += set.createLine + "\n" + set.members.map { "add \(name) \($0)\n" }.joined()
        continue
      }
      if now == set { continue }
      if now.createLine == set.createLine {
        let keys = Set(set.members.map(ApplyPlan.key))
        let had = Set(now.members)
        let wanted = Set(set.members)
        let extra = now.members.filter { !wanted.contains($0) }
        // A member whose flags changed is deleted first, then added again.
        for member in extra where keys.contains(ApplyPlan.key(member)) {
          repair += "del \(name) \(ApplyPlan.key(member))\n"
        }
        for member in set.members where !had.contains(member) { repair += "add \(name) \(member)\n" }
        for member in extra where !keys.contains(ApplyPlan.key(member)) {
          repair += "del \(name) \(ApplyPlan.key(member))\n"
        }
        continue
      }
      // Another header (a swapped-in set): a copy of the old one is swapped back.
      let copy = name + "-R"
      repair += IPSetSave.createLine(set, as: copy) + "\n" + set.members.map { "add \(copy) \($0)\n" }.joined()
      repair += "swap \(copy) \(name)\ndestroy \(copy)\n"
    }
    let destroy = current.keys.filter { old[$0] == nil }.sorted().map { "destroy \($0)\n" }.joined()
    return (repair, destroy)
  }

  /// An iptables-restore transaction that gives policyc's chains and hooks
  /// the rules they have in `old`; nil when they already do.
  static func ruleRepair(from current: String, to old: String) -> String? {
    let before = FilterTable.policycChains(old)
    let now = FilterTable.policycChains(current)
    let hooksBefore = FilterTable.hooks(old)
    let hooksNow = FilterTable.hooks(current)
    let sameChains = before.map(\.name) == now.map(\.name) && before.map(\.rules) == now.map(\.rules)
    let sameHooks =
      hooksBefore.map { "\($0.chain) \($0.position) \($0.spec)" }
      == hooksNow.map { "\($0.chain) \($0.position) \($0.spec)" }
    if sameChains && sameHooks { return nil }
    var text = "*filter\n"
    var declared = Set<String>()
    for name in before.map(\.name) + now.map(\.name) where declared.insert(name).inserted {
      text += ":\(name) - [0:0]\n"
    }
    if !sameHooks {
      for hook in hooksNow { text += "-D \(hook.chain) \(hook.spec)\n" }
      for hook in hooksBefore { text += "-I \(hook.chain) \(hook.position) \(hook.spec)\n" }
    }
    for chain in before { text += chain.rules.map { $0 + "\n" }.joined() }
    let kept = Set(before.map(\.name))
    for chain in now where !kept.contains(chain.name) { text += "-X \(chain.name)\n" }
    return text + "COMMIT\n"
  }

  func call(_ arguments: [String], _ input: String?, _ what: String) async throws(ApplyError) -> String {
    do {
      return try await runner.run(arguments, input: input)
    } catch {
      throw ApplyError("cannot \(what): \(error); nothing changed")
    }
  }
}
