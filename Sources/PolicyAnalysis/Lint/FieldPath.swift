/// Field paths as the loader writes them (`spec.ingress[0].from[1]`,
/// `metadata.annotations["policyc.io/ignore"]`), read back into steps.
extension SourceIndex {
  enum Component: Equatable {
    case key(String)
    case index(Int)
  }

  /// Splits `spec.ingress[0].from[1]` and `metadata.labels["a/b"]` (the
  /// loader's notation) into keys and indices.
  static func components(_ path: String) -> [Component] {
    var out: [Component] = []
    var chars = Array(path)[...]
    var word = ""
    func flush() {
      if !word.isEmpty { out.append(.key(word)) }
      word = ""
    }
    while let c = chars.popFirst() {
      switch c {
      case ".": flush()
      case "[":
        flush()
        if chars.first == "\"" {
          chars = chars.dropFirst()
          var quoted = ""
          while let q = chars.popFirst(), q != "\"" {
            if q == "\\", let next = chars.popFirst() {
              quoted.append(next)
            } else {
              quoted.append(q)
            }
          }
          out.append(.key(quoted))
          if chars.first == "]" { chars = chars.dropFirst() }
        } else {
          let digits = chars.prefix { $0 != "]" }
          chars = chars.dropFirst(digits.count + 1)
          out.append(.index(Int(String(digits)) ?? 0))
        }
      default: word.append(c)
      }
    }
    flush()
    return out
  }
}
