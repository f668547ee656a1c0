import IptablesEmitter
import RuleModel

/// The names of the kernel's tools; defaults are the usual names on PATH.
public struct NodeTools: Sendable {
  public var iptablesSave = "iptables-save"
  public var iptablesRestore = "iptables-restore"
  public var ip6tablesSave = "ip6tables-save"
  public var ip6tablesRestore = "ip6tables-restore"
  public var ipset = "ipset"
  public var nft = "nft"

  public init() {}

  /// The save and restore programs of one family.
  public func iptables(ipv6: Bool) -> (save: String, restore: String) {
    ipv6 ? (ip6tablesSave, ip6tablesRestore) : (iptablesSave, iptablesRestore)
  }
}

/// One ipset as `ipset save` prints it: the create line (with every option,
/// initval included, so a copy is the same set) and the member lines.
public struct SavedSet: Sendable, Equatable {
  public var name: String
  /// `create NAME TYPE OPTIONS...`.
  public var createLine: String
  /// What follows `add NAME `, in the kernel's order.
  public var members: [String]
}

/// What the kernel holds of policyc's, read before a change so any failure
/// can put it back exactly.
struct IptablesSnapshot: Sendable {
  /// `iptables-save -t filter` (or ip6tables-save).
  var saved: String
  /// policyc's sets of this family, by name.
  var sets: [String: SavedSet]
  /// Whether the ipset tool exists; without it there are no sets to keep.
  var hasIPSet: Bool
}

enum IPSetSave {
  /// Parses `ipset save`, keeping only sets whose name starts with `prefix`.
  static func parse(_ text: String, prefix: String) -> [String: SavedSet] {
    var sets: [String: SavedSet] = [:]
    for raw in text.split(separator: "\n") {
      let words = raw.split(separator: " ", maxSplits: 2)
      guard words.count >= 2, words[1].hasPrefix(prefix) else { continue }
      let name = String(words[1])
      switch words[0] {
      case "create": sets[name] = SavedSet(name: name, createLine: String(raw), members: [])
      case "add" where words.count == 3: sets[name]?.members.append(String(words[2]))
      default: continue
      }
    }
    return sets
  }

  /// The `-exist`-free create line of `set` under another name.
  static func createLine(_ set: SavedSet, as name: String) -> String {
    "create \(name)" + set.createLine.dropFirst("create \(set.name)".count)
  }

  /// The create line without `initval`, which differs between two otherwise equal sets.
  static func shape(_ line: String) -> String {
    var words = line.split(separator: " ").dropFirst(2).map(String.init)
    if let i = words.firstIndex(of: "initval"), i + 1 < words.count { words.removeSubrange(i...(i + 1)) }
    return words.joined(separator: " ")
  }
}

/// Reading the rules of the filter table as iptables-save prints them.
enum FilterTable {
  /// policyc's chains in declaration order, each with its `-A` lines.
  static func policycChains(_ saved: String) -> [(name: String, rules: [String])] {
    var order: [String] = []
    var rules: [String: [String]] = [:]
    forEachFilterLine(saved) { line in
      if line.hasPrefix(":" + ChainNamer.prefix) {
        let name = String(line.dropFirst().prefix { $0 != " " })
        order.append(name)
        rules[name] = []
      } else if line.hasPrefix("-A " + ChainNamer.prefix) {
        let name = String(line.dropFirst(3).prefix { $0 != " " })
        rules[name, default: []].append(String(line))
      }
    }
    return order.map { ($0, rules[$0] ?? []) }
  }

  /// Rules of other chains that jump or go to a policyc chain (the hooks),
  /// with their chain and 1-based position in it.
  static func hooks(_ saved: String) -> [(chain: String, position: Int, spec: String)] {
    var positions: [String: Int] = [:]
    var out: [(String, Int, String)] = []
    forEachFilterLine(saved) { line in
      guard line.hasPrefix("-A "), !line.hasPrefix("-A " + ChainNamer.prefix) else { return }
      let chain = String(line.dropFirst(3).prefix { $0 != " " })
      positions[chain, default: 0] += 1
      let spec = String(line.dropFirst(3 + chain.count + 1))
      if spec.contains("-j \(ChainNamer.prefix)") || spec.contains("-g \(ChainNamer.prefix)") {
        out.append((chain, positions[chain]!, spec))
      }
    }
    return out
  }

  static func forEachFilterLine(_ saved: String, _ body: (Substring) -> Void) {
    var inFilter = false
    for line in saved.split(separator: "\n", omittingEmptySubsequences: true) {
      if line.hasPrefix("*") {
        inFilter = line == "*filter"
      } else if inFilter, line != "COMMIT", !line.hasPrefix("#") {
        body(line)
      }
    }
  }
}
