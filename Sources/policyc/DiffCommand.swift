import ArgumentParser
import Foundation
import IptablesEmitter
import PolicyAnalysis
import PolicyModel
import RuleModel

struct DiffCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Show what a change to the manifests does to who can reach whom.",
    discussion: """
      Compares OLD and NEW (each a file, a directory or -), or with --git REV
      the manifests at git revision REV with the working tree. Exit codes as
      diff(1): 0 no change, 1 changes, 2 trouble.

      Examples:
        policyc diff before/ after/
        policyc diff --git origin/main --format markdown deploy/
        policyc diff --rules --node node-a before/ after/
        policyc diff --by workload before/ after/

      \(Grouping.help)

      With --by workload, a pair of workloads changes when the answers its
      pod pairs get change: replicas coming and going is no change.
      """
  )

  @Argument(help: "OLD NEW, or with --git the paths to compare (default: the current directory).")
  var inputs: [String] = []

  @Option(help: "Compare the manifests at this git revision with the working tree.")
  var git: String?

  @Option(help: "Output format: text, markdown or json.")
  var format: String = "text"

  @Flag(help: "Show the change to the node's iptables rules instead of connectivity.")
  var rules = false

  @Option(help: "Most table rows in markdown output.")
  var limit: Int = 50

  @Option(help: "Endpoints: pod (each pod) or workload (replicas as one; see below).")
  var by: Grouping = .pod

  @OptionGroup var node: DiffRuleFlags
  @OptionGroup var load: LoadFlags

  func validate() throws {
    guard ["text", "markdown", "json"].contains(format) else {
      throw ValidationError("--format must be text, markdown or json")
    }
    if git == nil, inputs.count != 2 { throw ValidationError("give OLD and NEW, or --git REV [PATH...]") }
    guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") }
    if rules, by == .workload { throw ValidationError("--by workload groups connectivity; --rules compares rules") }
  }

  func run() async throws {
    let (oldSources, newSources): ([InputSource], [InputSource])
    if let git {
      let paths = inputs.isEmpty ? ["."] : inputs
      oldSources = try await GitSources.read(revision: git, paths: paths)
      newSources = try load.read(paths)
    } else {
      oldSources = try load.read([inputs[0]])
      newSources = try load.read([inputs[1]])
    }
    let old = try load.decode(oldSources, analysis: !rules)
    let new = try load.decode(newSources, analysis: !rules)
    if rules {
      let diff = RuleSetDiff.compare(old: try node.ruleSet(Cluster(old)), new: try node.ruleSet(Cluster(new)))
      Output.stdout(RulesDiffReporter.render(diff, format: format))
      throw ExitCode(diff.isEmpty ? ExitStatus.ok : ExitStatus.findings)
    }
    let diff =
      by == .workload
      ? ConnectivityDiffer.diffByWorkload(old: old, new: new) : ConnectivityDiffer.diff(old: old, new: new)
    switch format {
    case "markdown": Output.stdout(DiffReporter.markdown(diff, limit: limit))
    case "json": Output.stdout(DiffReporter.json(diff))
    default: Output.stdout(DiffReporter.text(diff))
    }
    throw ExitCode(diff.changes.isEmpty ? ExitStatus.ok : ExitStatus.findings)
  }
}

/// What `diff --rules` needs to know of the node. The rules are compared as
/// compile writes them by default (reject, the default mark bit, no logging):
/// those flags change every rule alike and would only add noise to a review.
struct DiffRuleFlags: ParsableArguments {
  @Option(help: "With --rules: the node whose rules to compare (spec.nodeName); without it every pod is local.")
  var node: String?

  @Option(help: "With --rules: the address family of the rules.")
  var family: TrafficFamily = .ipv4

  func validate() throws {
    if let node, let problem = NameRules.dns1123Subdomain(node) {
      throw ValidationError("invalid --node '\(node)': \(problem)")
    }
  }

  func ruleSet(_ cluster: Cluster) throws -> IptablesRuleSet {
    do {
      return try IptablesCompiler.compile(
        cluster, options: EmitOptions(node: node, family: family.family))
    } catch {
      Output.stderr("policyc: error: \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }
}

/// Reads manifests as they were at a git revision, without a checkout.
enum GitSources {
  static func read(revision: String, paths: [String]) async throws -> [InputSource] {
    guard !revision.hasPrefix("-") else { throw ValidationError("invalid --git revision '\(revision)'") }
    let listing = try await Subprocess.run(
      ["git", "ls-tree", "-r", "-z", "--name-only", revision, "--"] + paths, input: nil, what: "list \(revision)")
    var sources: [InputSource] = []
    for path in listing.split(separator: "\0").map(String.init).sorted() {
      let ext = (path as NSString).pathExtension.lowercased()
      // The same files the working-tree side reads: no hidden entries.
      guard InputFiles.extensions.contains(ext),
        !path.split(separator: "/").contains(where: { $0.hasPrefix(".") && $0 != "." && $0 != ".." })
      else { continue }
      let text = try await Subprocess.run(
        ["git", "show", "\(revision):./\(path)"], input: nil, what: "read \(revision):\(path)")
      sources.append(InputSource(path: "\(revision):\(path)", bytes: Array(text.utf8)))
    }
    return sources
  }
}

/// Text, markdown or JSON for a rules-level diff.
enum RulesDiffReporter {
  static func render(_ diff: RuleSetDiff, format: String) -> String {
    if format == "json" {
      let owners = diff.owners.map { o in
        "{\"addedChains\":[\(o.addedChains.map(JSON.string).joined(separator: ","))],\"addedRules\":[\(o.addedRules.map(JSON.string).joined(separator: ","))],\"owner\":\(JSON.string(o.owner)),\"removedChains\":[\(o.removedChains.map(JSON.string).joined(separator: ","))],\"removedRules\":[\(o.removedRules.map(JSON.string).joined(separator: ","))]}"
      }
      return "{\"owners\":[" + owners.joined(separator: ",") + "],\"version\":1}\n"
    }
    if diff.isEmpty {
      return format == "markdown" ? "### policyc: rules diff\n\nNo rule change.\n" : "no rule change\n"
    }
    var out = format == "markdown" ? "### policyc: rules diff\n\n" : ""
    for o in diff.owners {
      out += format == "markdown" ? "#### \(o.owner)\n\n```diff\n" : "\(o.owner):\n"
      for c in o.addedChains { out += "+ chain \(c)\n" }
      for c in o.removedChains { out += "- chain \(c)\n" }
      for r in o.removedRules { out += "- \(r)\n" }
      for r in o.addedRules { out += "+ \(r)\n" }
      out += format == "markdown" ? "```\n\n" : "\n"
    }
    return out
  }
}
