import Foundation

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
  func run(_ arguments: [String], input: String?) throws(RunFailure) -> String
}

/// The real thing: posix_spawn, with stdin fed and stdout and stderr drained
/// through one poll loop, so no pipe can block the other. Foundation's
/// Process needs a loopback socket to notice the child's exit, and a network
/// namespace may have no loopback up.
public struct ProcessRunner: CommandRunner {
  public init() {}

  public func run(_ arguments: [String], input: String?) throws(RunFailure) -> String {
    let (status, out, err) = try Self.spawn(arguments, input: Array((input ?? "").utf8))
    guard status == 0 else {
      let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      throw RunFailure(program: arguments[0], kind: .exited(status), message: message)
    }
    return String(decoding: out, as: UTF8.self)
  }

  static func spawn(_ arguments: [String], input: [UInt8]) throws(RunFailure) -> (Int32, [UInt8], [UInt8]) {
    var pipes: [[Int32]] = []
    for _ in 0..<3 {
      var fds: [Int32] = [0, 0]
      guard pipe(&fds) == 0 else {
        for fd in pipes.flatMap({ $0 }) { close(fd) }
        throw RunFailure(program: arguments[0], kind: .cannotStart, message: String(cString: strerror(errno)))
      }
      pipes.append(fds)
    }
    let (stdinPipe, stdoutPipe, stderrPipe) = (pipes[0], pipes[1], pipes[2])
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
    for fd in pipes.flatMap({ $0 }) { posix_spawn_file_actions_addclose(&actions, fd) }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
    close(stdinPipe[0])
    close(stdoutPipe[1])
    close(stderrPipe[1])
    guard rc == 0 else {
      for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] { close(fd) }
      throw RunFailure(
        program: arguments[0], kind: rc == ENOENT ? .notFound : .cannotStart, message: String(cString: strerror(rc)))
    }
    let (out, err) = pump(input: input, to: stdinPipe[1], from: stdoutPipe[0], stderrPipe[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS, spelled out (they are macros in C).
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out, err)
  }

  /// Writes `input` and reads both outputs until all three pipes are closed.
  static func pump(input: [UInt8], to stdinFD: Int32, from stdoutFD: Int32, _ stderrFD: Int32) -> ([UInt8], [UInt8]) {
    var out: [UInt8] = []
    var err: [UInt8] = []
    var written = 0
    var writeFD = stdinFD
    if input.isEmpty {
      close(writeFD)
      writeFD = -1
    } else {
      _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
    }
    var readFDs = [stdoutFD, stderrFD]
    var buffer = [UInt8](repeating: 0, count: 65536)
    while !readFDs.isEmpty || writeFD >= 0 {
      var polls = readFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      if writeFD >= 0 { polls.append(pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)) }
      if poll(&polls, nfds_t(polls.count), -1) < 0 {
        if errno == EINTR { continue }
        break
      }
      for p in polls where p.revents != 0 {
        if p.fd == writeFD {
          let n = input.withUnsafeBufferPointer { write(writeFD, $0.baseAddress! + written, $0.count - written) }
          if n > 0 { written += n }
          if n < 0 && errno != EAGAIN && errno != EINTR || written == input.count {
            close(writeFD)
            writeFD = -1
          }
          continue
        }
        let n = read(p.fd, &buffer, buffer.count)
        if n > 0 {
          if p.fd == stdoutFD { out += buffer[0..<n] } else { err += buffer[0..<n] }
        } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
          close(p.fd)
          readFDs.removeAll { $0 == p.fd }
        }
      }
    }
    return (out, err)
  }
}
