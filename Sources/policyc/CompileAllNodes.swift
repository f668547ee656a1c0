import ArgumentParser
import Dispatch
import Foundation
import IptablesEmitter
import NftEmitter
import PolicyModel
import RuleModel
import Synchronization

/// `compile --all-nodes`: the input is read and resolved once, then every
/// node named by a pod's spec.nodeName gets the files `compile --node NODE`
/// would write, byte for byte, under fixed names (see `fileNames`).
extension CompileCommand {
  /// The ends of the file names one node gets (`NODE.rules.v4` in -o DIR,
  /// `NODE.ipset.v4` in --ipset-out DIR, or `NODE.nft`). The family is in
  /// the iptables names, so one directory can hold both families' files.
  static func fileSuffixes(_ flags: EmitFlags) -> (rules: String, ipset: String) {
    if flags.isNft { return (".nft", ".ipset") }
    let family = flags.family == .ipv6 ? "v6" : "v4"
    return (".rules.\(family)", ".ipset.\(family)")
  }

  /// What `compile --node NODE` writes: the rules (or nft) text, and the
  /// `ipset restore` script with --ipset-out. One place calls the emitters,
  /// so a renamed compile API changes this function only.
  ///
  /// The nodes share `writer`: what does not depend on the node is
  /// compiled (and, for iptables, spelled) once for the fleet.
  static func render(
    _ cluster: Cluster, flags: EmitFlags, ipsets: Bool, writer: FleetWriter
  ) throws -> (rules: FleetText, ipset: FleetText?) {
    if flags.isNft { return (FleetText(NftWriter.render(try flags.nftRuleSet(cluster, memo: writer.memo))), nil) }
    var flags = flags
    flags.useIPSets = ipsets
    let options = flags.options
    do {
      return writer.render(try writer.compile(cluster, options: options), options: options, ipsets: ipsets)
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  /// The nodes pods run on, sorted; a pod with an empty nodeName is not
  /// scheduled. A name that cannot be a node cannot be a file name either.
  static func nodes(of inventory: Inventory) throws(CLIError) -> [String] {
    let names = Set(inventory.pods.compactMap(\.nodeName)).subtracting([""]).sorted()
    for name in names {
      if let problem = NameRules.dns1123Subdomain(name) {
        throw CLIError("spec.nodeName \"\(name)\" cannot be a node name (\(problem)); nothing written")
      }
    }
    return names
  }

  func runAllNodes(_ inventory: Inventory, started: ContinuousClock.Instant) throws {
    let clock = ContinuousClock()
    guard let directory = output else { throw CLIError("--all-nodes needs -o DIR") }
    let nodes: [String]
    do {
      nodes = try Self.nodes(of: inventory)
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    if nodes.isEmpty && !emit.allowEmpty {
      Output.stderr("policyc: error: --all-nodes: no pod names a node (spec.nodeName); nothing written\n")
      Output.stderr("policyc: note: \(InputRefusal.override)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    let loaded = clock.now
    let cluster = Cluster(inventory)
    let files = StagedFiles()
    let progress = Progress()
    let (flags, ipsetDirectory) = (emit, ipsetOut)
    let writer = FleetWriter(memo: FleetMemo())
    // The fleet's memo and shared text are freed by the process's exit.
    defer { ExitTeardown.skip(cluster, writer) }
    let suffix = Self.fileSuffixes(flags)
    let work: @Sendable (Int) -> Void = { i in
      guard progress.failure.withLock({ $0 == nil }) else { return }
      do {
        var flags = flags
        flags.node = nodes[i]
        let (rules, ipset) = try Self.render(
          cluster, flags: flags, ipsets: ipsetDirectory != nil, writer: writer)
        if let ipset, let ipsetDirectory {
          try files.stage(ipset, to: "\(ipsetDirectory)/\(nodes[i])\(suffix.ipset)")
          progress.bytes.withLock { $0 += ipset.count }
        }
        try files.stage(rules, to: "\(directory)/\(nodes[i])\(suffix.rules)")
        progress.bytes.withLock { $0 += rules.count }
      } catch {
        // Report the failure of the first node, whichever thread saw it.
        progress.failure.withLock { if $0 == nil || $0!.node > i { $0 = (i, error) } }
      }
    }
    if input.load.loadOptions.jobs > 1 {
      DispatchQueue.concurrentPerform(iterations: nodes.count, execute: work)
    } else {
      for i in nodes.indices { work(i) }
    }
    let written = clock.now
    do {
      if let (_, error) = progress.failure.withLock({ $0 }) { throw error }
      // The set files first: the rules refer to their sets.
      try files.commit { $0.hasSuffix(suffix.ipset) }
    } catch {
      files.discard()
      if !(error is ExitCode) { Output.stderr("policyc: error: \(error)\n") }
      throw ExitCode(ExitStatus.trouble)
    }
    if input.verbose {
      let count = nodes.count * (ipsetOut == nil ? 1 : 2)
      Output.stderr(
        "policyc: all nodes: \(Wording.count(nodes.count, "node")), \(Wording.count(count, "file")), \(Wording.count(progress.bytes.withLock { $0 }, "byte"))\n"
      )
      Output.stderr(
        "policyc: read \(loaded - started), compiled and wrote \(written - loaded), synced \(clock.now - written)\n")
    }
  }
}

/// What the threads of `--all-nodes` share: bytes staged, and the first failure.
private final class Progress: Sendable {
  let bytes = Mutex(0)
  let failure = Mutex<(node: Int, error: any Error)?>(nil)
}
