import PolicyModel
import YAMLBridge

/// Inputs that hold no Kubernetes object at all: usually a wrong path or an
/// empty pipe, which would otherwise pass as "no problems".
struct NoObjects: LintRule {
  let description = RuleDescription(
    id: "no-objects", title: "no Kubernetes objects in the input",
    rationale: """
      Nothing was checked: the files are empty or hold only comments, or the directory holds no \
      .yaml, .yml or .json file. Check the path (or the command that fed standard input).
      """,
    severity: .warning,
    triggering: ["↓# Source: chart/templates/empty.yaml\n---\n"],
    nonTriggering: ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"])

  func check(_ context: LintContext) -> [Finding] {
    let inventory = context.inventory
    let objects =
      inventory.namespaces.count + inventory.pods.count + inventory.policies.count
      + inventory.workloads.count + inventory.adminPolicies.count
      + inventory.skipped.count
    guard objects == 0, inventory.diagnostics.isEmpty else { return [] }
    let file = context.index.files.min() ?? context.options.inputPaths.min() ?? "-"
    return [
      Finding(
        ruleID: description.id, severity: description.severity,
        message: "no Kubernetes objects in the input",
        location: SourceLocation(file: file, mark: Mark(line: 1, column: 1)))
    ]
  }
}

/// A kind lint checks, under an apiVersion it does not read: silently
/// skipped otherwise, so a user would believe it was checked.
struct UnsupportedAPIVersion: LintRule {
  static let versions: [String: String] = [
    "NetworkPolicy": "networking.k8s.io/v1", "Pod": "v1", "Namespace": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1",
    "CronJob": "batch/v1", "ReplicationController": "v1",
    "AdminNetworkPolicy": "policy.networking.k8s.io/v1alpha1",
    "BaselineAdminNetworkPolicy": "policy.networking.k8s.io/v1alpha1",
  ]

  let description = RuleDescription(
    id: "unsupported-api-version", title: "checked kind under an unsupported apiVersion",
    rationale: """
      Old API versions such as `extensions/v1beta1` NetworkPolicies are no longer served by the \
      API server, and policyc does not read them, so nothing in the object was checked. Move it to \
      the current version (networking.k8s.io/v1 for NetworkPolicy, apps/v1 for Deployments).
      """,
    severity: .warning,
    triggering: [
      "apiVersion: ↓apps/v1beta2\nkind: Deployment\nmetadata:\n  name: web\n",
      "apiVersion: ↓extensions/v1beta1\nkind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n  podSelector: {}\n",
    ],
    nonTriggering: [
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n  podSelector: {}\n",
      // Calico's NetworkPolicy is another API that happens to share the kind.
      "apiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n  selector: all()\n",
    ])

  /// API groups of the kinds above; a kind of the same name in another group
  /// (Calico's `crd.projectcalico.org` NetworkPolicy) is another API.
  static let builtInGroups: Set<String> = [
    "", "extensions", "networking.k8s.io", "apps", "batch", "policy.networking.k8s.io",
  ]

  func check(_ context: LintContext) -> [Finding] {
    context.inventory.skipped.compactMap { skipped in
      guard let expected = Self.versions[skipped.kind] else { return nil }
      let group = skipped.apiVersion.split(separator: "/", omittingEmptySubsequences: false)
        .dropLast().joined(separator: "/")
      guard Self.builtInGroups.contains(group) else { return nil }
      let object = context.index.object(at: skipped.location)
      let node = object.map { context.index.node($0, path: "apiVersion").value }
      let shown =
        skipped.apiVersion.isEmpty ? "no apiVersion" : "apiVersion \"\(skipped.apiVersion)\""
      return Finding(
        ruleID: description.id, severity: description.severity,
        message: "\(skipped.kind) with \(shown) is not checked; policyc reads \(expected)",
        location: node.map { SourceLocation(file: skipped.location.file, span: $0.span) }
          ?? skipped.location,
        fieldPath: "apiVersion")
    }
  }
}
