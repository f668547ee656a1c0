import IptablesEmitter
import RuleModel

/// What `policyc apply` loaded last: enough to load only what changed next
/// time. It is trusted only while the kernel still matches it (see
/// `fingerprint`), so a stale or foreign state file costs a full load,
/// never a wrong one.
public struct ApplyState: Sendable, Equatable {
  public var fingerprint: String
  public var chainHashes: [String: String]
  public var sets: [String: SetRecord]

  public struct SetRecord: Sendable, Equatable {
    public var type: String
    public var maxelem: Int
    public var members: [String]
  }

  public init(fingerprint: String, chainHashes: [String: String], sets: [String: SetRecord]) {
    self.fingerprint = fingerprint
    self.chainHashes = chainHashes
    self.sets = sets
  }

  static let header = "policyc-apply-state 1"

  public var text: String { String(decoding: bytes, as: UTF8.self) }

  /// `text` as bytes, built without a string per line: an agent writes it
  /// after every apply, and a node's sets hold tens of thousands of members.
  public var bytes: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(64 + chainHashes.count * 48 + sets.values.reduce(0) { $0 + 48 + $1.members.count * 40 })
    func line(_ words: String...) {
      for (i, word) in words.enumerated() {
        if i > 0 { out.append(UInt8(ascii: " ")) }
        out.append(contentsOf: word.utf8)
      }
      out.append(UInt8(ascii: "\n"))
    }
    line(Self.header)
    line("fingerprint", fingerprint)
    for (name, hash) in chainHashes.sorted(by: { $0.key < $1.key }) { line("chain", name, hash) }
    for (name, set) in sets.sorted(by: { $0.key < $1.key }) {
      line("set", name, set.type, String(set.maxelem))
      // "member <set> <address>", without an array of words per member.
      let prefix = Array("member \(name) ".utf8)
      for member in set.members {
        out.append(contentsOf: prefix)
        out.append(contentsOf: member.utf8)
        out.append(UInt8(ascii: "\n"))
      }
    }
    return out
  }

  /// Parses a state file; nil for anything malformed (a full load follows).
  public init?(text: String) {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
    guard lines.next().map(String.init) == Self.header else { return nil }
    var fingerprint: String?
    var chains: [String: String] = [:]
    var sets: [String: SetRecord] = [:]
    while let line = lines.next() {
      let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
      switch parts.first {
      case "fingerprint" where parts.count == 2: fingerprint = parts[1]
      case "chain" where parts.count == 3: chains[parts[1]] = parts[2]
      case "set" where parts.count == 3:
        let rest = parts[2].split(separator: " ")
        guard rest.count == 2, let maxelem = Int(rest[1]) else { return nil }
        sets[parts[1]] = SetRecord(type: String(rest[0]), maxelem: maxelem, members: [])
      case "member" where parts.count == 3:
        guard sets[parts[1]] != nil else { return nil }
        sets[parts[1]]!.members.append(parts[2])
      default: return nil
      }
    }
    guard let fingerprint else { return nil }
    self.init(fingerprint: fingerprint, chainHashes: chains, sets: sets)
  }

  /// A hash of policyc's rule lines as iptables-save shows them plus the
  /// names of policyc's sets: what the kernel holds, in one value.
  public static func fingerprint(savedFilter: String, setNames: [String]) -> String {
    // By bytes, not Characters: a rule line is ASCII, and the saved text of
    // a large node is megabytes. Removing an ASCII byte keeps UTF-8 valid.
    let quote = UInt8(ascii: "\"")
    let prefix = Array("-A \(ChainNamer.prefix)".utf8)
    let lines = savedFilter.utf8.split(separator: UInt8(ascii: "\n"))
      .filter { $0.starts(with: prefix) }
      .map { line in
        line.contains(quote) ? String(decoding: line.filter { $0 != quote }, as: UTF8.self) : String(Substring(line))
      }
      .sorted()
    let names = setNames.filter { $0.hasPrefix(ChainNamer.prefix) }.sorted()
    let text = (lines + ["--sets--"] + names).joined(separator: "\n")
    return String(ChainNamer.mix(ChainNamer.fnv1a(text)), radix: 16)
  }

  static func chainHash(_ chain: IptablesChain) -> String {
    chainHash(text: RestoreWriter.lines(chain))
  }

  /// The hash of a chain's rule lines, given as one text.
  static func chainHash(text: String) -> String {
    String(ChainNamer.mix(ChainNamer.fnv1a(text)), radix: 16)
  }
}
