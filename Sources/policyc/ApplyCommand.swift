import ArgumentParser
import Foundation
import IptablesEmitter
import PolicyModel

struct ApplyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apply",
    abstract: "Load the node's rules into the running kernel (root).",
    discussion: """
      Reads the filter table with iptables-save, then loads one
      `iptables-restore --noflush` transaction that redefines policyc's chains,
      deletes POLICYC-* chains no longer needed and keeps exactly one jump from
      FORWARD. Rules and chains of other software are never touched. A failed
      load changes nothing: the previous rules stay in force.

      Examples:
        kubectl get ns,pods,netpol -A -o yaml | policyc apply --node "$(hostname)" -
        policyc apply --node node-a --dry-run manifests/
      """
  )

  @OptionGroup var input: InputOptions
  @OptionGroup var emit: EmitFlags

  @Flag(help: "Print the transaction that would be loaded and change nothing.")
  var dryRun = false

  @Option(help: "The iptables-save program to read the current rules with.")
  var iptablesSave = "iptables-save"

  @Option(help: "The iptables-restore program to load the rules with.")
  var iptablesRestore = "iptables-restore"

  func run() throws {
    let inventory = try input.loadOrExit()
    let ruleSet = try emit.ruleSet(Cluster(inventory))
    let saved = try Subprocess.run([iptablesSave, "-t", "filter"], input: nil, what: "read the current rules")
    let plan = ApplyPlan.make(current: saved, ruleSet: ruleSet)
    if dryRun {
      Output.stdout(plan.restoreText)
      return
    }
    _ = try Subprocess.run([iptablesRestore, "--noflush"], input: plan.restoreText, what: "load the rules")
    if input.verbose {
      Output.stderr(
        "policyc: loaded \(ruleSet.chains.count) chain(s), \(ruleSet.ruleCount) rule(s); removed \(plan.staleChains.count) stale chain(s)\n")
    }
  }
}

/// Runs a helper program; a failure ends the command with exit 2 and the
/// program's own complaint.
enum Subprocess {
  static func run(_ arguments: [String], input: String?, what: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    do {
      try process.run()
    } catch {
      Output.stderr("policyc: error: cannot \(what): cannot run \(arguments[0]): \(error.localizedDescription)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    if let input {
      stdin.fileHandleForWriting.write(Data(input.utf8))
      try? stdin.fileHandleForWriting.close()
    }
    // Drain stderr on its own thread so a chatty child cannot block on either pipe.
    let errBox = DataBox()
    let reader = Thread { errBox.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    while !errBox.done { usleep(1000) }
    let err = errBox.get()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      Output.stderr(
        "policyc: error: cannot \(what): \(arguments[0]) exited with status \(process.terminationStatus)\(message.isEmpty ? "" : ": " + message)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    return String(decoding: out, as: UTF8.self)
  }
}

/// A lock-protected hand-over of bytes between two threads.
final class DataBox: @unchecked Sendable {
  private let lock = NSLock()
  private var data = Data()
  private var finished = false

  func set(_ value: Data) {
    lock.lock()
    data = value
    finished = true
    lock.unlock()
  }

  var done: Bool {
    lock.lock()
    defer { lock.unlock() }
    return finished
  }

  func get() -> Data {
    lock.lock()
    defer { lock.unlock() }
    return data
  }
}
