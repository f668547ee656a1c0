/// The metadata policyc uses, with the location of the object it came from.
public struct ObjectMeta: Sendable, Equatable {
  public var name: String
  /// After defaulting: the written namespace, the `--namespace` flag, or `default`.
  public var namespace: String
  public var namespaceWritten: Bool
  public var labels: [String: String]
  public var annotations: [String: String]
  /// Where the object starts (its first key).
  public var location: SourceLocation
  /// `metadata.ownerReferences`, kind, name and controller only: what
  /// grouping pods by workload needs.
  public var owners: [OwnerReference]

  public init(
    name: String, namespace: String, namespaceWritten: Bool = true, labels: [String: String] = [:],
    annotations: [String: String] = [:], location: SourceLocation, owners: [OwnerReference] = []
  ) {
    self.name = name
    self.namespace = namespace
    self.namespaceWritten = namespaceWritten
    self.labels = labels
    self.annotations = annotations
    self.location = location
    self.owners = owners
  }
}

/// One entry of `metadata.ownerReferences`: the object (of the same
/// namespace) that owns this one, such as the ReplicaSet of a pod.
public struct OwnerReference: Sendable, Hashable {
  public var kind: String
  public var name: String
  /// "If true, this reference points to the managing controller."
  public var controller: Bool

  public init(kind: String, name: String, controller: Bool = false) {
    self.kind = kind
    self.name = name
    self.controller = controller
  }
}

public struct Namespace: Sendable {
  public var name: String
  /// Labels as written plus `kubernetes.io/metadata.name`, which the API
  /// server always sets.
  public var labels: [String: String]
  public var location: SourceLocation?

  public init(name: String, labels: [String: String], location: SourceLocation?) {
    self.name = name
    var all = labels
    all[Namespace.nameLabel] = name
    self.labels = all
    self.location = location
  }

  public static let nameLabel = "kubernetes.io/metadata.name"
}

public enum NetProtocol: String, Sendable, Hashable, Comparable, CaseIterable {
  case tcp = "TCP", udp = "UDP", sctp = "SCTP"

  public static func < (lhs: NetProtocol, rhs: NetProtocol) -> Bool { lhs.rawValue < rhs.rawValue }

  /// The name iptables and ipset use.
  public var lowercased: String { rawValue.lowercased() }
}

public struct ContainerPort: Sendable, Hashable {
  public var name: String?
  public var number: Int
  public var proto: NetProtocol

  public init(name: String?, number: Int, proto: NetProtocol) {
    self.name = name
    self.number = number
    self.proto = proto
  }
}

public struct Pod: Sendable {
  public var meta: ObjectMeta
  public var nodeName: String?
  public var hostNetwork: Bool
  public var phase: String?
  /// `status.podIPs`, or `status.podIP` when the list is absent.
  public var ips: [IPAddress]
  /// Ports of regular containers and of sidecars (init containers with
  /// `restartPolicy: Always`); plain init containers' ports do not count.
  public var ports: [ContainerPort]
  /// For a pod template of a workload (Deployment, Job, ...): the workload's
  /// kind. Such a stand-in has no address but takes part in selector-based
  /// analysis (lint, diff, matrix) when the inputs hold no real pods.
  public var workloadKind: String?

  public init(
    meta: ObjectMeta, nodeName: String?, hostNetwork: Bool = false, phase: String?, ips: [IPAddress],
    ports: [ContainerPort], workloadKind: String? = nil
  ) {
    self.workloadKind = workloadKind
    self.meta = meta
    self.nodeName = nodeName
    self.hostNetwork = hostNetwork
    self.phase = phase
    self.ips = ips
    self.ports = ports
  }

  /// The pod's address of one family: the first of status.podIPs, which
  /// is the one rules and peer sets use.
  public func address(_ family: IPAddress.Family) -> IPAddress? { ips.first { $0.family == family } }

  /// "Pods that take no part at all": host-network pods, pods without an IP,
  /// and finished pods are neither targets nor peers.
  public var participates: Bool {
    if workloadKind != nil { return !hostNetwork }
    return !hostNetwork && !ips.isEmpty && phase != "Succeeded" && phase != "Failed"
  }

  /// Every number a named port resolves to on this pod ("name AND protocol
  /// must match"). The API allows one name in several containers; each such
  /// port counts, as Calico resolves them.
  public func numbers(forPortName portName: String, proto: NetProtocol) -> [Int] {
    ports.filter { $0.name == portName && $0.proto == proto }.map(\.number)
  }

