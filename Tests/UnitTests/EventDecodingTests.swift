import Foundation
import TestSupport
import XCTest

@testable import PolicyModel
@testable import YAMLBridge

/// The event decoder is a fast path beside the tree decoder: on every
/// piece it either gives up (and the tree reads the piece) or returns
/// exactly the tree's objects, with no diagnostic. These tests decode
/// hand-made and random List items both ways and compare.
final class EventDecodingTests: XCTestCase {
  static let options: LoadOptions = {
    var options = LoadOptions(pruning: LoadOptions.compilePruning)
    options.eventDecoding = true
    return options
  }()

  /// A Pod as `kubectl get -o yaml` prints it, as one List item at column 0.
  static func kubectlPod(
    _ ns: String = "team-a", _ name: String = "web-1", labels: String = "      app: web\n      tier: \"1\"\n",
    spec: String? = nil, status: String? = nil, extraMeta: String = ""
  ) -> String {
    let spec =
      spec ?? """
            containers:
            - env:
              - name: A
                value: b
              image: nginx
              name: web
              ports:
              - containerPort: 8080
                name: http
                protocol: TCP
              - containerPort: 53
                protocol: UDP
              resources: {}
            initContainers:
            - name: proxy
              ports:
              - containerPort: 15001
                name: proxy
              restartPolicy: Always
            - name: setup
              ports:
              - containerPort: 9
            nodeName: node-0000
            tolerations:
            - effect: NoExecute
              key: node.kubernetes.io/not-ready

        """
    let status =
      status ?? """
            conditions:
            - status: "True"
              type: Ready
            phase: Running
            podIP: 10.0.0.5
            podIPs:
            - ip: 10.0.0.5
            - ip: fd00::5

        """
    return """
      - apiVersion: v1
        kind: Pod
        metadata:
          annotations:
            kubectl.kubernetes.io/last-applied-configuration: |
              {"apiVersion":"v1"}
          creationTimestamp: "2026-01-01T00:00:00Z"
          labels:
      \(labels)\(extraMeta)    managedFields:
          - apiVersion: v1
            fieldsType: FieldsV1
            fieldsV1:
              f:metadata:
                f:labels: {}
            manager: kubelet
          name: \(name)
          namespace: \(ns)
          ownerReferences:
          - apiVersion: apps/v1
            controller: true
            kind: ReplicaSet
            name: web-abc
          uid: 0b6c
        spec:
      \(spec)  status:
      \(status)
      """
  }

  static func kubectlNamespace(_ name: String = "team-a", labels: String = "      team: a\n") -> String {
    """
    - apiVersion: v1
      kind: Namespace
      metadata:
        annotations:
          owner: someone
        labels:
    \(labels)    name: \(name)
      spec:
        finalizers:
        - kubernetes
      status:
        phase: Active

    """
  }

  /// The tree path's result for a piece, as `ParallelLoad` computes it.
  static func tree(_ text: String) -> Inventory? {
    let stream = YAMLParser.parse(Array(text.utf8), pruning: options.pruning)
    guard stream.errors.isEmpty else { return nil }
    var inventory = Inventory()
    var reader = NodeReader(file: "in.yaml")
    for document in stream.documents {
      inventory.documentCount += 1
      guard let items = document.root?.sequenceItems else { return nil }
      for item in items { Loader.decode(item, reader: &reader, into: &inventory, options: options) }
    }
    inventory.diagnostics = reader.diagnostics
    return inventory
  }

  static func events(_ text: String) -> Inventory? {
    Array(text.utf8).withUnsafeBufferPointer {
      EventDecoder.decodeItems($0, firstLine: 1, file: "in.yaml", options: options)
    }
  }

  /// Everything a compile and its messages can see of the objects.
  static func summary(_ inventory: Inventory) -> [String] {
    func loc(_ l: SourceLocation) -> String { "\(l.file):\(l.span.start)-\(l.span.end)" }
    var out = inventory.namespaces.map { ns in
      "ns \(ns.name) \(ns.labels.sorted { $0.key < $1.key }) \(ns.location.map(loc) ?? "-")"
    }
    out += inventory.pods.map { p in
      let m = p.meta
      return
        "pod \(m.namespace)/\(m.name) \(m.namespaceWritten) \(m.labels.sorted { $0.key < $1.key }) "
        + "\(m.annotations.sorted { $0.key < $1.key }) \(m.owners) \(loc(m.location)) node=\(p.nodeName ?? "-") "
        + "host=\(p.hostNetwork) phase=\(p.phase ?? "-") ips=\(p.ips) ports=\(p.ports) w=\(p.workloadKind ?? "-")"
    }
    out += inventory.policies.map { Self.policyText($0) }
    out += inventory.adminPolicies.map { Self.adminText($0) }
    out.append(
      "policies \(inventory.policies.count) admin \(inventory.adminPolicies.count) skipped \(inventory.skipped.count) "
        + "docs \(inventory.documentCount)")
    return out + inventory.diagnostics.map(\.formatted)
  }

