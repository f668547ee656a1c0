/// The apimachinery string checks (IsDNS1123Label, IsQualifiedName, ...),
/// returning the API server's complaint or nil.
public enum NameRules {
  static func isAlnum(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)
  }
  static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) }

  /// RFC 1123 label: lowercase alphanumerics and '-', alphanumeric at both ends, at most 63.
  public static func dns1123Label(_ s: String) -> String? {
    let b = Array(s.utf8)
    if b.isEmpty { return "must not be empty" }
    if b.count > 63 { return "must be no more than 63 characters" }
    let ok = isLowerAlnum(b.first!) && isLowerAlnum(b.last!) && b.allSatisfy { isLowerAlnum($0) || $0 == 0x2d }
    return ok
      ? nil
      : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
  }

  /// RFC 1123 subdomain: dot-separated labels, at most 253.
  public static func dns1123Subdomain(_ s: String) -> String? {
    let b = Array(s.utf8)
    if b.isEmpty { return "must not be empty" }
    if b.count > 253 { return "must be no more than 253 characters" }
    let ok =
      isLowerAlnum(b.first!) && isLowerAlnum(b.last!)
      && b.allSatisfy { isLowerAlnum($0) || $0 == 0x2d || $0 == 0x2e }
      && !zip(b, b.dropFirst()).contains { pair in
        pair.0 == 0x2e && (pair.1 == 0x2e || pair.1 == 0x2d) || pair.0 == 0x2d && pair.1 == 0x2e
      }
    return ok
      ? nil
      : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
  }

  /// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters.
  static func qualifiedNamePart(_ b: ArraySlice<UInt8>) -> Bool {
    guard let first = b.first, let last = b.last, b.count <= 63 else { return false }
    return isAlnum(first) && isAlnum(last) && b.allSatisfy { isAlnum($0) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e }
  }

  /// A label or annotation key: optional DNS subdomain prefix, '/', name.
  public static func qualifiedName(_ s: String) -> String? {
    let b = Array(s.utf8)
    if b.isEmpty { return "name part must be non-empty" }
    let parts = b.split(separator: 0x2f, omittingEmptySubsequences: false)
    var name = parts[0]
    if parts.count == 2 {
      let prefix = String(decoding: parts[0], as: UTF8.self)
      if prefix.isEmpty { return "prefix part must be non-empty" }
      if let problem = dns1123Subdomain(prefix) { return "prefix part \(problem)" }
      name = parts[1]
    } else if parts.count > 2 {
      return
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'"
    }
    if name.isEmpty { return "name part must be non-empty" }
    if name.count > 63 { return "name part must be no more than 63 characters" }
    return qualifiedNamePart(name)
      ? nil
      : "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  }

  /// A label value: empty, or at most 63 of `[-A-Za-z0-9_.]` with alphanumeric ends.
  public static func labelValue(_ s: String) -> String? {
    let b = Array(s.utf8)
    if b.isEmpty { return nil }
    if b.count > 63 { return "must be no more than 63 characters" }
    return qualifiedNamePart(b[...])
      ? nil
      : "a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  }

  /// IANA_SVC_NAME: 1-15 of lowercase alphanumerics and '-', at least one
  /// letter, no leading, trailing or double '-'.
  public static func portName(_ s: String) -> String? {
    let b = Array(s.utf8)
    if b.count > 15 { return "must be no more than 15 characters" }
    if b.isEmpty {
      return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), and at least one letter"
    }
    if !b.allSatisfy({ isLowerAlnum($0) || $0 == 0x2d }) {
      return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    }
    // Bytes, not `String.contains`, which Foundation answers through NSString.
    if zip(b, b.dropFirst()).contains(where: { $0 == 0x2d && $1 == 0x2d }) {
      return "must not contain consecutive hyphens"
    }
    if !b.contains(where: { $0 >= 0x61 && $0 <= 0x7a }) { return "must contain at least one letter (a-z)" }
    if b.first == 0x2d || b.last == 0x2d { return "must not begin or end with a hyphen" }
    return nil
  }
}
