import ArgumentParser
import PolicyAnalysis

struct RulesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rules",
    abstract: "List the lint rules, or describe one with its examples.",
    discussion: """
      Examples:
        policyc rules
        policyc rules egress-blocks-dns
        policyc rules --format json
      """
  )

  enum Format: String, CaseIterable, ExpressibleByArgument {
    case text, json
  }

  @Argument(help: ArgumentHelp("A rule to describe in full.", valueName: "rule-id"))
  var id: String?

  @Option(help: "Output format.")
  var format: Format = .text

  func validate() throws {
    if let id, LintRules.rule(id) == nil {
      throw ValidationError("unknown rule id '\(id)' (`policyc rules` lists them)")
    }
  }

  func run() throws {
    let rules = id.flatMap(LintRules.rule).map { [$0.description] } ?? LintRules.descriptions
    switch format {
    case .json: Output.stdout(RuleListReporter.json(rules))
    case .text where id != nil: Output.stdout(RuleListReporter.detail(rules[0]))
    case .text: Output.stdout(RuleListReporter.text(rules))
    }
  }
}