  /// Returns whether the event decoder took the piece.
  @discardableResult
  func assertAgrees(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
    let fast = Self.events(text)
    guard let fast else { return false }
    guard let slow = Self.tree(text) else {
      XCTFail("event decoder took a piece the tree refuses:\n\(text)", file: file, line: line)
      return true
    }
    XCTAssertEqual(Self.summary(fast), Self.summary(slow), "\n\(text)", file: file, line: line)
    XCTAssertTrue(
      slow.diagnostics.isEmpty, "event decoder hid \(slow.diagnostics.map(\.formatted))", file: file, line: line)
    return true
  }

  func testKubectlShapesAreDecodedFromEvents() {
    let text =
      Self.kubectlNamespace() + Self.kubectlPod() + Self.kubectlPod("team-b", "db-0", labels: "      app: db\n")
    XCTAssertTrue(assertAgrees(text), "the fast path must take kubectl's output")
    let pods = Self.events(text)!.pods
    XCTAssertEqual(pods.count, 2)
    XCTAssertEqual(pods[0].ports.map(\.number), [8080, 53, 15001], "plain init containers' ports do not count")
    XCTAssertEqual(pods[0].ips.count, 2)
    XCTAssertEqual(pods[0].meta.labels, ["app": "web", "tier": "1"])
    XCTAssertEqual(Self.events(text)!.namespaces.first?.labels["team"], "a")
  }

  func testFlowStyleCommentsAndQuotingAreDecodedFromEvents() {
    let pod = """
      - {apiVersion: v1, kind: Pod, metadata: {name: "a", namespace: 'x', labels: {"app": web, k: ~}}, # c
         spec: {nodeName: n1, hostNetwork: no, containers: [{name: c, ports: [{containerPort: 80.0e0}]}]},
         status: {phase: Running, podIP: "10.1.1.1"}}
      - apiVersion: "v1"
        kind: "Pod"   # comment
        metadata: {name: b}
        status: {podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.1}], podIP: 10.9.9.9}

      """
    assertAgrees(pod)
  }

  /// A plain key that starts with a letter is a string unless it is a null
  /// or boolean word (`yes:` is a boolean key, which the tree reports):
  /// those give up, near misses are read, and both agree with the tree.
  func testLetterKeysThatAreNotStringsGiveUp() {
    for word in ScalarResolver.letterWords.map({ "\($0)" }) {
      let text = Self.kubectlPod(extraMeta: "    \(word): x\n")
      XCTAssertNil(Self.events(text), word)
      XCTAssertFalse(Self.tree(text).map { $0.diagnostics.isEmpty } ?? true, "the tree reports the key \(word)")
    }
    for word in ["nam", "nulls", "Yes1", "oN", "tRUE", "o", "t", "f", "nO", "yES", "offf", "Nul", "falsey", "type"] {
      XCTAssertTrue(assertAgrees(Self.kubectlPod(extraMeta: "    \(word): x\n")), word)
    }
  }

