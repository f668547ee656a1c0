import Foundation
internal import Subprocess
internal import SystemPackage

/// Why a helper program did not do its job.
public struct RunFailure: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    /// The program is not installed (or not on PATH).
    case notFound
    /// It could not be started for another reason.
    case cannotStart
    /// It ran and exited with this status.
    case exited(Int32)
  }
  public var program: String
  public var kind: Kind
  /// The program's own complaint (its standard error), or the OS reason.
  public var message: String

  public init(program: String, kind: Kind, message: String) {
    self.program = program
    self.kind = kind
    self.message = message
  }

  public var description: String {
    switch kind {
    case .notFound, .cannotStart: return "cannot run \(program): \(message)"
    case .exited(let status):
      return "\(program) exited with status \(status)\(message.isEmpty ? "" : ": " + message)"
    }
  }
}

/// Runs the kernel's tools (iptables-save, iptables-restore, ipset, nft).
/// Node apply talks to the kernel only through this, so a test can stand in
/// for the kernel and fail any call it likes.
public protocol CommandRunner: Sendable {
  /// Runs `arguments` with `input` on standard input; returns standard
  /// output, or throws when the program cannot start or exits non-zero.
  func run(_ arguments: [String], input: String?) async throws(RunFailure) -> String
}

/// The real thing, on swift-subprocess: posix_spawn, and the child's exit
/// seen through a pidfd in epoll, so it works in a network namespace with
/// no loopback up. (Foundation's Process cannot: it needs a socket pair for
/// its run loop and aborts with "Could not create wakeup socket pair".)
/// Output is collected as bytes: swift-subprocess 1.0.2 decodes `.string`
/// output byte by byte through generic code, some 50 times slower (16 s
/// for 67 MB here, where `.bytes` takes 0.2 s).
public struct ProcessRunner: CommandRunner {
  /// Most bytes read from a program (more is a failure, and the apply is
  /// undone): iptables-save of a very large node is tens of MB.
  /// swift-subprocess reserves the whole limit per call, as address space
  /// that is only touched as output arrives, so it stays well below RAM.
  static let outputLimit = 256 << 20
  static let errorLimit = 1 << 20

  public init() {}

  public func run(_ arguments: [String], input: String?) async throws(RunFailure) -> String {
    let program = arguments[0]
    // A name is looked up on PATH; a path (with a slash) is run as is.
    let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
    let (termination, output, complaint): (TerminationStatus, [UInt8], [UInt8])
    do {
      let result = try await Subprocess.run(
        executable, arguments: Arguments(Array(arguments.dropFirst())), input: .array(Array((input ?? "").utf8)),
        output: .bytes(limit: Self.outputLimit), error: .bytes(limit: Self.errorLimit))
      (termination, output, complaint) = (result.terminationStatus, result.standardOutput, result.standardError)
    } catch {
      throw Self.failure(program, error)
    }
    let status: Int32
    switch termination {
    case .exited(let code): status = code
    case .signaled(let signal): status = 128 + signal
    }
    guard status == 0 else {
      let message = String(decoding: complaint, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      throw RunFailure(program: program, kind: .exited(status), message: message)
    }
    return String(decoding: output, as: UTF8.self)
  }

  /// A program that is not there is `.notFound` (apply reads that as "not
  /// installed, so nothing of it is loaded"); the message stays the OS's.
  static func failure(_ program: String, _ error: any Error) -> RunFailure {
    guard let error = error as? SubprocessError else {
      return RunFailure(program: program, kind: .cannotStart, message: "\(error)")
    }
    if error.code == .outputLimitExceeded {
      return RunFailure(
        program: program, kind: .cannotStart,
        message: "it printed more than \(outputLimit >> 20) MiB, the most policyc reads")
    }
    let errno = error.underlyingError?.rawValue
    if error.code == .executableNotFound || errno == ENOENT {
      return RunFailure(program: program, kind: .notFound, message: String(cString: strerror(ENOENT)))
    }
    return RunFailure(
      program: program, kind: .cannotStart, message: errno.map { String(cString: strerror($0)) } ?? "\(error)")
  }
}
