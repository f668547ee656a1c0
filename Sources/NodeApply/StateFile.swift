import Foundation

/// The state file: read, written whole or not at all, removed.
public enum StateFile {
  /// The default path of one family's state.
  public static func defaultPath(ipv6: Bool) -> String {
    ipv6 ? "/var/lib/policyc/apply6.state" : "/var/lib/policyc/apply.state"
  }

  /// The state file of one family: `given` (with `.ipv6` added for IPv6
  /// unless IPv6 is `alone`, the only family applied), or the default.
  public static func path(_ given: String?, ipv6: Bool, alone: Bool) -> String {
    guard let given else { return defaultPath(ipv6: ipv6) }
    return ipv6 && !alone ? given + ".ipv6" : given
  }

  /// Every state file apply may have written for `given` (one family
  /// alone, or both): what a removal deletes.
  public static func allPaths(_ given: String?) -> [String] {
    Set([
      path(given, ipv6: false, alone: false), path(given, ipv6: true, alone: false),
      path(given, ipv6: true, alone: true),
    ])
    .sorted()
  }

  /// The state at `path`; nil when missing or malformed (a full load follows).
  public static func read(_ path: String) -> ApplyState? {
    (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(ApplyState.init(text:))
  }

  /// Writes `state` to a temporary file beside `path` and renames it into
  /// place (creating the folder), so a reader sees the old file or the new one.
  public static func write(_ state: ApplyState, to path: String) throws(ApplyError) {
    try AtomicFile.write(state.bytes, to: path)
  }

  /// Deletes the file at `path`; true when there was one.
  static func remove(_ path: String) -> Bool {
    unlink(path) == 0
  }
}