  /// Shapes the event decoder must leave to the tree, or agree on.
  func testHostileShapesAgreeOrFallBack() {
    let cases: [String] = [
      Self.kubectlPod(labels: "      app: &a web\n      b: *a\n"),
      Self.kubectlPod(labels: "      <<: {app: web}\n"),
      Self.kubectlPod(labels: "      app: web\n      app: db\n"),
      Self.kubectlPod(labels: "      app: !!str web\n"),
      Self.kubectlPod(labels: "      app: 5\n"),
      Self.kubectlPod(labels: "      app: [web]\n"),
      Self.kubectlPod(labels: "      \"bad key!\": x\n"),
      Self.kubectlPod(labels: "      app: \"bad value!\"\n"),
      Self.kubectlPod(labels: "      true: x\n"),
      Self.kubectlPod(labels: "      kind: Pod\n"),
      Self.kubectlPod(labels: "      café: x\n"),
      Self.kubectlPod("Bad_NS"),
      Self.kubectlPod("", "web"),
      Self.kubectlPod("ns", "Web_1"),
      Self.kubectlPod("ns", "\"\""),
      Self.kubectlPod("ns", "~"),
      Self.kubectlPod(extraMeta: "    name: again\n"),
      Self.kubectlPod(extraMeta: "    kind: Other\n"),
      Self.kubectlPod(extraMeta: "    finalizers: [a, {b: c, b: d}]\n"),
      Self.kubectlPod(spec: "    nodeName: 5\n"),
      Self.kubectlPod(spec: "    hostNetwork: \"true\"\n"),
      Self.kubectlPod(spec: "    hostNetwork: yes\n"),
      Self.kubectlPod(spec: "    containers: {}\n"),
      Self.kubectlPod(spec: "    containers:\n    - ports: 5\n"),
      Self.kubectlPod(spec: "    containers:\n    - ports:\n      - containerPort: \"80\"\n"),
      Self.kubectlPod(spec: "    containers:\n    - ports:\n      - containerPort: 0\n"),
      Self.kubectlPod(spec: "    containers:\n    - ports:\n      - containerPort: 99999999999999999999\n"),
      Self.kubectlPod(spec: "    containers:\n    - ports:\n      - {containerPort: 80, protocol: tcp}\n"),
      Self.kubectlPod(
        spec:
          "    containers:\n    - ports:\n      - {containerPort: 80, name: a}\n      - {containerPort: 81, name: a}\n"),
      Self.kubectlPod(spec: "    containers:\n    - ports:\n      - {containerPort: 80, name: Bad_Name}\n"),
      Self.kubectlPod(
        spec: "    containers:\n    - ports:\n      - {protocol: 5}\n      - null\n      - {containerPort: ~}\n"),
      Self.kubectlPod(spec: "    containers:\n    - kind: x\n      env: {a: 1, a: 2}\n"),
      Self.kubectlPod(spec: "    containers:\n    - env: {a: 1, a: 2}\n    - null\n"),
      Self.kubectlPod(spec: "    initContainers:\n    - ports: [{containerPort: 7}]\n      restartPolicy: [Always]\n"),
      Self.kubectlPod(spec: "    initContainers:\n    - restartPolicy: 'Always'\n      ports: [{containerPort: 7}]\n"),
      Self.kubectlPod(spec: "    volumes: &v [a]\n    x: *v\n"),
      Self.kubectlPod(spec: "    volumes: [{<<: {a: b}}]\n"),
      Self.kubectlPod(status: "    podIP: 300.1.1.1\n"),
      Self.kubectlPod(status: "    podIP: \"\"\n    phase: ~\n"),
      Self.kubectlPod(status: "    podIPs: [{ip: x}]\n    podIP: 10.0.0.1\n"),
      Self.kubectlPod(status: "    podIPs: []\n    podIP: 10.0.0.1\n"),
      Self.kubectlPod(status: "    podIPs: [null, {ip: ~}]\n    podIP: [1]\n"),
      Self.kubectlPod(status: "    phase: [Running]\n"),
      Self.kubectlPod(status: "    conditions: {a: 1, a: 2}\n"),
      Self.kubectlPod(status: "    kind: Pod\n    podIP: 10.0.0.1\n"),
      Self.kubectlPod(spec: "    null\n"),
      Self.kubectlPod(spec: "    !!map {}\n"),
      Self.kubectlNamespace("Bad_Name"),
      Self.kubectlNamespace(labels: "      a: b\n      a: c\n"),
      Self.kubectlNamespace(labels: "      a: [b]\n"),
      Self.kubectlNamespace().replacingOccurrences(of: "owner: someone", with: "owner: 5"),
      Self.kubectlNamespace().replacingOccurrences(of: "owner: someone", with: "\"bad key\": x"),
      Self.kubectlNamespace().replacingOccurrences(of: "kind: Namespace", with: "kind: Namespace\n  kind: Pod"),
      Self.kubectlNamespace().replacingOccurrences(of: "finalizers:", with: "kind: Pod\n    finalizers:"),
      "- apiVersion: v1\n  kind: Pod\n",
      "- apiVersion: v1\n  kind: Pod\n  metadata: null\n",
      "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  1: x\n",
      "- kind: Pod\n  apiVersion: v1\n  metadata: {name: a}\n",
      "- kind: Pod\n  metadata: {name: a}\n  apiVersion: v1\n",
      "- apiVersion: v2\n  kind: Pod\n  metadata: {name: a}\n",
      "- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n",
      "- null\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n",
      "- apiVersion: v1\r\n  kind: Pod\r\n  metadata: {name: a}\r\n",
      "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a\n",
    ]
    var taken = 0
    for text in cases where assertAgrees(text) { taken += 1 }
    XCTAssertGreaterThan(taken, 5, "some of these are valid and must be taken")
    XCTAssertLessThan(taken, cases.count - 20, "most must fall back")
  }

