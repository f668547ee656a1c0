/// Paths as reports show them to tools that know only the repository:
/// relative to the directory lint ran in, never absolute.
public enum ReportPaths {
  /// `path` relative to `base` (an absolute directory), normalised:
  /// `./a/../b.yaml` is `b.yaml`; a file outside `base` gets `../` steps.
  public static func relative(_ path: String, to base: String?) -> String {
    var parts = components(path)
    if path.hasPrefix("/") {
      let baseParts = base.map(components) ?? []
      var common = 0
      while common < baseParts.count, common < parts.count, baseParts[common] == parts[common] {
        common += 1
      }
      parts = Array(repeating: "..", count: baseParts.count - common) + parts[common...]
    }
    return parts.isEmpty ? "." : parts.joined(separator: "/")
  }

  /// Splits on `/`, dropping empty and `.` parts and folding `x/..`.
  static func components(_ path: String) -> [String] {
    var out: [String] = []
    for part in path.split(separator: "/") where part != "." {
      if part == "..", let last = out.last, last != ".." {
        out.removeLast()
      } else {
        out.append(String(part))
      }
    }
    return out
  }

  /// A relative URI reference for `path`: every byte but unreserved
  /// characters, `/` and a few safe sub-delimiters percent-encoded (`:` too,
  /// so no first segment reads as a scheme).
  public static func uri(_ relativePath: String) -> String {
    let safe = Set(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/!$&'()*+;=@".utf8)
    var out = ""
    for byte in relativePath.utf8 {
      if safe.contains(byte) {
        out.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        let hex = String(byte, radix: 16, uppercase: true)
        out += "%" + (hex.count == 1 ? "0" + hex : hex)
      }
    }
    return out
  }
}

/// Stable identities for findings, for tools that track them across runs
/// (GitHub code scanning's `partialFingerprints`, baselines of JSON output).
public enum Fingerprints {
  /// A hash of rule id, path, object identity and field path, never the line,
  /// so editing lines above a finding keeps its identity; findings sharing
  /// all four are told apart by `:2`, `:3`, ... in output order.
  public static func compute(_ findings: [Finding], base: String?) -> [String] {
    var seen: [String: Int] = [:]
    return findings.map { finding in
      let object = finding.object.map { "\($0.kind)/\($0.namespace ?? "")/\($0.name)" } ?? ""
      let key = [
        finding.ruleID, ReportPaths.relative(finding.location.file, to: base), object,
        finding.fieldPath,
      ]
      .joined(separator: "\u{0}")
      let hash =
        hex(fnv1a(key, basis: 0xcbf2_9ce4_8422_2325))
        + hex(fnv1a(key, basis: 0x8422_2325_cbf2_9ce4))
      seen[hash, default: 0] += 1
      return "\(hash):\(seen[hash]!)"
    }
  }

  /// FNV-1a, 64 bits: small, stable across platforms and runs (unlike
  /// Swift's per-process seeded `Hasher`).
  static func fnv1a(_ text: String, basis: UInt64) -> UInt64 {
    var hash = basis
    for byte in text.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    return hash
  }

  static func hex(_ n: UInt64) -> String {
    let digits = String(n, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }
}
