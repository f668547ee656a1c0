import YAMLBridge

/// Workloads whose pod templates stand in for pods in review tools.
enum Workloads {
  /// Path from the object root to its pod template.
  static let templatePath: [String: [String]] = [
    "Deployment": ["spec", "template"],
    "ReplicaSet": ["spec", "template"],
    "StatefulSet": ["spec", "template"],
    "DaemonSet": ["spec", "template"],
    "ReplicationController": ["spec", "template"],
    "Job": ["spec", "template"],
    "CronJob": ["spec", "jobTemplate", "spec", "template"],
  ]
  static let apiVersions: Set<String> = ["apps/v1", "batch/v1", "v1"]
}

extension NodeReader {
  /// Reads a workload's template labels and container ports into an
  /// address-less Pod named after the workload.
  mutating func workload(_ root: Fields, rootNode: YAMLNode, kind: String, defaultNamespace: String) -> Pod? {
    guard
      let meta = meta(
        root, rootNode: rootNode, kind: kind, strict: false, namespaced: true, defaultNamespace: defaultNamespace,
        nameCheck: NameRules.dns1123Subdomain)
    else { return nil }
    var node: YAMLNode? = rootNode
    var path = ""
    for key in Workloads.templatePath[kind] ?? [] {
      node = node?[key]
      path = path.isEmpty ? key : "\(path).\(key)"
    }
    var labels: [String: String] = [:]
    var ports: [ContainerPort] = []
    var hostNetwork = false
    if let template = node, let t = fields(template, path: path) {
      if let m = t["metadata"]?.value, let labelNode = m["labels"] {
        labels = stringMap(labelNode, path: path + ".metadata.labels", rule: RuleID.invalidLabel)
        validateLabels(labelNode, labels, path: path + ".metadata.labels")
      }
      if let specPair = t["spec"], let spec = fields(specPair.value, path: path + ".spec") {
        ports = containerPorts(spec, path: path + ".spec")
        if let p = spec["hostNetwork"] { hostNetwork = bool(p.value, path: path + ".spec.hostNetwork") ?? false }
      }
    }
    var templateMeta = meta
    templateMeta.labels = labels
    return Pod(
      meta: templateMeta, nodeName: nil, hostNetwork: hostNetwork, phase: nil, ips: [], ports: ports, workloadKind: kind
    )
  }
}
