import YAMLBridge

/// The fields of Pods and Namespaces, read from events as `NodeReader`'s
/// `pod` and `namespace` read them from nodes (PodDecoding.swift,
/// MetaDecoding.swift); every check that would report there gives up here.
extension EventDecoder {
  /// One List item; its mapping start was just read. Only items that open
  /// with `apiVersion: v1` and `kind: Pod` or `Namespace`, with
  /// `apiVersion: networking.k8s.io/v1` and `kind: NetworkPolicy`, or with
  /// `apiVersion: policy.networking.k8s.io/v1alpha1` and an admin kind
  /// (kubectl's key order), are read: the tree builder prunes a Pod only
  /// once it has seen the `kind`.
  mutating func item() throws(Fallback) {
    let start = events.start
    let scope = openKeys()
    defer { closeKeys(scope) }
    var isPod: Bool?
    var isV1 = false
    var isNetworking = false
    var isPolicy = false
    var isAdminVersion = false
    var isBaseline: Bool?
    for _ in 0..<2 {
      guard try readKey(in: scope, kindAllowed: true) else { throw Fallback() }
      if events.isText("apiVersion") {
        guard try next() == .scalar else { throw Fallback() }
        isV1 = events.isText("v1")
        isNetworking = events.isText("networking.k8s.io/v1")
        isAdminVersion = events.isText("policy.networking.k8s.io/v1alpha1")
      } else if events.isText("kind") {
        guard try next() == .scalar else { throw Fallback() }
        isPod = events.isText("Pod") ? true : events.isText("Namespace") ? false : nil
        isPolicy = events.isText("NetworkPolicy")
        isBaseline =
          events.isText("AdminNetworkPolicy") ? false : events.isText("BaselineAdminNetworkPolicy") ? true : nil
      } else {
        throw Fallback()
      }
    }
    if isNetworking, isPolicy {
      try networkPolicy(start: start, scope: scope)
      return
    }
    if isAdminVersion, let isBaseline {
      try adminPolicy(start: start, scope: scope, baseline: isBaseline)
      return
    }
    guard isV1, let isPod else { throw Fallback() }
    var meta: (name: String, namespace: String?, labels: [String: String])?
    var spec = PodSpecFields()
    var status = PodStatusFields()
    while try readKey(in: scope) {
      if events.isText("metadata") {
        meta = try metadata(isPod: isPod)
      } else if isPod, events.isText("spec") {
        spec = try podSpec()
      } else if isPod, events.isText("status") {
        status = try podStatus()
      } else {
        try skipValue(built: true)
      }
    }
    let location = SourceLocation(file: file, span: SourceSpan(start: start, end: events.end))
    guard let meta, !meta.name.isEmpty else { throw Fallback() }
    guard isPod else {
      guard NameRules.dns1123Label(meta.name) == nil else { throw Fallback() }
      inventory.namespaces.append(Namespace(name: meta.name, labels: meta.labels, location: location))
      return
    }
    guard NameRules.dns1123Subdomain(meta.name) == nil else { throw Fallback() }
    var namespace = defaultNamespace
    var written = false
    // An empty namespace decodes like a missing one (Go's zero value), so it defaults.
    if let ns = meta.namespace, !ns.isEmpty {
      guard NameRules.dns1123Label(ns) == nil else { throw Fallback() }
      namespace = ns
      written = true
    }
    let objectMeta = ObjectMeta(
      name: meta.name, namespace: namespace, namespaceWritten: written, labels: meta.labels, location: location)
    inventory.pods.append(
      Pod(
        meta: objectMeta, nodeName: spec.nodeName, hostNetwork: spec.hostNetwork ?? false, phase: status.phase,
        ips: try status.addresses(), ports: spec.ports))
  }

  /// `metadata`: name, namespace (Pods), labels; annotations are checked
  /// for Namespaces and skipped for Pods, as `compilePruning` does.
  mutating func metadata(isPod: Bool) throws(Fallback) -> (name: String, namespace: String?, labels: [String: String]) {
    guard try next() == .mappingStart else { throw Fallback() }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var name: String?
    var namespace: String?
    var labels: [String: String] = [:]
    while try readKey(in: scope) {
      if events.isText("name") {
        name = try string()
      } else if isPod, events.isText("namespace") {
        namespace = try string()
      } else if events.isText("labels") {
        labels = try labelMap()
      } else if events.isText("annotations") {
        if isPod {
          try skipValue(built: false)
        } else {
          _ = try stringMap { key, _ in NameRules.qualifiedName(key) == nil }
        }
      } else if isPod, events.isText("managedFields") || events.isText("ownerReferences") {
        try skipValue(built: false)
      } else {
        try skipValue(built: true)
      }
    }
    guard let name else { throw Fallback() }
    return (name, namespace, labels)
  }

  struct PodSpecFields {
    var nodeName: String?
    var hostNetwork: Bool?
    var ports: [ContainerPort] = []
  }

