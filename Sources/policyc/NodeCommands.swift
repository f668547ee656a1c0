import ArgumentParser
import NodeApply

/// What `apply` and `remove` share: the removal itself (`policyc remove` and
/// `policyc apply --remove` are one code path), and how node apply's
/// results and refusals reach the user.
enum NodeCommands {
  /// Deletes everything policyc loaded on the node, and every state file
  /// apply may have written for `state`.
  static func remove(tools: NodeTools, state: String?, quiet: Bool) async throws {
    let report = try await exitOnApplyError {
      try await NodeApplier(tools: tools).remove(statePaths: StateFile.allPaths(state))
    }
    if !quiet { Output.stdout(report.summary + "\n") }
  }

  /// apply's `--iptables-save` and `--iptables-restore` name the programs of
  /// the one family applied (apply refuses them with `--family both`).
  static func tools(oneFamily iptables: (save: String?, restore: String?), ipset: String, nft: String) -> NodeTools {
    var tools = NodeTools()
    if let save = iptables.save { (tools.iptablesSave, tools.ip6tablesSave) = (save, save) }
    if let restore = iptables.restore { (tools.iptablesRestore, tools.ip6tablesRestore) = (restore, restore) }
    (tools.ipset, tools.nft) = (ipset, nft)
    return tools
  }

  /// Runs `body`; an `ApplyError` (nothing changed, or what was left) is
  /// printed and ends the command with exit 2.
  static func exitOnApplyError<T>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as ApplyError {
      Output.stderr("policyc: error: \(error.message)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  /// The one-line summary (unless `quiet`), any warning, and with
  /// `verbose` the counts and timings of each report.
  static func print(_ reports: [ApplyReport], verbose: Bool, quiet: Bool) {
    for report in reports {
      if let warning = report.warning { Output.stderr("policyc: warning: \(warning)\n") }
      if verbose { Output.stderr("policyc: \(report.details)\n") }
    }
    if !reports.isEmpty, !quiet { Output.stdout("policyc: " + reports.map(\.summary).joined(separator: "; ") + "\n") }
  }
}
