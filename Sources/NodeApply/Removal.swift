import IptablesEmitter
import NftEmitter
import PolicyModel
import RuleModel

/// What is loaded of each backend, for `remove` and the both-backends check.
struct LoadedBackends {
  /// POLICYC chains in iptables and ip6tables.
  var chains: (ipv4: Int, ipv6: Int) = (0, 0)
  var sets: [String] = []
  var nftTable = false

  var iptables: Bool { chains.ipv4 + chains.ipv6 + sets.count > 0 }

  var iptablesDescription: String {
    var parts: [String] = []
    if chains.ipv4 > 0 { parts.append(Wording.count(chains.ipv4, "POLICYC chain") + " in iptables") }
    if chains.ipv6 > 0 { parts.append(Wording.count(chains.ipv6, "POLICYC chain") + " in ip6tables") }
    if !sets.isEmpty { parts.append(Wording.count(sets.count, "POLICYC ipset")) }
    return parts.joined(separator: ", ")
  }
}

extension NodeApplier {
  /// Output of `arguments`, or nil when the program is not installed (then
  /// it cannot have loaded anything).
  func readIfInstalled(_ arguments: [String], _ what: String) async throws(ApplyError) -> String? {
    do {
      return try await runner.run(arguments, input: nil)
    } catch  where error.kind == .notFound {
      return nil
    } catch {
      throw ApplyError("cannot \(what): \(error); nothing changed")
    }
  }

  func nftTableLoaded() async throws(ApplyError) -> Bool {
    guard let tables = try await readIfInstalled([tools.nft, "list", "tables"], "list the nft tables") else {
      return false
    }
    return tables.split(separator: "\n").contains {
      $0.trimmingCharacters(in: .whitespaces) == "table inet \(NftRuleSet.table)"
    }
  }

  func loadedIptables() async throws(ApplyError) -> (LoadedBackends, saved: [Bool: String]) {
    var loaded = LoadedBackends()
    var saved: [Bool: String] = [:]
    for ipv6 in [false, true] {
      guard
        let text = try await readIfInstalled(
          [tools.iptables(ipv6: ipv6).save, "-t", "filter"], "read the current rules")
      else { continue }
      saved[ipv6] = text
      let n = FilterTable.policycChains(text).count
      if ipv6 { loaded.chains.ipv6 = n } else { loaded.chains.ipv4 = n }
    }
    if let listing = try await readIfInstalled([tools.ipset, "list", "-n"], "list the ipsets") {
      loaded.sets = listing.split(separator: "\n").map(String.init).filter { $0.hasPrefix(ChainNamer.prefix) }.sorted()
    }
    return (loaded, saved)
  }

  /// Refuses to load one backend while the other's rules are in the kernel:
  /// two enforcers would each drop what the other allows.
  func refuseOtherBackend(loading nft: Bool) async throws(ApplyError) {
    if nft {
      let (loaded, _) = try await loadedIptables()
      guard loaded.iptables else { return }
      throw ApplyError(
        "the iptables backend of policyc is loaded on this node (\(loaded.iptablesDescription)); the two backends must not run together: remove it first with `policyc remove`, then apply again; nothing changed"
      )
    }
    if try await nftTableLoaded() {
      throw ApplyError(
        "the nft backend of policyc is loaded on this node (table inet \(NftRuleSet.table)); the two backends must not run together: remove it first with `policyc remove`, then apply again; nothing changed"
      )
    }
  }

  /// Deletes everything policyc loads on a node: its nft table, its chains
  /// and hooks in iptables and ip6tables, its ipsets, and the state files.
  /// Other software's rules are not touched; running it again finds nothing.
  public func remove(statePaths: [String]) async throws(ApplyError) -> RemoveReport {
    var report = RemoveReport()
    if try await nftTableLoaded() {
      try await step([tools.nft, "delete", "table", "inet", NftRuleSet.table], nil, "delete table inet policyc")
      report.nftTable = true
    }
    let (_, saved) = try await loadedIptables()
    for ipv6 in [false, true] {
      guard let text = saved[ipv6], let script = Self.removalScript(text) else { continue }
      try await step([tools.iptables(ipv6: ipv6).restore, "--noflush"], script, "remove policyc's rules")
      let n = FilterTable.policycChains(text).count
      if ipv6 { report.chains.ipv6 = n } else { report.chains.ipv4 = n }
    }
    // After the rules: a set a rule still uses cannot be destroyed.
    let (loaded, _) = try await loadedIptables()
    if !loaded.sets.isEmpty {
      try await step(
        [tools.ipset, "restore"], loaded.sets.map { "destroy \($0)\n" }.joined(), "destroy policyc's ipsets")
      report.sets = loaded.sets.count
    }
    for path in statePaths where StateFile.remove(path) { report.stateFiles.append(path) }
    return report
  }

  /// One iptables-restore transaction that deletes every hook into policyc's
  /// chains and the chains themselves; nil when there are none.
  static func removalScript(_ saved: String) -> String? {
    let chains = FilterTable.policycChains(saved).map(\.name)
    let hooks = FilterTable.hooks(saved)
    guard !chains.isEmpty || !hooks.isEmpty else { return nil }
    var text = "*filter\n"
    for chain in chains { text += ":\(chain) - [0:0]\n" }
    for hook in hooks { text += "-D \(hook.chain) \(hook.spec)\n" }
    for chain in chains { text += "-X \(chain)\n" }
    return text + "COMMIT\n"
  }

  func step(_ arguments: [String], _ input: String?, _ what: String) async throws(ApplyError) {
    do {
      _ = try await runner.run(arguments, input: input)
    } catch {
      throw ApplyError("cannot \(what): \(error)")
    }
  }
}

/// What `remove` deleted.
public struct RemoveReport: Sendable {
  public var nftTable = false
  public var chains: (ipv4: Int, ipv6: Int) = (0, 0)
  public var sets = 0
  public var stateFiles: [String] = []

  public var summary: String {
    var parts: [String] = []
    if nftTable { parts.append("table inet \(NftRuleSet.table)") }
    if chains.ipv4 > 0 { parts.append(Wording.count(chains.ipv4, "chain") + " in iptables") }
    if chains.ipv6 > 0 { parts.append(Wording.count(chains.ipv6, "chain") + " in ip6tables") }
    if sets > 0 { parts.append(Wording.count(sets, "ipset")) }
    if !stateFiles.isEmpty { parts.append(Wording.count(stateFiles.count, "state file")) }
    return parts.isEmpty
      ? "policyc: nothing to remove: policyc has no rules, sets or state on this node"
      : "policyc: removed " + parts.joined(separator: ", ")
  }
}
