/// The defaults the API server applies before any controller sees an object,
/// in one place so every consumer of raw YAML sees the same objects.
public enum Defaults {
  /// "A missing `metadata.namespace` means `default`".
  public static let namespace = "default"

  /// "A port entry without `protocol` is TCP."
  public static let portProtocol = NetProtocol.tcp

  /// SetDefaults_NetworkPolicy: "if len(spec.PolicyTypes) == 0", Ingress, plus
  /// Egress "if len(spec.Egress) != 0". So `policyTypes: []` is defaulted too,
  /// and `egress: []` does not add Egress. A non-empty list is kept as written.
  public static func policyTypes(written: [PolicyType]?, egressRuleCount: Int) -> [PolicyType] {
    if let written, !written.isEmpty { return written }
    return egressRuleCount > 0 ? [.ingress, .egress] : [.ingress]
  }
}
