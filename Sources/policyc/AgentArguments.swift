import ArgumentParser

/// A duration on the command line: `50ms`, `2s`, `5m`, `1h` or `1m30s`.
/// Help shows it as written; a value that is not one is refused by the
/// parser, with the option's help line.
struct DurationArgument: ExpressibleByArgument, Sendable {
  let text: String
  let duration: Duration

  init(text: String, duration: Duration) { (self.text, self.duration) = (text, duration) }

  init?(argument: String) {
    var total = Duration.zero
    var rest = Substring(argument)
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
      let digits = rest.prefix { $0.isASCII && $0.isNumber }
      guard let n = Int(digits) else { return nil }
      rest = rest.dropFirst(digits.count)
      let unit = rest.prefix { $0.isLetter }
      rest = rest.dropFirst(unit.count)
      switch unit {
      case "ms": total += .milliseconds(n)
      case "s": total += .seconds(n)
      case "m": total += .seconds(n * 60)
      case "h": total += .seconds(n * 3600)
      default: return nil
      }
    }
    (text, duration) = (argument, total)
  }

  var defaultValueDescription: String { text }
}

/// `HOST:PORT`: `127.0.0.1:9710`, `[::1]:9710`, `0.0.0.0:9710`.
struct ListenArgument: ExpressibleByArgument, Sendable {
  let text: String
  let host: String
  let port: Int

  init(text: String, host: String, port: Int) { (self.text, self.host, self.port) = (text, host, port) }

  init?(argument: String) {
    guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
      (0...65535).contains(port)
    else { return nil }
    var host = String(argument[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { return nil }
    (text, self.host, self.port) = (argument, host, port)
  }

  var defaultValueDescription: String { text }
}
