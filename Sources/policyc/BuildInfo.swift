import PolicyAnalysis

/// What `policyc --version` prints after the name, and what SARIF's
/// `tool.driver.version` carries: `0.2.0 (commit 1a2b3c4d5e6f)`, with
/// ", modified" when tracked files differed from that commit, or
/// `0.2.0 (commit unknown)` for a build outside a git checkout.
/// `BuildCommit` is written at build time by Plugins/BuildInfo.
enum BuildInfo {
  static let version: String = {
    guard let id = BuildCommit.id else { return "\(PolicycVersion.number) (commit unknown)" }
    return "\(PolicycVersion.number) (commit \(id)\(BuildCommit.modified ? ", modified" : ""))"
  }()
}
