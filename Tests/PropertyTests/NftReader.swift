import PolicyModel

/// A strict reader of the `nft -f` files policyc writes, into the same rule
/// form the restore reader produces, so one evaluator runs both backends.
/// Every line must be one policyc means to write; anything else fails.
struct NftProgram {
  var program = RestoreProgram()
  /// Set name -> (family, sorted disjoint ranges).
  var sets: [String: (family: IPAddress.Family, ranges: [ClosedRange<UInt128>])] = [:]
  /// The chain each family's packets enter from the base chain.
  var roots: [IPAddress.Family: String] = [:]

  typealias Failure = RestoreProgram.Failure

  init(_ text: String) throws {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    while lines.last == "" { lines.removeLast() }
    lines.removeAll { $0.hasPrefix("#") }
    guard lines.count >= 4,
      Array(lines.prefix(3)) == ["table inet policyc", "delete table inet policyc", "table inet policyc {"],
      lines.last == "}"
    else { throw Failure(description: "not one replacement of table inet policyc") }
    var i = 3
    func take() throws -> String {
      guard i < lines.count - 1 else { throw Failure(description: "unexpected end") }
      defer { i += 1 }
      return lines[i]
    }
    while i < lines.count - 1 {
      let line = try take()
      let words = line.split(separator: " ")
      if line.hasPrefix("\tset "), words.count == 3, words[2] == "{" {
        try readSet(String(words[1]), take)
      } else if line.hasPrefix("\tchain "), words.count == 3, words[2] == "{" {
        try readChain(String(words[1]), take)
      } else {
        throw Failure(description: "unexpected top-level line: \(line)")
      }
    }
    for (_, rules) in program.chains {
      for rule in rules {
        switch rule.target {
        case .jump(let c), .goto(let c):
          guard program.chains[c] != nil else { throw Failure(description: "jump to undeclared chain \(c)") }
        default: break
        }
      }
    }
    for root in roots.values where program.chains[root] == nil {
      throw Failure(description: "base chain jumps to undeclared \(root)")
    }
  }

  func contains(_ name: String, _ ip: IPAddress) -> Bool {
    if name.hasPrefix("=") {
      return (try? Self.range(String(name.dropFirst()), ip.family))?.contains(ip.value) ?? false
    }
    guard let set = sets[name], set.family == ip.family else { return false }
    return set.ranges.contains { $0.contains(ip.value) }
  }

  /// The rules a packet of `family` meets in the base chain.
  func forward(_ family: IPAddress.Family) -> [RestoreProgram.Rule] {
    roots[family].map { [RestoreProgram.Rule(target: .jump($0))] } ?? []
  }

  mutating func readSet(_ name: String, _ take: () throws -> String) throws {
    guard name.hasPrefix("s4-") || name.hasPrefix("s6-"), sets[name] == nil else {
      throw Failure(description: "bad or repeated set name \(name)")
    }
    let family: IPAddress.Family = name.hasPrefix("s4-") ? .ipv4 : .ipv6
    let type = family == .ipv4 ? "ipv4_addr" : "ipv6_addr"
    guard try take() == "\t\ttype \(type)" else { throw Failure(description: "set \(name): bad type") }
    var line = try take()
    var interval = false
    if line == "\t\tflags interval" {
      interval = true
      line = try take()
    }
    guard line == "\t\telements = {" else { throw Failure(description: "set \(name): no elements") }
    var ranges: [ClosedRange<UInt128>] = []
    while true {
      let element = try take()
      if element == "\t\t}" { break }
      guard element.hasPrefix("\t\t\t") else { throw Failure(description: "set \(name): bad element \(element)") }
      var text = String(element.dropFirst(3))
      if text.hasSuffix(",") { text.removeLast() }
      let range = try Self.range(text, family)
      guard interval || range.lowerBound == range.upperBound else {
        throw Failure(description: "set \(name): a range in a plain set")
      }
      if let last = ranges.last, last.upperBound >= range.lowerBound {
        throw Failure(description: "set \(name): elements overlap or are out of order")
      }
      ranges.append(range)
    }
    guard try take() == "\t}", !ranges.isEmpty else { throw Failure(description: "set \(name): bad end") }
    sets[name] = (family, ranges)
  }

