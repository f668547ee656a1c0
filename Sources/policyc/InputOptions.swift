import ArgumentParser
import Foundation
import PolicyAnalysis
import PolicyModel
import YAMLBridge

/// How manifests are read; shared by every command that reads them.
struct LoadFlags: ParsableArguments {
  @Option(name: .customLong("namespace"), help: "Namespace for namespaced objects that name none.")
  var defaultNamespace: String = Defaults.namespace

  @Option(help: "Deepest YAML nesting accepted.")
  var maxDepth: Int = YAMLLimits.default.maxDepth

  @Option(help: "Most nodes YAML aliases may expand to in one document.")
  var maxAliasNodes: Int = YAMLLimits.default.maxAliasNodes

  @Flag(name: .shortAndLong, help: "Also report skipped objects and a summary on standard error.")
  var verbose = false

  @Option(
    name: .shortAndLong,
    help: """
      Threads for parsing large inputs, and in compile for building and writing a node's rules \
      (default: all cores; 1 = one thread). The result is the same.
      """)
  var jobs: Int?

  @Option(help: "Most errors printed; the rest are counted (0: print every one).")
  var maxErrors: Int = 50

  func validate() throws {
    if let jobs, jobs < 1 { throw ValidationError("invalid --jobs \(jobs): must be at least 1") }
    guard maxErrors >= 0 else { throw ValidationError("invalid --max-errors \(maxErrors): must be 0 or more") }
    if let problem = NameRules.dns1123Label(defaultNamespace) {
      throw ValidationError("invalid --namespace '\(defaultNamespace)': \(problem)")
    }
    guard maxDepth > 0 else { throw ValidationError("invalid --max-depth \(maxDepth): must be at least 1") }
    guard maxAliasNodes >= 0 else {
      throw ValidationError("invalid --max-alias-nodes \(maxAliasNodes): must be 0 or more")
    }
  }

  var loadOptions: LoadOptions {
    var limits = YAMLLimits.default
    limits.maxDepth = maxDepth
    limits.maxAliasNodes = maxAliasNodes
    return LoadOptions(
      defaultNamespace: defaultNamespace, limits: limits, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount)
  }

  /// Reads PATH arguments; an unreadable path ends the command with exit 2.
  func read(_ paths: [String]) throws -> [InputSource] {
    do {
      return try InputFiles.read(paths)
    } catch {
      Output.stderr("\(error.description)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  /// Decodes sources, printing every diagnostic; invalid input ends the
  /// command with exit 2 before anything is written. An `analysis` then
  /// also names the invalid objects and says the rest is valid.
  func decode(_ sources: [InputSource], pruned: Bool = false, analysis: Bool = false) throws -> Inventory {
    var options = loadOptions
    if pruned {
      options.pruning = LoadOptions.compilePruning
      options.eventDecoding = true
    }
    let inventory = Loader.load(sources, options: options)
    printDiagnostics(inventory.diagnostics)
    if verbose {
      for object in inventory.skipped {
        Output.stderr(
          "\(object.location.file):\(object.location.line):\(object.location.column): note: skipped \(object.kind) \(object.name ?? "")\n"
        )
      }
      let kinds = Set(inventory.skipped.map(\.kind)).sorted()
      let counts = [
        Wording.count(inventory.namespaces.count, "namespace"), Wording.count(inventory.pods.count, "pod"),
        Wording.count(inventory.workloads.count, "workload"),
        Wording.count(inventory.policies.count, "network policy", "network policies"),
        Wording.count(inventory.adminPolicies.count, "admin policy", "admin policies"),
      ]
      Output.stderr(
        "policyc: read \(Wording.count(sources.count, "file")), \(Wording.count(inventory.documentCount, "document")): \(counts.joined(separator: ", ")); skipped \(Wording.count(inventory.skipped.count, "object"))\(kinds.isEmpty ? "" : " (" + kinds.joined(separator: ", ") + ")")\n"
      )
    }
    let errors = inventory.errors.count
    if errors > 0 {
      Output.stderr("policyc: \(Wording.count(errors, "error")); nothing written\n")
      if analysis, let summary = InvalidObjects.summary(inventory) { Output.stderr("policyc: \(summary)\n") }
      throw ExitCode(ExitStatus.trouble)
    }
    return inventory
  }
}

extension LoadFlags {
  /// Every warning and note, and the first --max-errors errors; the rest
  /// are counted in one line, so a broken file cannot bury the summary.
  func printDiagnostics(_ diagnostics: [Diagnostic]) {
    var shown = 0
    var hidden = 0
    for diagnostic in diagnostics {
      if diagnostic.severity == .error {
        guard maxErrors == 0 || shown < maxErrors else {
          hidden += 1
          continue
        }
        shown += 1
      }
      Output.stderr(diagnostic.formatted + "\n")
    }
    if hidden > 0 {
      Output.stderr(
        "policyc: ... and \(hidden) more \(hidden == 1 ? "error" : "errors") (--max-errors 0 prints every one)\n")
    }
  }
}

/// PATH arguments plus the load flags.
struct InputOptions: ParsableArguments {
  @Argument(help: "Manifest files, directories (recursive), or - for standard input.")
  var paths: [String] = []

  @OptionGroup var load: LoadFlags

  var verbose: Bool { load.verbose }

  func validate() throws {
    guard !paths.isEmpty else { throw ValidationError("no input: name at least one file, directory or -") }
  }

  /// `pruned`: skip what only lint and the review tools read (compile, apply).
  func loadOrExit(pruned: Bool = false, analysis: Bool = false) throws -> Inventory {
    try load.decode(try load.read(paths), pruned: pruned, analysis: analysis)
  }
}

/// `--family` of explain, matrix and diff: the one address family of the
/// traffic (compile's and apply's `--family` is `FamilyFlag`, which has `both`).
enum TrafficFamily: String, ExpressibleByArgument, CaseIterable, Sendable {
  case ipv4, ipv6

  var family: IPAddress.Family {
    switch self {
    case .ipv4: .ipv4
    case .ipv6: .ipv6
    }
  }
}