  /// Random pods and namespaces, mutated field by field: every piece the
  /// event decoder takes decodes to the tree's objects.
  func testRandomItemsAgree() {
    var rng = SeededGenerator(seed: 19)
    let names = ["web", "db-0", "Bad_", "a.b", "", "~", "\"q\"", "x" + String(repeating: "y", count: 70)]
    let values = ["web", "\"1\"", "5", "true", "~", "''", "[a]", "{a: b}", "&x v", "*x", "!!str s", "a b", "\"é\""]
    let ips = ["10.0.0.1", "fd00::1", "x", "\"\"", "~", "1.2.3.4.5", "[1]"]
    let ports = ["80", "0", "\"80\"", "65535", "65536", "~", "8.0", "0x50", "[1]"]
    let protos = ["TCP", "UDP", "SCTP", "tcp", "~", "5"]
    var taken = 0
    for _ in 0..<1000 {
      var text = ""
      for _ in 0..<Int.random(in: 1...3, using: &rng) {
        // Mostly the first (valid) choice, so that many pieces are valid.
        func pick(_ list: [String]) -> String {
          Int.random(in: 0..<10, using: &rng) < 8 ? list[0] : list.randomElement(using: &rng)!
        }
        var labels = ""
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
          labels += "      \(pick(["app", "tier", "app", "k/x"])): \(pick(values))\n"
        }
        if Bool.random(using: &rng) {
          text += Self.kubectlNamespace(pick(names), labels: labels)
          continue
        }
        let spec = """
              containers:
              - name: c
                ports:
                - containerPort: \(pick(ports))
                  name: \(pick(["http", "Bad_", "http", "~"]))
                  protocol: \(pick(protos))
              hostNetwork: \(pick(["false", "true", "~", "yes", "\"x\""]))
              nodeName: \(pick(["node-0", "~", "5"]))

          """
        let status = "    phase: \(pick(["Running", "Failed", "~"]))\n    podIP: \(pick(ips))\n"
        text += Self.kubectlPod(
          pick(["ns", "", "Bad_NS", "~"]), pick(names), labels: labels, spec: spec, status: status)
      }
      if assertAgrees(text) { taken += 1 }
    }
    XCTAssertGreaterThan(taken, 100, "random valid pieces must be taken by the event decoder")
  }

  /// Whole files through `Loader`: decoding from events, on one thread or
  /// four, gives what the tree gives, diagnostics included.
  func testLoaderAgreesOnWholeFiles() {
    let kubectl = (0..<300).map { i in
      Self.kubectlPod("ns\(i % 7)", "pod-\(i)", labels: "      app: a\(i % 5)\n")
    }
    let broken = Self.kubectlPod("ns1", "late", labels: "      app: [x]\n")
    let yaml = ParallelLoadTests.list(ParallelLoadTests.pods + [ParallelLoadTests.broken, ParallelLoadTests.fine])
    let items = "apiVersion: v1\nitems:\n" + kubectl.joined() + broken + "kind: List\nmetadata: {}\n"
    let json = ParallelLoadTests.jsonList(ParallelLoadTests.jsonPods + ParallelLoadTests.jsonPolicies)
    for (name, text) in [("list.yaml", yaml), ("kubectl.yaml", items), ("list.json", json)] {
      var tree = Self.options
      tree.eventDecoding = false
      let expected = Self.summary(Load.inventory([(name, text)], options: tree))
      for jobs in [1, 4] {
        var options = Self.options
        options.jobs = jobs
        XCTAssertEqual(Self.summary(Load.inventory([(name, text)], options: options)), expected, "\(name) jobs \(jobs)")
      }
    }
    let pieces = Array(items.utf8).withUnsafeBufferPointer { Chunker.split($0, pieces: 2) }!.pieces
    let taken = pieces.filter { piece in
      Array(items.utf8).withUnsafeBufferPointer {
        EventDecoder.decodeItems(
          UnsafeBufferPointer(rebasing: $0[piece.range]), firstLine: piece.firstLine, file: "f", options: Self.options)
          != nil
      }
    }
    XCTAssertEqual(taken.count, 1, "the piece without the broken pod is read from events")
  }
}
