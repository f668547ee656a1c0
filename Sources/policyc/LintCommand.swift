import ArgumentParser
import Foundation
import PolicyAnalysis
import PolicyModel

struct LintCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lint",
    abstract:
      "Check manifests for what the API server would reject and for policies that do not do what they seem to.",
    discussion: """
      Inputs may hold any Kubernetes kinds, helm template output included.
      Pods, and the pod templates of workloads (Deployment, StatefulSet,
      DaemonSet, Job, CronJob, ...), are what selectors and named ports are
      resolved against. `policyc rules` lists the rules.

      Silence rules for one object with its annotations
        policyc.io/ignore: "redundant-rule,ipblock-matches-pods"
        policyc.io/ignore-reason: "why"
      or for the whole run with --config FILE:
        rules:
          redundant-rule: off
          ipblock-matches-pods: error

      Formats: text (path:line:col: severity: message [rule-id]), json
      (versioned, keys sorted), sarif (2.1.0, for GitHub code scanning) and
      github (workflow command annotations). A summary goes to standard error.

      Exit codes: 0 no finding at or above --fail-on; 1 findings at or above
      it; 2 usage error, unreadable path or unusable config file.

      Examples:
        policyc lint manifests/
        helm template charts/shop | policyc lint --stdin-filename shop.yaml -
        policyc lint --format sarif --fail-on warning deploy/ > policyc.sarif
      """
  )

  enum Format: String, CaseIterable, ExpressibleByArgument {
    case text, json, sarif, github
  }

  enum Threshold: String, CaseIterable, ExpressibleByArgument {
    case error, warning, never
    var failOn: FailOn {
      switch self {
      case .error: .error
      case .warning: .warning
      case .never: .never
      }
    }
  }

  @Argument(help: "Manifest files, directories (recursive), or - for standard input.")
  var paths: [String] = []

  @Option(help: "Output format.")
  var format: Format = .text

  @Option(help: "Exit 1 when a finding has this severity or a higher one.")
  var failOn: Threshold = .error

  @Option(help: ArgumentHelp("The path to report standard input (-) as.", valueName: "path"))
  var stdinFilename: String?

  @Option(
    help: ArgumentHelp(
      "A YAML file that switches rules off or changes their severity.", valueName: "file"))
  var config: String?

  @Option(name: .customLong("namespace"), help: "Namespace for namespaced objects that name none.")
  var defaultNamespace: String = Defaults.namespace

  func validate() throws {
    guard !paths.isEmpty else {
      throw ValidationError("no input: name at least one file, directory or -")
    }
    if let problem = NameRules.dns1123Label(defaultNamespace) {
      throw ValidationError("invalid --namespace '\(defaultNamespace)': \(problem)")
    }
  }

  func run() throws {
    let options = LintOptions(
      load: LoadOptions(defaultNamespace: defaultNamespace), config: try readConfig(),
      inputPaths: paths)
    let sources: [InputSource]
    do {
      sources = try InputFiles.read(paths, stdinName: stdinFilename ?? "<stdin>")
    } catch {
      Output.stderr("\(error.description)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    let result = LintEngine.run(sources, options: options)
    let base = FileManager.default.currentDirectoryPath
    switch format {
    case .text: Output.stdout(TextReporter.render(result))
    case .json: Output.stdout(JSONReporter.render(result, base: base))
    case .sarif: Output.stdout(SARIFReporter.render(result, base: base, toolVersion: BuildInfo.version))
    case .github: Output.stdout(GitHubReporter.render(result, base: base))
    }
    Output.stderr(TextReporter.summary(result))
    throw ExitCode(result.fails(failOn.failOn) ? ExitStatus.findings : ExitStatus.ok)
  }

  func readConfig() throws -> LintConfig {
    guard let config else { return LintConfig() }
    let data: [UInt8]
    do {
      data = try InputFiles.readFile(config).bytes
    } catch {
      Output.stderr("\(config): error: --config: \(error.reason)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    do {
      return try LintConfig.parse(data, path: config)
    } catch {
      Output.stderr("\(error.description)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }
}
