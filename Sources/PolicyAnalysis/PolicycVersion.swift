/// policyc's release number, the one place it is written.
///
/// The git commit a binary was built from is added by the policyc target
/// (`policyc --version`); reports that name the tool, such as SARIF's
/// `tool.driver`, carry the same. Compiled rules and nft files never do: two
/// versions' outputs must diff cleanly.
public enum PolicycVersion {
  public static let number = "0.2.0"
}
