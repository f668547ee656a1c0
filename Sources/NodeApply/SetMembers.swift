import Foundation
import IptablesEmitter
import NftEmitter

/// Members to add to and remove from one ipset of policyc's.
public struct SetMemberChange: Sendable, Equatable {
  /// The set's kernel name (`POLICYC-4P-...`).
  public var set: String
  /// Members as `ipset` spells them (`10.0.0.5`).
  public var added: [String]
  public var removed: [String]

  public init(set: String, added: [String], removed: [String]) {
    self.set = set
    self.added = added
    self.removed = removed
  }
}

extension NodeApplier {
  /// Changes set members without touching a rule: what a pod that came,
  /// went or was relabelled elsewhere in the cluster needs. One `ipset
  /// restore` adds before it removes (a set is never briefly short of a
  /// member it keeps); a failure puts back what it changed.
  ///
  /// `state` is the last apply's state and comes out updated. Its file is
  /// removed before the kernel changes and, with `writeState`, written
  /// after, so a crash in between costs a full load at the next apply,
  /// never a state file that lies about what the sets hold (a plan trusts
  /// it for member deltas). Without `writeState` the caller writes it later
  /// (`StateFile.write`), before anything reads it. Throws, changing
  /// nothing, when a set is not in `state` or would outgrow its `maxelem`:
  /// the caller then applies a full compile.
  public func updateMembers(
    _ changes: [SetMemberChange], state: inout ApplyState, statePath: String?, writeState: Bool = true
  ) async throws(ApplyError) {
    var next = state
    var forward = ""
    var backward = ""
    for change in changes where !change.added.isEmpty || !change.removed.isEmpty {
      guard var record = next.sets[change.set] else {
        throw ApplyError("\(change.set): not in the state of the last apply; nothing changed")
      }
      let removed = Set(change.removed)
      record.members = record.members.filter { !removed.contains($0) }
      let present = Set(record.members)
      record.members += change.added.filter { !present.contains($0) }
      guard record.members.count <= record.maxelem else {
        throw ApplyError(
          "\(change.set): \(record.members.count) members exceed maxelem \(record.maxelem); nothing changed")
      }
      next.sets[change.set] = record
      forward += change.added.map { "add \(change.set) \($0)\n" }.joined()
      backward += change.removed.map { "add \(change.set) \($0)\n" }.joined()
    }
    for change in changes {
      forward += change.removed.map { "del \(change.set) \($0)\n" }.joined()
      backward += change.added.map { "del \(change.set) \($0)\n" }.joined()
    }
    guard !forward.isEmpty else { return }
    if let statePath { _ = StateFile.remove(statePath) }
    do {
      _ = try await runner.run([tools.ipset, "-exist", "restore"], input: forward)
    } catch {
      // -exist makes each line idempotent, so the undo holds whatever
      // prefix of the forward lines the kernel took.
      let undo: String
      do {
        _ = try await runner.run([tools.ipset, "-exist", "restore"], input: backward)
        undo = "the sets were put back"
      } catch let failure {
        undo = "putting the sets back failed too (\(failure)); the next apply reloads them"
      }
      throw ApplyError("cannot update set members: \(error); \(undo)")
    }
    state = next
    if writeState, let statePath { try StateFile.write(next, to: statePath) }
  }
}

extension NodeApplier {
  /// The same for the nft backend: one `nft -f` transaction of element
  /// additions and deletions in `table inet policyc`, all or nothing.
  /// `changes` name the nft sets; nothing else in the table changes.
  public func updateElements(_ changes: [SetMemberChange]) async throws(ApplyError) {
    let table = "inet \(NftRuleSet.table)"
    var text = ""
    for change in changes where !change.added.isEmpty {
      text += "add element \(table) \(change.set) { \(change.added.joined(separator: ", ")) }\n"
    }
    for change in changes where !change.removed.isEmpty {
      text += "delete element \(table) \(change.set) { \(change.removed.joined(separator: ", ")) }\n"
    }
    guard !text.isEmpty else { return }
    do {
      _ = try await runner.run([tools.nft, "-f", "-"], input: text)
    } catch {
      throw ApplyError("cannot update set elements: \(error); nft loads all or nothing: the table is unchanged")
    }
  }
}
