import ArgumentParser

struct LintCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "lint", abstract: "Check policy manifests (in progress).")
  func run() throws { throw ExitCode(ExitStatus.trouble) }
}

struct RulesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "rules", abstract: "List lint rules (in progress).")
  func run() throws { throw ExitCode(ExitStatus.trouble) }
}
