import ArgumentParser
import Foundation

@main
struct Policyc: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "policyc",
    abstract: "Compile Kubernetes NetworkPolicies into iptables rules, and check what they do.",
    discussion: """
      Inputs are YAML or JSON manifests: files, directories (read recursively for
      .yaml, .yml and .json) or - for standard input, such as a kubectl dump of
      every kind policyc reads (`policyc help compile` shows the command).

      Exit codes: 0 success; 1 findings (lint), a denied connection (explain) or a change (diff);
      2 usage error, unreadable path or invalid input.
      """,
    version: "policyc \(BuildInfo.version)",
    subcommands: [
      CompileCommand.self, ApplyCommand.self, MatrixCommand.self, ExplainCommand.self, DiffCommand.self,
      LintCommand.self, RulesCommand.self, RemoveCommand.self, AgentCommand.self,
    ]
  )

  /// One place maps every error to an exit code: usage problems exit 2,
  /// not ArgumentParser's 64, as the README promises.
  static func main() {
    // A closed pipe (`policyc compile ... | head -1`) must end quietly, not kill us.
    signal(SIGPIPE, SIG_IGN)
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let exit as ExitCode {
      Foundation.exit(exit.rawValue)
    } catch {
      let code = exitCode(for: error)
      let message = fullMessage(for: error)
      if code == .success {
        Output.stdout(message + "\n")
        Foundation.exit(0)
      }
      if !message.isEmpty { Output.stderr(message + "\n") }
      Foundation.exit(ExitStatus.trouble)
    }
  }
}

/// The exit codes, in one place.
enum ExitStatus {
  static let ok: Int32 = 0
  static let findings: Int32 = 1
  static let trouble: Int32 = 2
}
