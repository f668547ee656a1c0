import PolicyModel

/// Pure functions from a connectivity diff to text, one per format.
public enum DiffReporter {
  static func label(_ set: PortSet?) -> String { set?.description ?? "-" }

  /// With replicas that disagree, each answer: `TCP 8080 or none`.
  static func label(_ set: PortSet?, _ answers: [PortSet]) -> String {
    answers.count > 1 ? answers.map(\.description).joined(separator: " or ") : label(set)
  }

  /// `changed`, or `changed (IPv6)` when only that family's answer changed
  /// that way.
  static func kind(_ c: ConnectivityChange) -> String {
    c.kind.rawValue + (c.family.map { " (IPv\($0.rawValue))" } ?? "")
  }

  public static func text(_ diff: ConnectivityDiff) -> String {
    if diff.changes.isEmpty { return "no connectivity change\n" + replicaLines(diff) }
    var out = ""
    for c in diff.changes {
      out +=
        "\(kind(c)): \(c.from) -> \(c.to): \(label(c.before, c.answersBefore)) => \(label(c.after, c.answersAfter))"
      if !c.causes.isEmpty { out += " (by \(c.causes.joined(separator: ", ")))" }
      if c.dependsOnAddress { out += " [address-dependent]" }
      if c.replicasDisagree != nil { out += " [replicas disagree]" }
      out += "\n"
    }
    out += summary(diff) + "\n"
    if diff.changes.contains(where: \.dependsOnAddress) { out += addressNote + "\n" }
    return out + replicaLines(diff)
  }

  /// With `--by workload`: the rule for the ports shown where pod pairs of
  /// two workloads got different answers, each such pair, and replicas that
  /// differ in labels or named ports.
  static func replicaLines(_ diff: ConnectivityDiff) -> String {
    var out = ""
    if diff.changes.contains(where: { $0.replicasDisagree != nil }) { out += replicaNote + "\n" }
    for c in diff.changes {
      guard let text = c.replicasDisagree else { continue }
      out += "replicas disagree: \(c.from) -> \(c.to)\(c.family.map { " (IPv\($0.rawValue))" } ?? ""): \(text)\n"
    }
    for line in diff.disagreements ?? [] { out += "replicas disagree: \(line)\n" }
    return out
  }

  static let replicaNote =
    "replicas disagree: pod pairs of the two workloads get different answers, each shown, joined by \"or\", the most common first"

  /// The rule for pairs whose answer depends on an address a pod lacks.
  static let addressNote =
    "address-dependent: a pod of the pair has no address; ports are given as if no ipBlock matches it, and an address inside an ipBlock of the policies would give others"

  static func summary(_ diff: ConnectivityDiff) -> String {
    let counts = Dictionary(grouping: diff.changes, by: \.kind).mapValues(\.count)
    let parts = [ConnectivityChange.Kind.changed, .added, .removed].map { "\(counts[$0] ?? 0) \($0.rawValue)" }
    return "\(Wording.count(diff.changes.count, "pair")) \(diff.changes.count == 1 ? "differs" : "differ"): "
      + parts.joined(separator: ", ")
      + (diff.changedPolicies.isEmpty ? "" : "; policies changed: " + diff.changedPolicies.joined(separator: ", "))
  }

  /// A pull-request comment: a summary line, then a table capped at `limit`
  /// rows with a count of what was left out.
  public static func markdown(_ diff: ConnectivityDiff, limit: Int = 50) -> String {
    var out = "### policyc: connectivity diff\n\n"
    if diff.changes.isEmpty { return out + "No connectivity change.\n" + replicaMarkdown(diff) }
    out += "**\(summary(diff))**\n\n| change | from | to | before | after | caused by |\n|---|---|---|---|---|---|\n"
    for c in diff.changes.prefix(limit) {
      let kind =
        kind(c) + (c.dependsOnAddress ? " (address-dependent)" : "")
        + (c.replicasDisagree != nil ? " (replicas disagree)" : "")
      let cells = [
        kind, c.from, c.to, label(c.before, c.answersBefore), label(c.after, c.answersAfter),
        c.causes.joined(separator: ", "),
      ]
      out += "| " + cells.map { "`\(escape($0))`" }.map { $0 == "``" ? "" : $0 }.joined(separator: " | ") + " |\n"
    }
    if diff.changes.count > limit {
      out +=
        "\n… and \(diff.changes.count - limit) more \(diff.changes.count - limit == 1 ? "pair" : "pairs") not shown.\n"
    }
    if diff.changes.contains(where: \.dependsOnAddress) { out += "\n" + addressNote + ".\n" }
    return out + replicaMarkdown(diff)
  }

  /// The replica notes as a list under the table.
  static func replicaMarkdown(_ diff: ConnectivityDiff) -> String {
    let lines = replicaLines(diff).split(separator: "\n")
    guard !lines.isEmpty else { return "" }
    return "\n" + lines.map { "- \(escape(String($0)))\n" }.joined()
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences("|", "\\|").replacingOccurrences("`", "'")
  }

  /// Version 1: `{"changes":[{"after","before","causes","from","kind","to"}],
  /// "summary":{...},"version":1}`, keys sorted.
  public static func json(_ diff: ConnectivityDiff) -> String {
    let changes = diff.changes.map { c in
      (c.dependsOnAddress ? "{\"addressDependent\":true," : "{")
        + "\"after\":\(c.after.map { JSON.string($0.description) } ?? "null"),\"before\":\(c.before.map { JSON.string($0.description) } ?? "null"),\"causes\":[\(c.causes.map(JSON.string).joined(separator: ","))],\(c.family.map { "\"family\":\"ipv\($0.rawValue)\"," } ?? "")\"from\":\(JSON.string(c.from)),\"kind\":\(JSON.string(c.kind.rawValue)),\(c.replicasDisagree.map { "\"replicasDisagree\":\(JSON.string($0))," } ?? "")\"to\":\(JSON.string(c.to))}"
    }
    let counts = Dictionary(grouping: diff.changes, by: \.kind).mapValues(\.count)
    // With `--by workload`, how replicas differ: sorted between the two.
    let disagreements = diff.disagreements.map {
      ",\"disagreements\":[" + $0.map(JSON.string).joined(separator: ",") + "]"
    }
    return "{\"changes\":[" + changes.joined(separator: ",") + "]" + (disagreements ?? "")
      + ",\"summary\":{\"added\":\(counts[.added] ?? 0),\"changed\":\(counts[.changed] ?? 0),\"changedPolicies\":[\(diff.changedPolicies.map(JSON.string).joined(separator: ","))],\"endpointsAfter\":\(diff.endpointsAfter),\"endpointsBefore\":\(diff.endpointsBefore),\"removed\":\(counts[.removed] ?? 0)},\"version\":1}\n"
  }
}

extension String {
  func replacingOccurrences(_ target: String, _ replacement: String) -> String {
    split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
  }
}
