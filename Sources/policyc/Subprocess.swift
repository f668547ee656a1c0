import ArgumentParser
import Foundation

/// Runs a helper program with posix_spawn, feeding stdin and draining
/// stdout and stderr through one poll loop, so no pipe can block the other.
/// (Foundation's Process needs a loopback socket to notice the child's exit,
/// and a network namespace may have no loopback up.) A failure ends the
/// command with exit 2 and the program's own complaint, unless `quiet`.
enum Subprocess {
  static func run(_ arguments: [String], input: String?, what: String, quiet: Bool = false) throws -> String {
    do {
      let (status, out, err) = try spawn(arguments, input: Array((input ?? "").utf8))
      guard status == 0 else {
        let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if !quiet {
          Output.stderr(
            "policyc: error: cannot \(what): \(arguments[0]) exited with status \(status)\(message.isEmpty ? "" : ": " + message)\n"
          )
        }
        throw ExitCode(ExitStatus.trouble)
      }
      return String(decoding: out, as: UTF8.self)
    } catch let failure as SpawnFailure {
      if !quiet { Output.stderr("policyc: error: cannot \(what): cannot run \(arguments[0]): \(failure.reason)\n") }
      throw ExitCode(ExitStatus.trouble)
    }
  }

  struct SpawnFailure: Error {
    var reason: String
  }

  static func spawn(_ arguments: [String], input: [UInt8]) throws -> (Int32, [UInt8], [UInt8]) {
    var pipes: [[Int32]] = []
    for _ in 0..<3 {
      var fds: [Int32] = [0, 0]
      guard pipe(&fds) == 0 else { throw SpawnFailure(reason: String(cString: strerror(errno))) }
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
      throw SpawnFailure(reason: String(cString: strerror(rc)))
    }
    var out: [UInt8] = []
    var err: [UInt8] = []
    var written = 0
    var writeFD: Int32 = stdinPipe[1]
    if input.isEmpty {
      close(writeFD)
      writeFD = -1
    } else {
      _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
    }
    var readFDs = [stdoutPipe[0], stderrPipe[0]]
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
          if p.fd == stdoutPipe[0] { out += buffer[0..<n] } else { err += buffer[0..<n] }
        } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
          close(p.fd)
          readFDs.removeAll { $0 == p.fd }
        }
      }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS, spelled out (they are macros in C).
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out, err)
  }
}
