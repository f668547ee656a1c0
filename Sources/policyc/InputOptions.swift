import ArgumentParser
import Foundation
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
    help: "Threads for parsing large inputs (default: all cores; 1 = one thread). The result is the same.")
  var jobs: Int?

  func validate() throws {
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    if let problem = NameRules.dns1123Label(defaultNamespace) {
      throw ValidationError("invalid --namespace '\(defaultNamespace)': \(problem)")
    }
    guard maxDepth > 0, maxAliasNodes >= 0 else { throw ValidationError("limits must be positive") }
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
  /// command with exit 2 before anything is written.
  func decode(_ sources: [InputSource], pruned: Bool = false) throws -> Inventory {
    var options = loadOptions
    if pruned { options.pruning = LoadOptions.compilePruning }
    let inventory = Loader.load(sources, options: options)
    for diagnostic in inventory.diagnostics { Output.stderr(diagnostic.formatted + "\n") }
    if verbose {
      for object in inventory.skipped {
        Output.stderr(
          "\(object.location.file):\(object.location.line):\(object.location.column): note: skipped \(object.kind) \(object.name ?? "")\n"
        )
      }
      let kinds = Set(inventory.skipped.map(\.kind)).sorted()
      Output.stderr(
        "policyc: read \(sources.count) file(s), \(inventory.documentCount) document(s): \(inventory.namespaces.count) namespace(s), \(inventory.pods.count) pod(s), \(inventory.workloads.count) workload(s), \(inventory.policies.count) network polic(ies), \(inventory.adminPolicies.count) admin polic(ies); skipped \(inventory.skipped.count) object(s)\(kinds.isEmpty ? "" : " (" + kinds.joined(separator: ", ") + ")")\n"
      )
    }
    let errors = inventory.errors.count
    if errors > 0 {
      Output.stderr("policyc: \(errors) error(s); nothing written\n")
      throw ExitCode(ExitStatus.trouble)
    }
    return inventory
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
  func loadOrExit(pruned: Bool = false) throws -> Inventory {
    try load.decode(try load.read(paths), pruned: pruned)
  }
}

extension IPAddress.Family {
  /// The value of a `--family` option: `ipv4` or `ipv6`.
  init?(flag: String) {
    switch flag {
    case "ipv4": self = .ipv4
    case "ipv6": self = .ipv6
    default: return nil
    }
  }
}