  /// `10.0.0.1`, `10.0.0.0/8`, `10.0.0.0-10.0.0.5`.
  static func range(_ text: String, _ family: IPAddress.Family) throws -> ClosedRange<UInt128> {
    let dash = text.split(separator: "-")
    if dash.count == 2, let a = IPAddress(String(dash[0])), let b = IPAddress(String(dash[1])),
      a.family == family, b.family == family, a.value < b.value
    {
      return a.value...b.value
    }
    if text.contains("/"), let cidr = CIDR(text), !cidr.hadHostBits, cidr.family == family {
      return cidr.first...cidr.last
    }
    if let ip = IPAddress(text), ip.family == family { return ip.value...ip.value }
    throw Failure(description: "bad element \(text)")
  }

  mutating func readChain(_ name: String, _ take: () throws -> String) throws {
    guard program.chains[name] == nil else { throw Failure(description: "chain \(name) twice") }
    if name == "forward" {
      guard try take() == "\t\ttype filter hook forward priority filter - 5; policy accept;" else {
        throw Failure(description: "bad base chain")
      }
      for family in [IPAddress.Family.ipv4, .ipv6] {
        let tag = family == .ipv4 ? "ipv4" : "ipv6"
        let line = try take()
        let prefix = "\t\tmeta nfproto \(tag) jump "
        guard line.hasPrefix(prefix) else { throw Failure(description: "bad base chain rule \(line)") }
        roots[family] = String(line.dropFirst(prefix.count))
      }
      guard try take() == "\t}" else { throw Failure(description: "base chain has more rules") }
      return
    }
    guard name.hasPrefix("v4-") || name.hasPrefix("v6-") else { throw Failure(description: "bad chain \(name)") }
    let family: IPAddress.Family = name.hasPrefix("v4-") ? .ipv4 : .ipv6
    var rules: [RestoreProgram.Rule] = []
    while true {
      let line = try take()
      if line == "\t}" { break }
      guard line.hasPrefix("\t\t"), !line.hasPrefix("\t\t\t") else { throw Failure(description: "bad rule \(line)") }
      let body = String(line.dropFirst(2))
      if body.hasSuffix(" vmap {") {
        rules += try vmap(body, family, take)
      } else {
        rules.append(try rule(body, family))
      }
    }
    program.chains[name] = rules
  }

  func addressKey(_ word: Substring, _ family: IPAddress.Family) -> Bool {
    word == (family == .ipv4 ? "ip" : "ip6")
  }

  /// `ip saddr vmap {` then `\t\t\tADDR : goto CHAIN,` lines: one goto per address.
  func vmap(_ head: String, _ family: IPAddress.Family, _ take: () throws -> String) throws -> [RestoreProgram.Rule] {
    let w = head.split(separator: " ")
    guard w.count == 4, addressKey(w[0], family), w[1] == "saddr" || w[1] == "daddr" else {
      throw Failure(description: "bad vmap \(head)")
    }
    var out: [RestoreProgram.Rule] = []
    while true {
      let line = try take()
      if line == "\t\t}" { break }
      var text = line.dropFirst(3)
      if text.hasSuffix(",") { text.removeLast() }
      let p = text.split(separator: " ")
      guard line.hasPrefix("\t\t\t"), p.count == 4, p[1] == ":", p[2] == "goto", let ip = IPAddress(String(p[0])),
        ip.family == family
      else { throw Failure(description: "bad vmap entry \(line)") }
      let host = CIDR(network: ip, prefix: family.bits)
      var rule = RestoreProgram.Rule(target: .goto(String(p[3])))
      if w[1] == "saddr" { rule.source = host } else { rule.destination = host }
      out.append(rule)
    }
    guard !out.isEmpty else { throw Failure(description: "empty vmap") }
    return out
  }

