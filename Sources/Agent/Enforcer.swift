import Foundation
import IptablesEmitter
import NftEmitter
import NodeApply
import PolicyModel
import RuleModel

/// Which kernel interface the agent loads.
public enum AgentBackend: String, Sendable {
  case iptables, nft
}

/// What one apply did, for the sync log line and the metrics.
public struct ApplyOutcome: Sendable {
  public var changed: Bool
  public var summary: String
  public var rules = 0
  public var sets = 0
  public var setMembers = 0
  public var compileTime: Duration = .zero
  public var applyTime: Duration = .zero
}

/// Compiles the cluster and loads it through NodeApply, remembering what
/// it loaded under the state folder: NodeApply's state files (iptables),
/// the loaded table text (nft), and a snapshot of the objects, so that a
/// restarted agent can put the last applied rules back before it syncs.
public struct Enforcer: Sendable {
  public var backend: AgentBackend
  public var families: [IPAddress.Family]
  public var options: EmitOptions
  public var stateDirectory: String
  public var applier: NodeApplier

  public init(
    backend: AgentBackend, families: [IPAddress.Family], options: EmitOptions, stateDirectory: String,
    applier: NodeApplier
  ) {
    self.backend = backend
    self.families = families
    self.options = options
    self.stateDirectory = stateDirectory
    self.applier = applier
  }

  /// The objects behind the last successful apply.
  public var record: AppliedRecord { AppliedRecord(directory: stateDirectory) }
  var nftListingPath: String { stateDirectory + "/nft.list" }
  func statePath(_ family: IPAddress.Family) -> String {
    stateDirectory + (family == .ipv6 ? "/apply6.state" : "/apply.state")
  }

  func options(for family: IPAddress.Family) -> EmitOptions {
    var options = options
    options.family = family
    options.useIPSets = true
    return options
  }

  /// Compiles and applies `cluster`. With `fromScratch`, NodeApply's state
  /// is ignored and everything is reloaded (the repair after drift).
  public func apply(_ cluster: Cluster, fromScratch: Bool = false) async throws -> ApplyOutcome {
    let clock = ContinuousClock()
    let started = clock.now
    switch backend {
    case .iptables:
      var prepared: [(NodeApplier.IptablesPrepared, statePath: String?)] = []
      var outcome = ApplyOutcome(changed: false, summary: "")
      for family in families {
        let ruleSet = try IptablesCompiler.compile(cluster, options: options(for: family))
        outcome.rules += ruleSet.ruleCount
        outcome.sets += ruleSet.sets.count
        outcome.setMembers += ruleSet.sets.reduce(0) { $0 + $1.members.count }
        let path = statePath(family)
        prepared.append((try await applier.prepare(ruleSet, state: fromScratch ? nil : StateFile.read(path)), path))
      }
      outcome.compileTime = clock.now - started
      let loading = clock.now
      if prepared.allSatisfy({ $0.0.plan.isNoop }) {
        outcome.summary = "no change"
      } else {
        // The agent's cluster is the API's, not a possibly truncated input:
        // a large drop (a drained node) is real, so it is not refused.
        let reports = try await applier.commit(prepared, force: true)
        outcome.changed = true
        outcome.summary = reports.map(\.summary).joined(separator: "; ")
      }
      outcome.applyTime = clock.now - loading
      return outcome
    case .nft:
      let ruleSet = try NftCompiler.compile(cluster, options: options(for: .ipv4))
      var outcome = ApplyOutcome(changed: false, summary: "")
      outcome.rules = ruleSet.ruleCount
      outcome.sets = ruleSet.sets.count
      outcome.setMembers = ruleSet.elementCount
      let prepared = try await applier.prepare(nft: ruleSet)
      outcome.compileTime = clock.now - started
      let loading = clock.now
      let lastText = try? String(contentsOfFile: stateDirectory + "/nft.rules", encoding: .utf8)
      // Drift of the table in force is the resync's business (see `drift`).
      if !fromScratch, lastText == prepared.text {
        outcome.summary = "no change"
      } else {
        let report = try await applier.commit(prepared, force: true)
        outcome.changed = true
        outcome.summary = report.summary
        try? Self.write(prepared.text, to: stateDirectory + "/nft.rules")
        if let listed = try await applier.listedNftTable() { try? Self.write(listed, to: nftListingPath) }
      }
      outcome.applyTime = clock.now - loading
      return outcome
    }
  }

  /// How the kernel differs from the last apply of `cluster`; empty when
  /// it holds exactly that.
  public func drift(_ cluster: Cluster) async throws -> [String] {
    switch backend {
    case .iptables:
      var found: [String] = []
      for family in families {
        guard let state = StateFile.read(statePath(family)) else {
          found.append("\(family == .ipv6 ? "ipv6" : "ipv4"): no record of the last apply")
          continue
        }
        let ruleSet = try IptablesCompiler.compile(cluster, options: options(for: family))
        found += try await applier.drift(ruleSet, state: state).map { (family == .ipv6 ? "ipv6: " : "ipv4: ") + $0 }
      }
      return found
    case .nft:
      let recorded = try? String(contentsOfFile: nftListingPath, encoding: .utf8)
      guard let recorded else { return ["nft: no record of the last apply"] }
      guard let listed = try await applier.listedNftTable() else { return ["nft: table inet policyc is missing"] }
      return listed == recorded ? [] : ["nft: table inet policyc differs from the last apply"]
    }
  }

  /// Writes beside `path` and renames into place: a reader sees the old
  /// file or the new one.
  static func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: stateDirectory(of: path), withIntermediateDirectories: true)
    let temp = path + ".tmp"
    try Data(text.utf8).write(to: URL(fileURLWithPath: temp))
    guard rename(temp, path) == 0 else {
      throw ApplyError("\(path): cannot write: \(String(cString: strerror(errno)))")
    }
  }

  static func stateDirectory(of path: String) -> String {
    URL(fileURLWithPath: path).deletingLastPathComponent().path
  }
}
