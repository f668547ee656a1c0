public import PolicyModel

/// Runs every rule over the inputs: decode, check, attach object identity,
/// apply suppressions and configuration, sort.
public enum LintEngine {
  public static func run(_ sources: [InputSource], options: LintOptions = LintOptions())
    -> LintResult
  {
    let inventory = Loader.load(sources, options: options.load)
    let index = SourceIndex(sources: sources, options: options.load)
    let context = LintContext(inventory: inventory, index: index, options: options)
    var findings: [Finding] = []
    var configured: [ConfiguredRule] = []
    for rule in LintRules.all {
      let severity = options.config.severity(of: rule.description)
      configured.append(ConfiguredRule(description: rule.description, severity: severity))
      guard let severity else { continue }
      findings += rule.check(context).map {
        var finding = $0
        finding.severity = severity
        return finding
      }
    }
    findings += UndescribedDiagnostics.findings(
      context, known: Set(LintRules.all.map(\.description.id)))
    findings = findings.map { attachObject($0, index: index) }
    let (kept, suppressed) = Suppression.apply(findings, index: index)
    let sorted = kept.sorted(by: Finding.ordered)
    let objects = objectCount(inventory)
    let summary = LintSummary(
      files: sources.count, objects: objects, errors: sorted.count { $0.severity == .error },
      warnings: sorted.count { $0.severity == .warning },
      notes: sorted.count { $0.severity == .note },
      suppressed: suppressed)
    return LintResult(findings: sorted, summary: summary, rules: configured)
  }

  /// Names the object a finding lies in when its rule did not, and the Helm
  /// template the object was rendered from.
  static func attachObject(_ finding: Finding, index: SourceIndex) -> Finding {
    let file = finding.location.file
    guard finding.object == nil || index.mentions(file, "# Source: ") else { return finding }
    var out = finding
    let object = index.object(in: file, containing: finding.location.span.start)
    if out.object == nil { out.object = object?.ref }
    out.helmSource = object?.helmSource
    return out
  }

  /// Objects read: those decoded, plus those the loader dropped for errors
  /// after reading their identity.
  static func objectCount(_ inventory: Inventory) -> Int {
    var decoded = Set(inventory.policies.map(\.ref) + inventory.adminPolicies.map(\.ref))
    for pod in inventory.pods + inventory.workloads {
      decoded.insert(
        ObjectRef(
          kind: pod.workloadKind ?? "Pod", namespace: pod.meta.namespace, name: pod.meta.name))
    }
    for namespace in inventory.namespaces {
      decoded.insert(ObjectRef(kind: "Namespace", namespace: nil, name: namespace.name))
    }
    let dropped = Set(inventory.diagnostics.compactMap(\.object)).subtracting(decoded)
    return inventory.namespaces.count + inventory.pods.count + inventory.policies.count + inventory.adminPolicies.count
      + inventory.workloads.count
      + inventory.skipped.count + dropped.count
  }
}
