import YAMLBridge

extension NodeReader {
  mutating func namespace(_ root: Fields, rootNode: YAMLNode) -> Namespace? {
    guard
      let meta = meta(
        root, rootNode: rootNode, kind: "Namespace", strict: false, namespaced: false, defaultNamespace: "",
        nameCheck: NameRules.dns1123Label)
    else { return nil }
    return Namespace(name: meta.name, labels: meta.labels, location: meta.location)
  }

  /// Reads the Pod fields policyc needs and skips the rest (a kubectl dump
  /// carries far more than any policy decision uses).
  mutating func pod(_ root: Fields, rootNode: YAMLNode, defaultNamespace: String) -> Pod? {
    guard
      let meta = meta(
        root, rootNode: rootNode, kind: "Pod", strict: false, namespaced: true, defaultNamespace: defaultNamespace,
        nameCheck: NameRules.dns1123Subdomain)
    else { return nil }
    var nodeName: String?
    var hostNetwork = false
    var ports: [ContainerPort] = []
    if let specPair = root["spec"], let spec = fields(specPair.value, path: "spec") {
      if let p = spec["nodeName"] { nodeName = string(p.value, path: "spec.nodeName") }
      if let p = spec["hostNetwork"] { hostNetwork = bool(p.value, path: "spec.hostNetwork") ?? false }
      ports = containerPorts(spec, path: "spec")
    }
    var phase: String?
    var ips: [IPAddress] = []
    if let statusPair = root["status"], let status = fields(statusPair.value, path: "status") {
      if let p = status["phase"] { phase = string(p.value, path: "status.phase") }
      ips = podIPs(status)
    }
    return Pod(meta: meta, nodeName: nodeName, hostNetwork: hostNetwork, phase: phase, ips: ips, ports: ports)
  }

  /// Container ports of `spec.containers` and of sidecars: init containers
  /// with `restartPolicy: Always` keep running, so their ports serve traffic.
  mutating func containerPorts(_ spec: Fields, path: String) -> [ContainerPort] {
    var out: [ContainerPort] = []
    for field in ["containers", "initContainers"] {
      guard let pair = spec[field], let containers = sequence(pair.value, path: "\(path).\(field)") else { continue }
      for (i, container) in containers.enumerated() {
        let cpath = Self.index("\(path).\(field)", i)
        guard let c = fields(container, path: cpath) else { continue }
        if field == "initContainers" {
          guard let policy = c["restartPolicy"], policy.value.scalarText == "Always" else { continue }
        }
        guard let portsPair = c["ports"], let ports = sequence(portsPair.value, path: "\(cpath).ports") else {
          continue
        }
        // validateContainerPorts: names are unique within a container. Across
        // containers the first definition wins, as Service port lookup does.
        var names = Set<String>()
        for (j, portNode) in ports.enumerated() {
          let ppath = Self.index("\(cpath).ports", j)
          guard let p = fields(portNode, path: ppath) else { continue }
          guard let numberPair = p["containerPort"],
            let number = integer(
              numberPair.value, path: "\(ppath).containerPort", range: 1...65535, rule: RuleID.invalidPort)
          else { continue }
          var proto = Defaults.portProtocol
          if let protoPair = p["protocol"], let text = string(protoPair.value, path: "\(ppath).protocol") {
            guard let parsed = NetProtocol(rawValue: text) else {
              report(
                RuleID.invalidProtocol, "unsupported protocol \"\(Self.sanitize(text))\": must be TCP, UDP or SCTP",
                at: protoPair.value, path: "\(ppath).protocol")
              continue
            }
            proto = parsed
          }
          var name: String?
          if let namePair = p["name"], let text = string(namePair.value, path: "\(ppath).name") {
            if let problem = NameRules.portName(text) {
              report(
                RuleID.invalidPort, "invalid port name \"\(Self.sanitize(text))\": \(problem)", at: namePair.value,
                path: "\(ppath).name")
            } else if !names.insert(text).inserted {
              report(
                RuleID.invalidPort, "duplicate port name \"\(Self.sanitize(text))\" in one container",
                at: namePair.value, path: "\(ppath).name")
            }
            name = text
          }
          out.append(ContainerPort(name: name, number: number, proto: proto))
        }
      }
    }
    return out
  }

  mutating func podIPs(_ status: Fields) -> [IPAddress] {
    var texts: [(String, YAMLNode, String)] = []
    if let pair = status["podIPs"], let items = sequence(pair.value, path: "status.podIPs") {
      for (i, item) in items.enumerated() {
        let path = Self.index("status.podIPs", i)
        guard let f = fields(item, path: path), let ipPair = f["ip"],
          let text = string(ipPair.value, path: path + ".ip")
        else { continue }
        texts.append((text, ipPair.value, path + ".ip"))
      }
    }
    if texts.isEmpty, let pair = status["podIP"], let text = string(pair.value, path: "status.podIP"), !text.isEmpty {
      texts.append((text, pair.value, "status.podIP"))
    }
    var out: [IPAddress] = []
    for (text, node, path) in texts {
      guard let ip = IPAddress(text) else {
        report(RuleID.invalidAddress, "invalid IP address \"\(Self.sanitize(text))\"", at: node, path: path)
        continue
      }
      if !out.contains(ip) { out.append(ip) }
    }
    return out
  }
}
