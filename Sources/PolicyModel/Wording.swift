/// How messages count things and suggest near names, in one place, so every
/// command says "1 error" and "2 errors" (never "error(s)") and offers the
/// same kind of "did you mean".
public enum Wording {
  /// `count(1, "error")` is "1 error"; `count(2, "policy", "policies")` is
  /// "2 policies".
  public static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
  }

  /// Up to `limit` names, then "and K more": `a, b, c and 4 more`.
  public static func list(_ names: [String], limit: Int = 10) -> String {
    guard names.count > limit else { return names.joined(separator: ", ") }
    return names.prefix(limit).joined(separator: ", ") + " and \(names.count - limit) more"
  }

  /// The candidate nearest to `name`, when it is near enough to be a typo:
  /// at most a third of the name's length in edits (at least one, at most
  /// three), or the same name up to a domain suffix (`node-a` for
  /// `node-a.example.com`). Ties go to the first candidate in sorted order.
  public static func nearest(to name: String, among candidates: some Sequence<String>) -> String? {
    let wanted = Array(name.utf8)
    let budget = min(3, max(1, wanted.count / 3))
    var best: (distance: Int, candidate: String)?
    for candidate in Set(candidates).sorted() where candidate != name {
      if candidate.hasPrefix(name + ".") || name.hasPrefix(candidate + ".") { return candidate }
      let distance = editDistance(wanted, Array(candidate.utf8), limit: budget)
      if distance <= budget, distance < (best?.distance ?? .max) { best = (distance, candidate) }
    }
    return best?.candidate
  }

  /// ` (did you mean "x"?)`, or nothing.
  public static func didYouMean(_ name: String, among candidates: some Sequence<String>) -> String {
    nearest(to: name, among: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
  }

  /// Levenshtein distance, giving up (returning `limit + 1`) once every
  /// path is over `limit`.
  static func editDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
    if abs(a.count - b.count) > limit { return limit + 1 }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...max(1, a.count) where !a.isEmpty {
      current[0] = i
      var rowMin = current[0]
      for j in stride(from: 1, through: b.count, by: 1) {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        rowMin = min(rowMin, current[j])
      }
      if rowMin > limit { return limit + 1 }
      swap(&previous, &current)
    }
    return a.isEmpty ? b.count : previous[b.count]
  }
}
