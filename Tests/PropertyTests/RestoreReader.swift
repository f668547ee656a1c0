import PolicyModel

/// A strict reader of the restore files policyc writes: every line must be
/// one policyc means to emit, every token one it knows. Anything else is a
/// failure, which is what makes it a proof that input text cannot smuggle a
/// rule or an option into the file.
struct RestoreProgram {
  struct Rule {
    var source: CIDR?
    var destination: CIDR?
    var proto: NetProtocol?
    var ports: ClosedRange<Int>?
    var ctstates: Set<String>?
    var mark: (value: UInt32, mask: UInt32)?
    var set: (name: String, source: Bool)?
    /// `-p ipv6-icmp -m icmp6 --icmpv6-type T`: neighbour discovery; never
    /// a TCP, UDP or SCTP packet.
    var icmpv6Type: String?
    var target: Target
  }

  enum Target {
    case jump(String), goto(String), ret, drop, reject, setMark(UInt32, UInt32)
    /// NFLOG or LOG (`--log-denied`): the packet goes on to the next rule.
    case log
  }

  var chains: [String: [Rule]] = [:]
  var forward: [Rule] = []

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  init(_ text: String) throws {
    var sawFilter = false
    var committed = false
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = String(raw)
      if line.isEmpty || line.hasPrefix("#") { continue }
      guard !committed else { throw Failure(description: "text after COMMIT: \(line)") }
      if line == "*filter" {
        sawFilter = true
        continue
      }
      guard sawFilter else { throw Failure(description: "line before *filter: \(line)") }
      if line == "COMMIT" {
        committed = true
        continue
      }
      if line.hasPrefix(":") {
        let parts = line.dropFirst().split(separator: " ")
        guard parts.count == 3, parts[1] == "-", parts[2] == "[0:0]", parts[0].hasPrefix("POLICYC-"),
          parts[0].count <= 28
        else { throw Failure(description: "bad chain declaration: \(line)") }
        guard chains[String(parts[0])] == nil else { throw Failure(description: "chain declared twice: \(line)") }
        chains[String(parts[0])] = []
        continue
      }
      var tokens = try Self.tokenize(line)
      if tokens.starts(with: ["-I", "FORWARD", "1"]) {
        tokens.removeFirst(3)
        forward.append(try Self.rule(tokens, line))
        continue
      }
      guard tokens.count > 2, tokens[0] == "-A", chains[tokens[1]] != nil else {
        throw Failure(description: "rule outside a declared POLICYC chain: \(line)")
      }
      let chain = tokens[1]
      chains[chain]!.append(try Self.rule(Array(tokens.dropFirst(2)), line))
    }
    guard committed else { throw Failure(description: "no COMMIT") }
    for rule in forward + chains.values.flatMap({ $0 }) {
      switch rule.target {
      case .jump(let c), .goto(let c):
        guard chains[c] != nil else { throw Failure(description: "jump to undeclared chain \(c)") }
      default: break
      }
    }
  }

  /// Splits on spaces; a double-quoted comment is one token and may hold
  /// only the characters policyc's sanitiser lets through.
  static func tokenize(_ line: String) throws -> [String] {
    var tokens: [String] = []
    var current = ""
    var quoted = false
    for c in line {
      if quoted {
        if c == "\"" {
          quoted = false
          tokens.append(current)
          current = ""
        } else {
          guard c.isASCII, c.isLetter || c.isNumber || "-_./:[] ,=()~".contains(c) else {
            throw Failure(description: "unexpected character \(c.debugDescription) in comment: \(line)")
          }
          current.append(c)
        }
      } else if c == "\"" {
        guard current.isEmpty else { throw Failure(description: "quote inside a token: \(line)") }
        quoted = true
      } else if c == " " {
        if !current.isEmpty { tokens.append(current) }
        current = ""
      } else {
        current.append(c)
      }
    }
    guard !quoted else { throw Failure(description: "unterminated quote: \(line)") }
    if !current.isEmpty { tokens.append(current) }
    return tokens
  }

  static func rule(_ t: [String], _ line: String) throws -> Rule {
    var r = Rule(target: .ret)
    var i = 0
    var target: Target?
    func next() throws -> String {
      i += 1
      guard i < t.count else { throw Failure(description: "missing value: \(line)") }
      return t[i]
    }
    func cidr(_ s: String) throws -> CIDR {
      guard let c = CIDR(s), !c.hadHostBits else { throw Failure(description: "bad address \(s): \(line)") }
      return c
    }
    func hex(_ s: String) throws -> (UInt32, UInt32) {
      let parts = s.split(separator: "/")
      guard parts.count == 2, let v = UInt32(parts[0].dropFirst(2), radix: 16),
        let m = UInt32(parts[1].dropFirst(2), radix: 16)
      else { throw Failure(description: "bad mark \(s): \(line)") }
      return (v, m)
    }
    while i < t.count {
      switch t[i] {
      case "-s": r.source = try cidr(try next())
      case "-d": r.destination = try cidr(try next())
      case "-p" where i + 1 < t.count && t[i + 1] == "ipv6-icmp":
        i += 1
        r.icmpv6Type = "any"
      case "-p":
        guard let p = NetProtocol(rawValue: try next().uppercased()) else {
          throw Failure(description: "bad protocol: \(line)")
        }
        r.proto = p
      case "-m":
        switch try next() {
        case "comment":
          guard try next() == "--comment" else { throw Failure(description: "bad comment: \(line)") }
          _ = try next()
        case "conntrack":
          guard try next() == "--ctstate" else { throw Failure(description: "bad conntrack: \(line)") }
          r.ctstates = Set(try next().split(separator: ",").map(String.init))
        case "tcp", "udp", "sctp":
          guard try next() == "--dport" else { throw Failure(description: "bad port match: \(line)") }
          let parts = try next().split(separator: ":").compactMap { Int($0) }
          guard (1...2).contains(parts.count), parts.allSatisfy({ (1...65535).contains($0) }),
            parts.first! <= parts.last!
          else { throw Failure(description: "bad port: \(line)") }
          r.ports = parts.first!...parts.last!
        case "icmp6":
          // Neighbour and router discovery, by number (RFC 4861).
          let types = ["133", "134", "135", "136", "137"]
          guard r.icmpv6Type != nil, try next() == "--icmpv6-type", types.contains(try next()) else {
            throw Failure(description: "bad icmp6 match (only neighbour discovery types): \(line)")
          }
          r.icmpv6Type = t[i]
        case "limit":
          guard try next() == "--limit", ["min", "sec", "hour"].contains(try next().split(separator: "/").last ?? "")
          else { throw Failure(description: "bad limit: \(line)") }
        case "mark":
          guard try next() == "--mark" else { throw Failure(description: "bad mark match: \(line)") }
          r.mark = try hex(try next())
        case "set":
          guard try next() == "--match-set" else { throw Failure(description: "bad set match: \(line)") }
          let name = try next()
          let dir = try next()
          guard name.hasPrefix("POLICYC-"), name.count <= 31, dir == "src" || dir == "dst" else {
            throw Failure(description: "bad set match: \(line)")
          }
          r.set = (name, dir == "src")
        default: throw Failure(description: "unknown match module: \(line)")
        }
      case "-j", "-g":
        let goto = t[i] == "-g"
        let name = try next()
        switch name {
        case "RETURN": target = .ret
        case "DROP": target = .drop
        case "REJECT":
          guard try next() == "--reject-with", ["icmp-admin-prohibited", "icmp6-adm-prohibited"].contains(try next())
          else {
            throw Failure(description: "bad reject: \(line)")
          }
          target = .reject
        case "NFLOG", "LOG":
          guard try next() == (name == "NFLOG" ? "--nflog-prefix" : "--log-prefix"), try next().hasPrefix("policyc:")
          else { throw Failure(description: "bad \(name): \(line)") }
          if name == "NFLOG", i + 1 < t.count {
            guard try next() == "--nflog-group", Int(try next()) != nil else {
              throw Failure(description: "bad NFLOG group: \(line)")
            }
          }
          target = .log
        case "MARK":
          guard try next() == "--set-xmark" else { throw Failure(description: "bad MARK: \(line)") }
          let (v, m) = try hex(try next())
          target = .setMark(v, m)
        default:
          guard name.hasPrefix("POLICYC-") else { throw Failure(description: "jump outside policyc: \(line)") }
          target = goto ? .goto(name) : .jump(name)
        }
        guard i == t.count - 1 else { throw Failure(description: "tokens after target: \(line)") }
      default: throw Failure(description: "unknown token \(t[i]): \(line)")
      }
      i += 1
    }
    guard let target else { throw Failure(description: "rule without target: \(line)") }
    r.target = target
    return r
  }
}
