import ArgumentParser
import Foundation
import IptablesEmitter
import NftEmitter
import PolicyModel

struct ApplyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apply",
    abstract: "Load the node's rules into the running kernel (root).",
    discussion: """
      Reads the filter table (iptables-save) and policyc's sets (ipset list -n),
      then changes only what differs from the last apply (kept in --state):
      sets are filled under temporary names and swapped in, or updated by small
      member deltas; chains are redefined in one `iptables-restore --noflush`
      transaction that also deletes stale POLICYC-* chains and keeps exactly one
      jump from FORWARD. Rules, chains and sets of other software are never
      touched. If the rules fail to load, the set changes are rolled back and
      the previous rules stay in force.

      Examples:
        kubectl get -A -o yaml \\
          ns,pods,networkpolicies,adminnetworkpolicies,baselineadminnetworkpolicies |
          policyc apply --node "$NODE_NAME" --ipsets -
        policyc apply --node node-a --dry-run manifests/
        # dual-stack: IPv4, then IPv6
        policyc apply --node node-a --family both --ipsets manifests/
        # nftables: both families in one transaction
        policyc apply --node node-a --backend nft manifests/

      With --backend nft, apply loads the compiled file with `nft -f`, which
      replaces `table inet policyc` as a whole in one transaction (no state
      file, no iptables or ipset calls); if nft refuses the file the old table
      stays in force.
      """
  )

  @OptionGroup var input: InputOptions
  @OptionGroup var emit: EmitFlags

  @Flag(help: "Keep peer addresses in ipsets (recommended for large clusters).")
  var ipsets = false

  @Flag(help: "Print the steps that would be run and change nothing.")
  var dryRun = false

  @Option(
    help: """
      Where apply remembers what it loaded, to load only changes next time \
      (default: /var/lib/policyc/apply.state, or apply6.state with --family ipv6).
      """)
  var state: String?

  @Flag(help: "Ignore the state file and reload everything.")
  var full = false

  @Option(help: "The iptables-save program (default: iptables-save, or ip6tables-save with --family ipv6).")
  var iptablesSave: String?

  @Option(help: "The iptables-restore program (default: iptables-restore, or ip6tables-restore with --family ipv6).")
  var iptablesRestore: String?

  @Option(help: "The ipset program.")
  var ipset = "ipset"

  @Option(help: "The nft program (--backend nft).")
  var nft = "nft"

  var isIPv6: Bool { emit.parsedFamily == .ipv6 }
  var saveProgram: String { iptablesSave ?? (isIPv6 ? "ip6tables-save" : "iptables-save") }
  var restoreProgram: String { iptablesRestore ?? (isIPv6 ? "ip6tables-restore" : "iptables-restore") }
  var statePath: String { state ?? (isIPv6 ? "/var/lib/policyc/apply6.state" : "/var/lib/policyc/apply.state") }

  func validate() throws {
    if emit.isNft, ipsets {
      throw ValidationError("--ipsets is for --backend iptables: the nft table holds its own sets")
    }
    if emit.family == "both", iptablesSave != nil || iptablesRestore != nil {
      throw ValidationError(
        "--iptables-save and --iptables-restore name one family's tools: use them with --family ipv4 or ipv6")
    }
  }

  /// Both families in one call: IPv4 first, then IPv6, each all or nothing
  /// on its own, each with its own state file (with --state, the IPv6 one is
  /// FILE.ipv6).
  func run() throws {
    let inventory = try input.loadOrExit(pruned: true)
    try emit.refuseUnenforceable(inventory, inputs: input.paths, consequence: "nothing changed")
    if emit.isNft { return try applyNft(Cluster(inventory)) }
    guard emit.family == "both" else { return try applyOne(inventory) }
    for family in ["ipv4", "ipv6"] {
      var one = self
      one.emit.family = family
      if family == "ipv6", let state { one.state = state + ".ipv6" }
      try one.applyOne(inventory)
    }
  }

  func applyOne(_ inventory: Inventory) throws {
    var flags = emit
    flags.useIPSets = ipsets
    let ruleSet = try flags.ruleSet(Cluster(inventory))
    let saved = try Subprocess.run([saveProgram, "-t", "filter"], input: nil, what: "read the current rules")
    let setNames = try currentSets(needed: !ruleSet.sets.isEmpty)
    let previous =
      full ? nil : (try? String(contentsOfFile: statePath, encoding: .utf8)).flatMap(ApplyState.init(text:))
    let plan = ApplyPlan.make(current: saved, setNames: setNames, state: previous, ruleSet: ruleSet)
    if dryRun {
      Output.stdout(Self.describe(plan))
      return
    }
    let ms = try Self.milliseconds { try execute(plan) }
    saveState(plan.newState)
    if input.verbose {
      Output.stderr(
        "policyc: \(isIPv6 ? "ipv6 " : "")\(plan.full ? "full" : "incremental") apply: \(plan.loadedChains.count) chain(s) loaded, \(plan.staleChains.count) removed; sets: \(plan.createdSets.count) created, \(plan.swappedSets.count) swapped, \(plan.updatedSets.count) updated, \(plan.staleSets.count) removed; kernel load \(ms) ms\n"
      )
    }
  }

  /// How long `body` took, in whole milliseconds (the kernel load --verbose reports).
  static func milliseconds(_ body: () throws -> Void) rethrows -> Int {
    let clock = ContinuousClock()
    let started = clock.now
    try body()
    let took = clock.now - started
    return Int((Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15).rounded())
  }

  /// One `nft -f` transaction: the whole table or nothing.
  func applyNft(_ cluster: Cluster) throws {
    let ruleSet = try emit.nftRuleSet(cluster)
    let text = NftWriter.render(ruleSet)
    if dryRun {
      Output.stdout("# policyc apply --dry-run: nft -f -\n" + text)
      return
    }
    let ms = try Self.milliseconds { _ = try Subprocess.run([nft, "-f", "-"], input: text, what: "load the rules") }
    if input.verbose {
      Output.stderr(
        "policyc: nft apply: table inet \(NftRuleSet.table) replaced: \(ruleSet.chains.count + 1) chain(s), \(ruleSet.ruleCount) rule(s), \(ruleSet.sets.count) set(s), \(ruleSet.elementCount) element(s); kernel load \(ms) ms\n"
      )
    }
  }

  /// Names of the sets in the kernel; without the ipset tool, none (an error
  /// only when sets are needed).
  func currentSets(needed: Bool) throws -> [String] {
    if !needed,
      (try? Subprocess.run(["sh", "-c", "command -v \(ipset)"], input: nil, what: "find ipset", quiet: true)) == nil
    {
      return []
    }
    return try Subprocess.run([ipset, "list", "-n"], input: nil, what: "list ipsets").split(separator: "\n").map(
      String.init)
  }

  func execute(_ plan: ApplyPlan) throws {
    func ipsetRestore(_ script: String, _ what: String) throws {
      guard !script.isEmpty else { return }
      _ = try Subprocess.run([ipset, "restore"], input: script, what: what)
    }
    func abort() {
      // One call per set: a set that was never made must not stop the rest.
      for line in plan.abortSets.split(separator: "\n") {
        _ = try? Subprocess.run(
          [ipset] + line.split(separator: " ").map(String.init), input: nil, what: "clean up", quiet: true)
      }
    }
    do {
      try ipsetRestore(plan.stageSets, "prepare the sets")
    } catch {
      abort()
      throw error
    }
    try ipsetRestore(plan.commitSets, "update the sets")
    do {
      _ = try Subprocess.run([restoreProgram, "--noflush"], input: plan.restoreText, what: "load the rules")
    } catch {
      // The rules did not change; put the sets back as they were.
      _ = try? ipsetRestore(plan.rollbackSets, "roll back the sets")
      abort()
      throw error
    }
    do {
      try ipsetRestore(plan.cleanupSets, "remove stale sets")
    } catch {
      Output.stderr("policyc: warning: the rules are loaded, but stale sets remain\n")
    }
  }

  func saveState(_ state: ApplyState) {
    let directory = (statePath as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(
      atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
    do {
      try Output.atomicWrite(state.text, to: statePath)
    } catch {
      Output.stderr("policyc: warning: cannot save state (the next apply reloads everything): \(error)\n")
    }
  }

  static func describe(_ plan: ApplyPlan) -> String {
    var out = "# policyc apply --dry-run: \(plan.full ? "full" : "incremental") load\n"
    for (title, text) in [
      ("ipset restore (prepare)", plan.stageSets), ("ipset restore (commit)", plan.commitSets),
      ("iptables-restore --noflush", plan.restoreText), ("ipset restore (cleanup)", plan.cleanupSets),
    ] where !text.isEmpty {
      out += "# \(title)\n\(text)"
    }
    return out
  }
}
