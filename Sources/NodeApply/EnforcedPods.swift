import Foundation
import IptablesEmitter
import RuleModel

/// Which pods a node enforces: those its dispatch sends to a per-pod
/// chain. Read from the kernel's own listing, so it works without a state
/// file and for rules another policyc version loaded.
public enum EnforcedPods {
  /// From `iptables-save` text (or a restore file): the `ns/pod` comments
  /// of the rules in POLICYC-INGRESS and POLICYC-EGRESS.
  public static func iptables(_ saved: String) -> Set<String> {
    var pods = Set<String>()
    for line in saved.split(separator: "\n")
    where line.hasPrefix("-A \(ChainNamer.prefix)INGRESS ") || line.hasPrefix("-A \(ChainNamer.prefix)EGRESS ") {
      if let pod = comment(line) { pods.insert(pod) }
    }
    return pods
  }

  /// From `nft list table inet policyc` (or a compiled nft file): the
  /// per-pod chains the dispatch maps go to, named by their deny comment
  /// (`deny ingress ns/pod`, `admin deny egress ns/pod`...). A pod's chains
  /// carry the same name in both families (`v4-IP-X`, `v6-IP-X`), so a
  /// dual-stack pod counts once; a chain without such a comment is named by
  /// its address.
  public static func nft(_ listing: String) -> Set<String> {
    var chain = ""
    var targets: [(address: String, chain: String)] = []
    var owners: [String: String] = [:]
    for raw in listing.split(separator: "\n") {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("chain "), line.hasSuffix("{") {
        chain = String(line.dropFirst(6).prefix { $0 != " " }.dropFirst(3))
        continue
      }
      if chain == "INGRESS" || chain == "EGRESS" {
        targets += dispatch(line).map { ($0.0, String($0.1.dropFirst(3))) }
      } else if owners[chain] == nil, let text = comment(Substring(line)) {
        let words = text.split(separator: " ")
        if words.count >= 3, words.contains("deny"), ["ingress", "egress"].contains(words[words.count - 2]),
          words[words.count - 1].contains("/")
        {
          owners[chain] = String(words[words.count - 1])
        }
      }
    }
    var seen = Set<String>()
    var pods = Set<String>()
    for target in targets where seen.insert(target.chain).inserted {
      pods.insert(owners[target.chain] ?? target.address)
    }
    return pods
  }

  /// `ADDRESS : goto CHAIN` pairs of a verdict map line.
  static func dispatch(_ line: String) -> [(String, String)] {
    let words = line.replacingOccurrences(of: ",", with: " ").replacingOccurrences(of: "{", with: " ")
      .replacingOccurrences(of: "}", with: " ").split(separator: " ").map(String.init)
    var out: [(String, String)] = []
    var i = 0
    while i + 3 < words.count {
      if words[i + 1] == ":", words[i + 2] == "goto" || words[i + 2] == "jump" {
        out.append((words[i], words[i + 3]))
        i += 4
      } else {
        i += 1
      }
    }
    return out
  }

  /// The text of `--comment X`, `--comment "X Y"` or `comment "X Y"`.
  static func comment(_ line: Substring) -> String? {
    guard let range = line.range(of: "--comment ") ?? line.range(of: "comment ") else { return nil }
    let rest = line[range.upperBound...]
    if rest.first == "\"" {
      return String(rest.dropFirst().prefix { $0 != "\"" })
    }
    return String(rest.prefix { $0 != " " })
  }
}

/// An apply that would leave more than half of the enforced pods without
/// their chains: refused unless forced, since a broken input (an empty or
/// partial dump, a wrong --node) looks exactly like this.
public struct EnforcementDrop: Sendable, Equatable {
  /// Pods enforced now.
  public var enforced: Int
  /// Those the apply would leave unenforced, sorted.
  public var losing: [String]

  /// nil unless more than half of a non-empty `before` would be lost.
  public init?(before: Set<String>, after: Set<String>) {
    let losing = before.subtracting(after).sorted()
    guard !before.isEmpty, losing.count * 2 > before.count else { return nil }
    self.enforced = before.count
    self.losing = losing
  }

  /// `x/a, x/b, ... and K more` (ten names at most).
  public var names: String {
    let shown = losing.prefix(10).joined(separator: ", ")
    return losing.count > 10 ? shown + " and \(losing.count - 10) more" : shown
  }

  public var message: String {
    "this apply would remove enforcement from \(losing.count) of the \(enforced) pods enforced on this node (more than half): \(names); nothing changed (if this is intended, apply again with --force)"
  }
}