  /// `spec`: everything but the node, host network and containers is pruned.
  mutating func podSpec() throws(Fallback) -> PodSpecFields {
    var out = PodSpecFields()
    guard try open(.mappingStart) else { return out }
    let scope = openKeys()
    defer { closeKeys(scope) }
    var regular: [ContainerPort] = []
    var sidecars: [ContainerPort] = []
    while try readKey(in: scope) {
      if events.isText("nodeName") {
        out.nodeName = try string()
      } else if events.isText("hostNetwork") {
        out.hostNetwork = try bool()
      } else if events.isText("containers") {
        regular = try containers(initial: false)
      } else if events.isText("initContainers") {
        sidecars = try containers(initial: true)
      } else {
        try skipValue(built: false)
      }
    }
    // The tree decoder reads containers, then init containers.
    out.ports = regular + sidecars
    return out
  }

  /// The ports of a container list; for init containers only those with
  /// `restartPolicy: Always` (sidecars) count.
  mutating func containers(initial: Bool) throws(Fallback) -> [ContainerPort] {
    var out: [ContainerPort] = []
    try forEachMapping(nulls: .skipped) { decoder throws(Fallback) in out += try decoder.container(initial: initial) }
    return out
  }

  mutating func container(initial: Bool) throws(Fallback) -> [ContainerPort] {
    let scope = openKeys()
    defer { closeKeys(scope) }
    var ports: [ContainerPort] = []
    var always = false
    while try readKey(in: scope) {
      if events.isText("ports") {
        ports = try containerPorts()
      } else if events.isText("restartPolicy") {
        let kind = try next()
        if kind == .scalar {
          always = events.isText("Always")
        } else {
          try skip(kind, built: true)
        }
      } else {
        // `name` is built but not read; the rest is pruned.
        try skipValue(built: events.isText("name"))
      }
    }
    return !initial || always ? ports : []
  }

  /// validateContainerPorts: names are unique within a container.
  mutating func containerPorts() throws(Fallback) -> [ContainerPort] {
    var names = Set<String>()
    return try mappings(nulls: .skipped) { decoder throws(Fallback) in try decoder.containerPort(names: &names) }
  }

  /// One port; nil without a `containerPort`, as the tree decoder skips it.
  mutating func containerPort(names: inout Set<String>) throws(Fallback) -> ContainerPort? {
    let scope = openKeys()
    defer { closeKeys(scope) }
    var number: Int?
    var name: String?
    var proto: String?
    while try readKey(in: scope) {
      if events.isText("containerPort") {
        guard try next() == .scalar else { throw Fallback() }
        switch events.resolved {
        case .integer(let n) where (1...65535).contains(n): number = n
        case .null: number = nil
        default: throw Fallback()
        }
      } else if events.isText("name") {
        name = try string()
      } else if events.isText("protocol") {
        proto = try string()
      } else {
        try skipValue(built: true)
      }
    }
    guard let number else { return nil }
    var parsed = Defaults.portProtocol
    if let proto {
      guard let p = NetProtocol(rawValue: proto) else { throw Fallback() }
      parsed = p
    }
    if let name {
      guard NameRules.portName(name) == nil, names.insert(name).inserted else { throw Fallback() }
    }
    return ContainerPort(name: name, number: number, proto: parsed)
  }

  struct PodStatusFields {
    var phase: String?
    var podIP: String?
    var podIPs: [String] = []

    /// `status.podIPs`, or `status.podIP` when that gives none; duplicates once.
    func addresses() throws(Fallback) -> [IPAddress] {
      var texts = podIPs
      if texts.isEmpty, let podIP, !podIP.isEmpty { texts.append(podIP) }
      var out: [IPAddress] = []
      for text in texts {
        guard let ip = IPAddress(text) else { throw Fallback() }
        if !out.contains(ip) { out.append(ip) }
      }
      return out
    }
  }

  /// `status`: the phase and addresses; the rest is pruned.
  mutating func podStatus() throws(Fallback) -> PodStatusFields {
    var out = PodStatusFields()
    guard try open(.mappingStart) else { return out }
    let scope = openKeys()
    defer { closeKeys(scope) }
    while try readKey(in: scope) {
      if events.isText("phase") {
        out.phase = try string()
      } else if events.isText("podIP") {
        out.podIP = try string()
      } else if events.isText("podIPs") {
        out.podIPs = try mappings(nulls: .skipped) { decoder throws(Fallback) in try decoder.podIP() }
      } else {
        try skipValue(built: false)
      }
    }
    return out
  }

  /// One entry of `status.podIPs`: its `ip`, nil when absent or null.
  mutating func podIP() throws(Fallback) -> String? {
    let scope = openKeys()
    defer { closeKeys(scope) }
    var ip: String?
    while try readKey(in: scope) {
      if events.isText("ip") {
        ip = try string()
      } else {
        try skipValue(built: true)
      }
    }
    return ip
  }
}
