import Foundation

/// Builders for the YAML documents tests feed the loader, in the spirit of
/// kube-network-policies' `makeNetworkPolicyCustom`: each returns the text of
/// one document, so a test reads as the manifests a user would write.
enum Manifest {
  /// A container port; `name` and `proto` are left out of the YAML when nil.
  struct Port {
    var number: Int
    var name: String?
    var proto: String?

    init(_ number: Int, _ name: String? = nil, _ proto: String? = nil) {
      self.number = number
      self.name = name
      self.proto = proto
    }
  }

  /// A Pod in `ns` (nil leaves `metadata.namespace` out). `ip: nil` makes a
  /// pod with no address yet. `sidecarPorts` go in an init container with
  /// `restartPolicy: Always`, `initPorts` in a plain init container.
  static func pod(
    _ ns: String?, _ name: String, labels: [String: String] = [:], ip: String?,
    node: String = "node-a",
    ports: [Port] = [], sidecarPorts: [Port] = [], initPorts: [Port] = [],
    hostNetwork: Bool = false,
    phase: String = "Running"
  ) -> String {
    var text = "apiVersion: v1\nkind: Pod\n" + metadata(name, ns, labels)
    text += "spec:\n  nodeName: \(node)\n"
    if hostNetwork { text += "  hostNetwork: true\n" }
    text += "  containers:\n" + container("main", ports, restartPolicy: nil)
    if !sidecarPorts.isEmpty || !initPorts.isEmpty {
      text += "  initContainers:\n"
      if !sidecarPorts.isEmpty {
        text += container("sidecar", sidecarPorts, restartPolicy: "Always")
      }
      if !initPorts.isEmpty { text += container("setup", initPorts, restartPolicy: nil) }
    }
    text += "status:\n  phase: \(phase)\n"
    if let ip { text += "  podIP: \(ip)\n" }
    return text
  }

  static func namespace(_ name: String, labels: [String: String] = [:]) -> String {
    "apiVersion: v1\nkind: Namespace\n" + metadata(name, nil, labels)
  }

  /// A NetworkPolicy whose spec is `spec`, written as it would stand under
  /// `spec:` without the indentation (an empty string gives `spec: {}`).
  static func policy(_ ns: String?, _ name: String, _ spec: String) -> String {
    var text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" + metadata(name, ns, [:])
    guard !spec.isEmpty else { return text + "spec: {}\n" }
    text += "spec:\n"
    for line in spec.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
      text += "  \(line)\n"
    }
    return text
  }

  /// Documents joined into one stream.
  static func stream(_ documents: [String]) -> String {
    documents.map { "---\n" + $0 }.joined()
  }

  static func metadata(_ name: String, _ ns: String?, _ labels: [String: String]) -> String {
    var text = "metadata:\n  name: \(name)\n"
    if let ns { text += "  namespace: \(ns)\n" }
    if !labels.isEmpty {
      text += "  labels:\n"
      for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
        text += "    \(quoted(key)): \(quoted(value))\n"
      }
    }
    return text
  }

  static func container(_ name: String, _ ports: [Port], restartPolicy: String?) -> String {
    var text = "  - name: \(name)\n"
    if let restartPolicy { text += "    restartPolicy: \(restartPolicy)\n" }
    guard !ports.isEmpty else { return text }
    text += "    ports:\n"
    for port in ports {
      text += "    - containerPort: \(port.number)\n"
      if let name = port.name { text += "      name: \(name)\n" }
      if let proto = port.proto { text += "      protocol: \(proto)\n" }
    }
    return text
  }

  static func quoted(_ text: String) -> String {
    "\""
      + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
        of: "\"", with: "\\\"") + "\""
  }
}