  func rule(_ body: String, _ family: IPAddress.Family) throws -> RestoreProgram.Rule {
    var text = Substring(body)
    if let c = body.range(of: " comment \"") {
      let comment = body[c.upperBound...]
      guard comment.hasSuffix("\""), comment.utf8.count <= 129,
        comment.dropLast().allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:[] ,=()".contains($0)) })
      else { throw Failure(description: "bad comment: \(body)") }
      text = body[..<c.lowerBound]
    }
    // A log prefix may end in a space: read it whole, then check it.
    var prefix: String?
    if let start = text.range(of: " log prefix \"") {
      let rest = text[start.upperBound...]
      guard let end = rest.firstIndex(of: "\""),
        rest[..<end].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:[] ,=()~".contains($0)) }),
        rest[..<end].hasPrefix("policyc:")
      else { throw Failure(description: "bad log prefix: \(body)") }
      prefix = String(rest[..<end])
      text = Substring(
        String(text[..<start.lowerBound]) + " log prefix PREFIX" + String(rest[rest.index(after: end)...]))
    }
    let t = text.split(separator: " ").map(String.init)
    var r = RestoreProgram.Rule(target: .ret)
    var target: RestoreProgram.Target?
    var i = 0
    func word(_ k: Int) -> String? { i + k < t.count ? t[i + k] : nil }
    let bad = Failure(description: "unknown form: \(body)")
    func hex(_ s: String?) throws -> UInt32 {
      guard let s, s.hasPrefix("0x"), s.count == 10, let v = UInt32(s.dropFirst(2), radix: 16) else { throw bad }
      return v
    }
    while i < t.count {
      guard target == nil else { throw Failure(description: "words after the verdict: \(body)") }
      switch (t[i], word(1)) {
      case (family == .ipv4 ? "ip" : "ip6", let field?) where field == "saddr" || field == "daddr":
        guard let value = word(2) else { throw bad }
        let source = field == "saddr"
        if value.hasPrefix("@") {
          guard r.set == nil, sets[String(value.dropFirst())]?.family == family else { throw bad }
          r.set = (String(value.dropFirst()), source)
        } else {
          let range = try Self.range(value, family)
          // Rules hold CIDRs: a range must be written as one.
          guard let cidr = CIDR(value.contains("/") ? value : "\(value)/\(family.bits)"), !cidr.hadHostBits,
            cidr.first == range.lowerBound, cidr.last == range.upperBound
          else {
            guard r.set == nil else { throw bad }
            // An inline range: an anonymous one-element set, stored under a reserved name.
            r.set = ("=\(value)", source)
            i += 3
            continue
          }
          if source { r.source = cidr } else { r.destination = cidr }
        }
        i += 3
      case ("meta", "l4proto"):
        guard let p = word(2).flatMap({ NetProtocol(rawValue: $0.uppercased()) }) else { throw bad }
        r.proto = p
        i += 3
      case ("tcp", "dport"), ("udp", "dport"), ("sctp", "dport"):
        let parts = (word(2) ?? "").split(separator: "-").compactMap { Int($0) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ (1...65535).contains($0) }), parts[0] <= parts.last!
        else { throw bad }
        r.proto = NetProtocol(rawValue: t[i].uppercased())
        r.ports = parts[0]...parts.last!
        i += 3
      case ("icmpv6", "type"):
        guard family == .ipv6, ["133", "134", "135", "136", "137"].contains(word(2) ?? "") else { throw bad }
        r.icmpv6Type = word(2)
        i += 3
      case ("ct", "state"):
        guard let states = word(2) else { throw bad }
        r.ctstates = Set(states.uppercased().split(separator: ",").map(String.init))
        guard r.ctstates!.isSubset(of: ["INVALID", "ESTABLISHED", "RELATED"]) else { throw bad }
        i += 3
      case ("meta", "mark") where word(2) == "&" && word(4) == "==":
        r.mark = (try hex(word(5)), try hex(word(3)))
        i += 6
      case ("meta", "mark") where word(2) == "set" && word(3) == "meta" && word(4) == "mark":
        let value = try hex(word(6))
        switch word(5) {
        case "|": target = .setMark(value, value)
        case "&": target = .setMark(0, ~value)
        default: throw bad
        }
        i += 7
      case ("limit", "rate"):
        guard let rate = word(2), rate.split(separator: "/").count == 2, word(3) == "burst", word(4) == "5",
          word(5) == "packets"
        else { throw bad }
        i += 6
      case ("log", "prefix"):
        guard prefix != nil, word(2) == "PREFIX" else { throw bad }
        if word(3) == "group" {
          guard Int(word(4) ?? "") != nil else { throw bad }
          i += 5
        } else {
          i += 3
        }
        target = .log
      case ("return", _): target = .ret; i += 1
      case ("drop", _): target = .drop; i += 1
      case ("reject", "with"):
        guard i + 5 == t.count || (i + 5 < t.count),
          [["icmp", "type", "admin-prohibited"], ["icmpv6", "type", "admin-prohibited"]].contains(
            Array(t[min(i + 2, t.count)...].prefix(3)))
        else { throw bad }
        target = .reject
        i += 5
      case ("jump", let chain?): target = .jump(chain); i += 2
      case ("goto", let chain?): target = .goto(chain); i += 2
      default: throw bad
      }
    }
    guard let target else { throw Failure(description: "rule without verdict: \(body)") }
    r.target = target
    return r
  }
}

extension RestoreProgram {
  /// An empty program the nft reader fills.
  init() {
    self.chains = [:]
    self.forward = []
  }
}