  /// Whether the pod defines the name with that protocol, and one number it
  /// resolves to (see `numbers(forPortName:proto:)` for matching).
  public func resolve(portName: String, proto: NetProtocol) -> Int? {
    numbers(forPortName: portName, proto: proto).first
  }
}

public enum PolicyType: String, Sendable, Hashable, CaseIterable, Comparable {
  case ingress = "Ingress", egress = "Egress"
  public static func < (lhs: PolicyType, rhs: PolicyType) -> Bool { lhs.rawValue < rhs.rawValue }
}

public enum SelectorOperator: String, Sendable, Hashable {
  case `in` = "In", notIn = "NotIn", exists = "Exists", doesNotExist = "DoesNotExist"
}

public struct SelectorRequirement: Sendable, Hashable {
  public var key: String
  public var op: SelectorOperator
  public var values: [String]

  public init(key: String, op: SelectorOperator, values: [String]) {
    self.key = key
    self.op = op
    self.values = values
  }
}

/// A metav1.LabelSelector: every matchLabels pair and every expression must hold.
public struct LabelSelector: Sendable, Hashable {
  public var matchLabels: [String: String]
  public var expressions: [SelectorRequirement]

  public init(matchLabels: [String: String] = [:], expressions: [SelectorRequirement] = []) {
    self.matchLabels = matchLabels
    self.expressions = expressions
  }

  public static let everything = LabelSelector()
  public var isEmpty: Bool { matchLabels.isEmpty && expressions.isEmpty }
}

public struct IPBlock: Sendable, Hashable {
  public var cidr: CIDR
  public var except: [CIDR]

  public init(cidr: CIDR, except: [CIDR]) {
    self.cidr = cidr
    self.except = except
  }

  /// "Matches any address inside cidr and outside every except".
  public func contains(_ address: IPAddress) -> Bool {
    cidr.contains(address) && !except.contains { $0.contains(address) }
  }
}

public enum PeerKind: Sendable, Hashable {
  /// `podSelector` and/or `namespaceSelector`; nil means the field was absent.
  case selectors(pods: LabelSelector?, namespaces: LabelSelector?)
  case ipBlock(IPBlock)
}

public struct Peer: Sendable, Equatable {
  public var kind: PeerKind
  public var location: SourceLocation

  public init(kind: PeerKind, location: SourceLocation) {
    self.kind = kind
    self.location = location
  }
}

public enum PortRef: Sendable, Hashable {
  case number(Int)
  case name(String)
}

public struct PolicyPort: Sendable, Equatable {
  /// After defaulting: TCP when the entry names none.
  public var proto: NetProtocol
  public var port: PortRef?
  public var endPort: Int?
  public var location: SourceLocation

  public init(proto: NetProtocol, port: PortRef?, endPort: Int? = nil, location: SourceLocation) {
    self.proto = proto
    self.port = port
    self.endPort = endPort
    self.location = location
  }
}

public struct PolicyRule: Sendable, Equatable {
  /// `from` (ingress) or `to` (egress); empty means every peer.
  public var peers: [Peer]
  /// Empty means every port of every protocol.
  public var ports: [PolicyPort]
  public var location: SourceLocation

  public init(peers: [Peer], ports: [PolicyPort], location: SourceLocation) {
    self.peers = peers
    self.ports = ports
    self.location = location
  }
}

public struct NetworkPolicy: Sendable, Equatable {
  public var meta: ObjectMeta
  public var podSelector: LabelSelector
  /// After defaulting (see `Defaults.policyTypes`).
  public var policyTypes: [PolicyType]
  public var policyTypesWritten: Bool
  public var ingress: [PolicyRule]
  public var egress: [PolicyRule]

  public init(
    meta: ObjectMeta, podSelector: LabelSelector, policyTypes: [PolicyType], policyTypesWritten: Bool,
    ingress: [PolicyRule], egress: [PolicyRule]
  ) {
    self.meta = meta
    self.podSelector = podSelector
    self.policyTypes = policyTypes
    self.policyTypesWritten = policyTypesWritten
    self.ingress = ingress
    self.egress = egress
  }

  public var ref: ObjectRef { ObjectRef(kind: "NetworkPolicy", namespace: meta.namespace, name: meta.name) }

  public func rules(_ direction: PolicyType) -> [PolicyRule] {
    direction == .ingress ? ingress : egress
  }

  public func applies(to direction: PolicyType) -> Bool { policyTypes.contains(direction) }
}
