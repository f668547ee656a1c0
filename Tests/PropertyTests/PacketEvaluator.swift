import PolicyModel

/// The sets an `ipset restore` script leaves behind, read strictly.
struct IPSetState {
  struct Entry {
    var cidr: CIDR
    var nomatch: Bool
  }

  var sets: [String: (type: String, entries: [Entry])] = [:]

  init(_ text: String) throws {
    for raw in text.split(separator: "\n") {
      let line = String(raw)
      if line.hasPrefix("#") { continue }
      let t = line.split(separator: " ").map(String.init)
      guard t.count >= 2, t[1].hasPrefix("POLICYC-"), t[1].count <= 31 else {
        throw RestoreProgram.Failure(description: "bad ipset line: \(line)")
      }
      switch t[0] {
      case "create":
        guard t.count >= 4, ["hash:ip", "hash:net"].contains(t[2]) else {
          throw RestoreProgram.Failure(description: "bad create: \(line)")
        }
        if sets[t[1]] == nil { sets[t[1]] = (t[2], []) }
      case "flush": sets[t[1]]?.entries = []
      case "add":
        guard t.count == 3 || (t.count == 4 && t[3] == "nomatch"), sets[t[1]] != nil else {
          throw RestoreProgram.Failure(description: "bad add: \(line)")
        }
        let text = t[2].contains("/") ? t[2] : t[2] + (t[2].contains(":") ? "/128" : "/32")
        guard let cidr = CIDR(text) else { throw RestoreProgram.Failure(description: "bad member: \(line)") }
        sets[t[1]]!.entries.append(Entry(cidr: cidr, nomatch: t.count == 4))
      case "swap":
        guard t.count == 3, let a = sets[t[1]], let b = sets[t[2]] else {
          throw RestoreProgram.Failure(description: "bad swap: \(line)")
        }
        sets[t[1]] = b
        sets[t[2]] = a
      case "destroy": sets[t[1]] = nil
      default: throw RestoreProgram.Failure(description: "unknown ipset command: \(line)")
      }
    }
  }

  /// hash:net semantics: the most specific entry containing the address
  /// decides, and a `nomatch` entry means no match.
  func contains(_ name: String, _ ip: IPAddress) -> Bool {
    guard let set = sets[name] else { return false }
    let best = set.entries.filter { $0.cidr.contains(ip) }.max { $0.cidr.prefix < $1.cidr.prefix }
    return best.map { !$0.nomatch } ?? false
  }
}

/// Runs a NEW packet through FORWARD the way netfilter would, with the
/// built-in chain's policy ACCEPT.
struct PacketEvaluator {
  let program: RestoreProgram
  /// The rules a packet meets first (FORWARD, or the nft base chain's jump for its family).
  let forward: [RestoreProgram.Rule]
  let setContains: (String, IPAddress) -> Bool

  init(program: RestoreProgram, sets: IPSetState?) {
    self.program = program
    self.forward = program.forward
    self.setContains = { name, ip in sets?.contains(name, ip) ?? false }
  }

  init(nft: NftProgram, family: IPAddress.Family) {
    self.program = nft.program
    self.forward = nft.forward(family)
    self.setContains = nft.contains
  }

  enum Verdict: Equatable { case accept, drop, reject }
  enum Outcome { case returned, verdict(Verdict) }

  struct Packet {
    var source: IPAddress
    var destination: IPAddress
    var proto: NetProtocol
    var port: Int
  }

  func evaluate(_ packet: Packet) -> Verdict {
    var mark: UInt32 = 0
    var depth = 0
    if case .verdict(let v) = run(forward, packet, &mark, &depth) { return v }
    return .accept
  }

  func run(_ rules: [RestoreProgram.Rule], _ p: Packet, _ mark: inout UInt32, _ depth: inout Int) -> Outcome {
    depth += 1
    defer { depth -= 1 }
    precondition(depth < 64, "chain loop")
    for rule in rules where matches(rule, p, mark) {
      switch rule.target {
      case .ret: return .returned
      case .drop: return .verdict(.drop)
      case .reject: return .verdict(.reject)
      case .setMark(let v, let m): mark = (mark & ~m) ^ v
      case .log: continue
      case .jump(let c):
        if case .verdict(let v) = run(program.chains[c]!, p, &mark, &depth) { return .verdict(v) }
      case .goto(let c):
        return run(program.chains[c]!, p, &mark, &depth)
      }
    }
    return .returned
  }

  func matches(_ r: RestoreProgram.Rule, _ p: Packet, _ mark: UInt32) -> Bool {
    if let s = r.source, !s.contains(p.source) { return false }
    if let d = r.destination, !d.contains(p.destination) { return false }
    if r.icmpv6Type != nil { return false }
    if let proto = r.proto, proto != p.proto { return false }
    if let ports = r.ports, !ports.contains(p.port) { return false }
    if let states = r.ctstates, !states.contains("NEW") { return false }
    if let m = r.mark, mark & m.mask != m.value { return false }
    if let set = r.set {
      guard setContains(set.name, set.source ? p.source : p.destination) else { return false }
    }
    return true
  }
}
