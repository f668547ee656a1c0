import ArgumentParser
import NodeApply

/// Runs a helper program (NodeApply's process runner). A failure ends the
/// command with exit 2 and the program's own complaint, unless `quiet`.
enum Subprocess {
  static func run(_ arguments: [String], input: String?, what: String, quiet: Bool = false) async throws -> String {
    do {
      return try await ProcessRunner().run(arguments, input: input)
    } catch {
      if !quiet { Output.stderr("policyc: error: cannot \(what): \(error)\n") }
      throw ExitCode(ExitStatus.trouble)
    }
  }
}
