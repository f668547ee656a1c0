import Foundation
public import YAMLBridge

/// One input's bytes and the name to use for it in messages.
public struct InputSource: Sendable {
  public var path: String
  public var bytes: [UInt8]

  public init(path: String, bytes: [UInt8]) {
    self.path = path
    self.bytes = bytes
  }
}

/// An object policyc read but does not use (a Service, a Deployment, ...).
public struct SkippedObject: Sendable, Hashable {
  public var kind: String
  public var apiVersion: String
  public var name: String?
  public var location: SourceLocation
}

/// Everything read from the inputs, sorted by identity so that file and
/// document order never shows in any output.
public struct Inventory: Sendable {
  public var namespaces: [Namespace] = []
  public var pods: [Pod] = []
  public var policies: [NetworkPolicy] = []
  /// AdminNetworkPolicies and the BaselineAdminNetworkPolicy, sorted by kind and name.
  public var adminPolicies: [AdminPolicy] = []
  /// Pod templates of workloads, as address-less pods (see `Pod.workloadKind`).
  public var workloads: [Pod] = []
  public var skipped: [SkippedObject] = []
  public var diagnostics: [Diagnostic] = []
  /// Documents read, empty ones included.
  public var documentCount = 0

  public init() {}

  public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
}

public struct LoadOptions: Sendable {
  public var defaultNamespace: String
  public var limits: YAMLLimits
  /// Threads for large inputs; 1 parses on the calling thread only.
  public var jobs: Int
  /// Subtrees not to build (see `compilePruning`); nil reads everything,
  /// as lint and the review tools must.
  public var pruning: Pruning?
  /// Decode the Pods, Namespaces, NetworkPolicies and admin policies of large lists straight from libyaml's
  /// events (see `EventDecoder`) instead of through node trees. Only with
  /// `pruning` set to `compilePruning`: the event decoder reads exactly
  /// what that pruning keeps.
  public var eventDecoding = false

  public init(
    defaultNamespace: String = Defaults.namespace, limits: YAMLLimits = .default, jobs: Int = 1, pruning: Pruning? = nil
  ) {
    self.defaultNamespace = defaultNamespace
    self.limits = limits
    self.jobs = max(1, jobs)
    self.pruning = pruning
  }
}

public enum Loader {
  /// Parses and decodes every source. Never throws: problems are diagnostics.
  public static func load(_ sources: [InputSource], options: LoadOptions = LoadOptions()) -> Inventory {
    var inventory = Inventory()
    for source in sources {
      if let partial = ParallelLoad.load(source, options: options) {
        inventory.absorb(partial)
        continue
      }
      var stream = YAMLParser.parse(source.bytes, limits: options.limits, pruning: options.pruning)
      if stream.errors.contains(where: { $0.kind == .prunedAlias }) {
        stream = YAMLParser.parse(source.bytes, limits: options.limits)
      }
      var reader = NodeReader(file: source.path)
      for error in stream.errors {
        let rule: String
        switch error.kind {
        case .syntax, .undefinedAlias, .invalidMerge, .prunedAlias: rule = RuleID.yamlSyntax
        case .duplicateKey: rule = RuleID.duplicateKey
        case .depthLimit, .aliasLimit, .nodeLimit, .scalarLimit: rule = RuleID.yamlLimit
        }
        reader.diagnostics.append(
          Diagnostic(
            ruleID: rule, message: error.message, location: SourceLocation(file: source.path, mark: error.mark)))
      }
      for document in stream.documents {
        inventory.documentCount += 1
        guard let root = document.root else { continue }
        decode(root, reader: &reader, into: &inventory, options: options)
      }
      inventory.diagnostics += reader.diagnostics
    }
    finish(&inventory)
    return inventory
  }

  /// `inherited` is the kind and apiVersion a typed list (`PodList`) gives
  /// items that name none, as the API server returns them.
  static func decode(
    _ root: YAMLNode, reader: inout NodeReader, into inventory: inout Inventory, options: LoadOptions,
    inherited: (kind: String, apiVersion: String)? = nil
  ) {
    if NodeReader.isNull(root) { return }
    reader.object = nil
    guard let fields = reader.fields(root, path: "") else { return }
    let writtenKind = fields["kind"].flatMap { reader.string($0.value, path: "kind") }
    guard let kind = writtenKind.flatMap({ $0.isEmpty ? nil : $0 }) ?? inherited?.kind else {
      reader.report(RuleID.missingField, "object has no kind", at: root, path: "kind")
      return
    }
    let apiVersion =
      fields["apiVersion"].flatMap { reader.string($0.value, path: "apiVersion") } ?? inherited?.apiVersion ?? ""
    switch (kind, apiVersion) {
    case ("Namespace", "v1"):
      if let ns = reader.namespace(fields, rootNode: root) { inventory.namespaces.append(ns) }
    case ("Pod", "v1"):
      if let pod = reader.pod(fields, rootNode: root, defaultNamespace: options.defaultNamespace) {
        inventory.pods.append(pod)
      }
    case ("NetworkPolicy", "networking.k8s.io/v1"):
      if let policy = reader.networkPolicy(fields, rootNode: root, defaultNamespace: options.defaultNamespace) {
        inventory.policies.append(policy)
      }
    case (AdminPolicy.adminKind, AdminPolicy.apiVersion), (AdminPolicy.baselineKind, AdminPolicy.apiVersion):
      if let policy = reader.adminPolicy(fields, rootNode: root, baseline: kind == AdminPolicy.baselineKind) {
        inventory.adminPolicies.append(policy)
      }
    case _ where Workloads.templatePath[kind] != nil && Workloads.apiVersions.contains(apiVersion):
      if let workload = reader.workload(fields, rootNode: root, kind: kind, defaultNamespace: options.defaultNamespace)
      {
        inventory.workloads.append(workload)
      }
    case _ where kind.hasSuffix("List") && fields["items"] != nil:
      guard let items = reader.sequence(fields["items"]!.value, path: "items") else { return }
      let itemKind = kind == "List" ? nil : (kind: String(kind.dropLast(4)), apiVersion: apiVersion)
      for item in items { decode(item, reader: &reader, into: &inventory, options: options, inherited: itemKind) }
    default:
      let name = fields["metadata"].flatMap { $0.value["name"]?.scalarText }
      inventory.skipped.append(
        SkippedObject(kind: kind, apiVersion: apiVersion, name: name, location: reader.location(root)))
    }
  }

