/// The cluster-admin tiers of sig-network's AdminNetworkPolicy API
/// (policy.networking.k8s.io/v1alpha1): AdminNetworkPolicy, evaluated before
/// any NetworkPolicy, and the one BaselineAdminNetworkPolicy `default`,
/// evaluated for traffic no NetworkPolicy isolated.
public enum AdminAction: String, Sendable, Hashable, CaseIterable {
  /// Final: allowed whatever NetworkPolicies say.
  case allow = "Allow"
  /// Final: denied whatever NetworkPolicies say.
  case deny = "Deny"
  /// Skips the remaining admin rules; NetworkPolicies (or the baseline) decide.
  case pass = "Pass"
}

public enum AdminTier: Sendable, Hashable, Comparable {
  /// An AdminNetworkPolicy with its priority (0-1000, lower first).
  case admin(priority: Int)
  /// The BaselineAdminNetworkPolicy.
  case baseline

  public static func < (lhs: AdminTier, rhs: AdminTier) -> Bool {
    switch (lhs, rhs) {
    case (.admin(let a), .admin(let b)): return a < b
    case (.admin, .baseline): return true
    default: return false
    }
  }
}

/// Whom a policy applies to: every pod of the matching namespaces, or the
/// matching pods of the matching namespaces.
public struct AdminSubject: Sendable, Hashable {
  public var namespaces: LabelSelector
  /// nil for a `namespaces` subject (every pod).
  public var pods: LabelSelector?

  public init(namespaces: LabelSelector, pods: LabelSelector?) {
    self.namespaces = namespaces
    self.pods = pods
  }
}

/// One rule: its action, and (as a NetworkPolicy rule, so that every
/// consumer matches peers and ports one way) what it matches. Peers lower to
/// selector peers with a namespace selector always present, and to ipBlocks
/// without excepts (`networks`); `namedPort` lowers to one named port entry
/// per protocol; absent `ports` to no entries (all ports).
public struct AdminRule: Sendable, Equatable {
  public var name: String
  public var action: AdminAction
  public var match: PolicyRule

  public init(name: String, action: AdminAction, match: PolicyRule) {
    self.name = name
    self.action = action
    self.match = match
  }

  public var location: SourceLocation { match.location }
}

public struct AdminPolicy: Sendable, Equatable {
  /// Cluster-scoped: `namespace` is empty and not written.
  public var meta: ObjectMeta
  public var tier: AdminTier
  public var subject: AdminSubject
  public var ingress: [AdminRule]
  public var egress: [AdminRule]

  public init(meta: ObjectMeta, tier: AdminTier, subject: AdminSubject, ingress: [AdminRule], egress: [AdminRule]) {
    self.meta = meta
    self.tier = tier
    self.subject = subject
    self.ingress = ingress
    self.egress = egress
  }

  public static let adminKind = "AdminNetworkPolicy"
  public static let baselineKind = "BaselineAdminNetworkPolicy"
  public static let apiVersion = "policy.networking.k8s.io/v1alpha1"
  /// The baseline is a singleton with this name.
  public static let baselineName = "default"

  public var kind: String { tier == .baseline ? Self.baselineKind : Self.adminKind }
  public var ref: ObjectRef { ObjectRef(kind: kind, namespace: nil, name: meta.name) }

  public var priority: Int? {
    if case .admin(let p) = tier { return p }
    return nil
  }

  public func rules(_ direction: PolicyType) -> [AdminRule] {
    direction == .ingress ? ingress : egress
  }

  /// Whether the subject selects a pod, given its namespace's labels.
  public func selects(_ pod: Pod, namespaceLabels: [String: String]) -> Bool {
    subject.namespaces.matches(namespaceLabels) && (subject.pods?.matches(pod.meta.labels) ?? true)
  }

  /// Evaluation order of the admin tier: priority, then name (equal
  /// priorities are undefined by the API; lint reports overlapping ones).
  public static func ordered(_ a: AdminPolicy, _ b: AdminPolicy) -> Bool {
    if a.tier != b.tier { return a.tier < b.tier }
    return a.meta.name < b.meta.name
  }
}
