public import PolicyModel

/// How lint reads its inputs.
public struct LintOptions: Sendable {
  public var load: LoadOptions
  public var config: LintConfig
  /// The PATH arguments as given, to name something when they hold no file.
  public var inputPaths: [String]

  public init(
    load: LoadOptions = LoadOptions(), config: LintConfig = LintConfig(), inputPaths: [String] = []
  ) {
    self.load = load
    self.config = config
    self.inputPaths = inputPaths
  }
}

/// Everything a rule may look at: the decoded objects, the pods and
/// workloads selectors resolve against, and the YAML they came from.
/// Indexed once, so rules stay near linear on cluster dumps with thousands
/// of pods and policies.
public struct LintContext: Sendable {
  let inventory: Inventory
  let index: SourceIndex
  let options: LintOptions
  /// Pods and workload pod templates a selector can pick, by namespace: not
  /// host-network, not finished. Addresses are not needed, so manifests
  /// without status count.
  let candidates: [String: [Pod]]
  /// Host-network and finished pods: in the inputs, but no policy applies to them.
  let bystanders: [String: [Pod]]
  /// Namespaces the inputs hold pods or workloads of.
  let heldNamespaces: Set<String>
  /// Whether the inputs hold any pod or workload at all; rules about what
  /// selectors pick stay silent without them.
  let hasPods: Bool
  /// Namespace labels, `kubernetes.io/metadata.name` included, for every
  /// namespace written or mentioned.
  let namespaceLabels: [String: [String: String]]
  /// Namespaces each namespaceSelector of the policies picks, by canonical text.
  let selectedNamespaces: [String: [String]]
  /// Pods that take part and have addresses (the node's view), by address.
  let addresses: AddressIndex

  init(inventory: Inventory, index: SourceIndex, options: LintOptions) {
    self.inventory = inventory
    self.index = index
    self.options = options
    let all = inventory.pods + inventory.workloads
    hasPods = !all.isEmpty
    let takesPart = { (pod: Pod) in
      !pod.hostNetwork && pod.phase != "Succeeded" && pod.phase != "Failed"
    }
    candidates = Dictionary(grouping: all.filter(takesPart), by: \.meta.namespace)
    bystanders = Dictionary(grouping: all.filter { !takesPart($0) }, by: \.meta.namespace)
    heldNamespaces = Set(all.map(\.meta.namespace))
    let labels = Cluster(namespaces: inventory.namespaces, pods: all, policies: inventory.policies)
      .namespaceLabels
    namespaceLabels = labels
    var selected: [String: [String]] = [:]
    for policy in inventory.policies {
      for rule in policy.ingress + policy.egress {
        for peer in rule.peers {
          guard case .selectors(_, let ns?) = peer.kind, selected[ns.canonicalText] == nil else {
            continue
          }
          selected[ns.canonicalText] = labels.keys.filter { ns.matches(labels[$0]!) }.sorted()
        }
      }
    }
    selectedNamespaces = selected
    addresses = AddressIndex(Cluster(inventory).pods)
  }

  /// Every candidate pod (sorted by namespace, then as the inventory sorts them).
  var allCandidates: [Pod] { candidates.keys.sorted().flatMap { candidates[$0]! } }

  /// Pods a policy's podSelector picks (its own namespace only).
  func targets(of policy: NetworkPolicy, among pods: [String: [Pod]]? = nil) -> [Pod] {
    ((pods ?? candidates)[policy.meta.namespace] ?? []).filter {
      policy.podSelector.matches($0.meta.labels)
    }
  }

  /// Namespaces (sorted) a namespaceSelector picks.
  func namespaces(matching selector: LabelSelector) -> [String] {
    selectedNamespaces[selector.canonicalText]
      ?? namespaceLabels.keys.filter { selector.matches(namespaceLabels[$0]!) }.sorted()
  }

  /// Pods a selector peer picks: only podSelector = the policy's namespace;
  /// with a namespaceSelector, pods INSIDE the matching namespaces.
  func peerPods(
    pods: LabelSelector?, namespaces: LabelSelector?, policy: NetworkPolicy,
    among: [String: [Pod]]? = nil
  ) -> [Pod] {
    let names = namespaces.map { self.namespaces(matching: $0) } ?? [policy.meta.namespace]
    let pool = among ?? candidates
    return names.flatMap { pool[$0] ?? [] }.filter { pods?.matches($0.meta.labels) ?? true }
  }

  /// Whether a selector peer picks any pod (for which `test` holds), without
  /// listing them all: a `namespaceSelector: {}` peer picks every pod.
  func peerPicksAny(
    pods: LabelSelector?, namespaces: LabelSelector?, policy: NetworkPolicy,
    where test: (Pod) -> Bool = { _ in true }
  ) -> Bool {
    let names = namespaces.map { self.namespaces(matching: $0) } ?? [policy.meta.namespace]
    return names.contains {
      (candidates[$0] ?? []).contains { (pods?.matches($0.meta.labels) ?? true) && test($0) }
    }
  }

  /// Where a field of a decoded object stands: the value at `path`, or its
  /// key when `key` is set; the object itself when the path is not found.
  func location(of meta: ObjectMeta, _ path: String, key: Bool = false) -> SourceLocation {
    guard let object = index.object(at: meta.location) else { return meta.location }
    let found = index.node(object, path: path)
    let node = key ? (found.key ?? found.value) : found.value
    return SourceLocation(file: meta.location.file, span: node.span)
  }

  /// The YAML text of a field, for messages that quote what the user wrote.
  func text(of meta: ObjectMeta, _ path: String) -> String? {
    guard let object = index.object(at: meta.location) else { return nil }
    return index.node(object, path: path).value.scalarText
  }

  /// A finding about a field of a policy, at the rule's default severity.
  func finding(
    _ rule: RuleDescription, _ message: String, policy: NetworkPolicy, path: String,
    key: Bool = false
  ) -> Finding {
    Finding(
      ruleID: rule.id, severity: rule.severity, message: message,
      location: location(of: policy.meta, path, key: key),
      fieldPath: path, object: policy.ref)
  }
}

extension Pod {
  /// `namespace/name`, or `namespace/Deployment/name` for a workload.
  var lintName: String { AnalysisEndpoint.name(of: self) }
}