  struct SortKey: Comparable {
    var a: String
    var b: String
    var c: String
    var location: SourceLocation
    static func < (l: SortKey, r: SortKey) -> Bool {
      // Field by field: a tuple comparison copies all four first.
      if l.a != r.a { return l.a < r.a }
      if l.b != r.b { return l.b < r.b }
      if l.c != r.c { return l.c < r.c }
      return l.location < r.location
    }
  }

  /// Sorts large values through their keys and indices instead of moving
  /// the values at every comparison.
  static func sortedByKey<T>(_ items: [T], key: (T) -> SortKey) -> [T] {
    let keys = items.map(key)
    // kubectl prints objects sorted by namespace and name: check first.
    if keys.indices.dropFirst().allSatisfy({ !(keys[$0] < keys[$0 - 1]) }) { return items }
    return items.indices.sorted { keys[$0] < keys[$1] }.map { items[$0] }
  }

  /// Whether `namespace/name` of `a` and `b` are equal strings, without
  /// building them: equal parts give equal keys, and without a `/` in any
  /// part (a valid name has none; an invalid one is reported but kept) the
  /// separator splits both keys alike, so unequal parts give unequal keys.
  static func sameName(_ a: ObjectMeta, _ b: ObjectMeta) -> Bool {
    if a.name == b.name && a.namespace == b.namespace { return true }
    func plain(_ s: String) -> Bool { !s.utf8.contains(UInt8(ascii: "/")) }
    if plain(a.namespace) && plain(a.name) && plain(b.namespace) && plain(b.name) { return false }
    return "\(a.namespace)/\(a.name)" == "\(b.namespace)/\(b.name)"
  }

  /// Sorts by identity and reports objects defined twice: with two
  /// definitions the result would depend on file order.
  static func finish(_ inventory: inout Inventory) {
    inventory.namespaces = sortedByKey(inventory.namespaces) {
      SortKey(a: $0.name, b: "", c: "", location: $0.location!)
    }
    inventory.pods = sortedByKey(inventory.pods) {
      SortKey(a: $0.meta.namespace, b: $0.meta.name, c: "", location: $0.meta.location)
    }
    inventory.policies = sortedByKey(inventory.policies) {
      SortKey(a: $0.meta.namespace, b: $0.meta.name, c: "", location: $0.meta.location)
    }
    inventory.adminPolicies = sortedByKey(inventory.adminPolicies) {
      SortKey(a: $0.kind, b: $0.meta.name, c: "", location: $0.meta.location)
    }
    inventory.workloads = sortedByKey(inventory.workloads) {
      SortKey(a: $0.meta.namespace, b: $0.meta.name, c: $0.workloadKind ?? "", location: $0.meta.location)
    }
    inventory.skipped.sort { $0.location < $1.location }
    // Sorted by key, a second definition follows the first. Most inputs
    // have none: then nothing is copied. `same` is the cheap test of equal
    // keys (see `sameName`).
    func dedupe<T>(
      _ items: inout [T], kind: String, same: (T, T) -> Bool, key: (T) -> String, location: (T) -> SourceLocation
    ) {
      guard items.indices.dropFirst().contains(where: { same(items[$0 - 1], items[$0]) }) else { return }
      var kept: [T] = []
      for item in items {
        if let previous = kept.last, same(previous, item) {
          let first = location(previous)
          inventory.diagnostics.append(
            Diagnostic(
              ruleID: RuleID.duplicateObject,
              message: "\(kind) \(key(item)) is defined twice (first at \(first.file):\(first.line):\(first.column))",
              location: location(item)))
          continue
        }
        kept.append(item)
      }
      items = kept
    }
    dedupe(
      &inventory.namespaces, kind: "namespace", same: { $0.name == $1.name }, key: { $0.name },
      location: { $0.location! })
    dedupe(
      &inventory.pods, kind: "pod", same: { sameName($0.meta, $1.meta) },
      key: { "\($0.meta.namespace)/\($0.meta.name)" }, location: { $0.meta.location })
    dedupe(
      &inventory.policies, kind: "networkpolicy", same: { sameName($0.meta, $1.meta) },
      key: { "\($0.meta.namespace)/\($0.meta.name)" }, location: { $0.meta.location })
    dedupe(
      &inventory.adminPolicies, kind: "admin policy", same: { $0.kind == $1.kind && $0.meta.name == $1.meta.name },
      key: { "\($0.kind) \($0.meta.name)" }, location: { $0.meta.location })
    inventory.diagnostics.sort(by: Diagnostic.ordered)
  }
}
