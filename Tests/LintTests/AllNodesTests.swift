import Foundation
import XCTest

/// `compile --all-nodes` writes, for every node, the bytes `compile --node`
/// writes for it, and all of its files or none.
final class AllNodesTests: XCTestCase {
  let repository = LintGolden.repository

  func scratch(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("policyc-all-\(getpid())-\(name)")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
  }

  func files(_ directory: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
  }

  /// Runs --all-nodes with `args`, then `--node N` for every node, and
  /// compares every file; returns the nodes seen.
  @discardableResult
  func checkAgainstSingleNodeRuns(
    _ inputs: [String], args: [String], rulesSuffix: String, ipsetSuffix: String?, in directory: URL? = nil,
    name: String
  ) throws -> [String] {
    let out = try scratch(name)
    let ipsetArgs = ipsetSuffix == nil ? [] : ["--ipset-out", out.path]
    let all = try PolicycBinary.policyc(
      ["compile", "--all-nodes", "-o", out.path] + ipsetArgs + args + inputs, in: directory ?? repository)
    XCTAssertEqual(all.status, 0, "\(name): \(all.stderr)")
    let written = files(out)
    let nodes = written.filter { $0.hasSuffix(rulesSuffix) }.map { String($0.dropLast(rulesSuffix.count)) }
    XCTAssertFalse(nodes.isEmpty, "\(name): no node files in \(written)")
    let expected = nodes.map { $0 + rulesSuffix } + (ipsetSuffix.map { s in nodes.map { $0 + s } } ?? [])
    XCTAssertEqual(written, expected.sorted(), "\(name): unexpected files")
    for node in nodes {
      let single = out.appendingPathComponent(".single-\(node)")
      let singleIPSet = out.appendingPathComponent(".single-\(node).ipset")
      let one = try PolicycBinary.policyc(
        ["compile", "--node", node, "-o", single.path] + (ipsetSuffix == nil ? [] : ["--ipset-out", singleIPSet.path])
          + args + inputs, in: directory ?? repository)
      XCTAssertEqual(one.status, 0, "\(name) \(node): \(one.stderr)")
      XCTAssertEqual(
        try Data(contentsOf: out.appendingPathComponent(node + rulesSuffix)), try Data(contentsOf: single),
        "\(name): \(node)\(rulesSuffix) differs from compile --node \(node)")
      if let ipsetSuffix {
        XCTAssertEqual(
          try Data(contentsOf: out.appendingPathComponent(node + ipsetSuffix)), try Data(contentsOf: singleIPSet),
          "\(name): \(node)\(ipsetSuffix) differs from compile --node \(node) --ipset-out")
      }
    }
    return nodes
  }

  func testSamplesMatchSingleNodeRunsInEveryMode() throws {
    var nodes = 0
    for sample in ["samples/cluster", "samples/admin", "samples/kubectl-dump.yaml"] {
      nodes += try checkAgainstSingleNodeRuns(
        [sample], args: [], rulesSuffix: ".rules.v4", ipsetSuffix: nil, name: "rules-\(sample.count)"
      ).count
      try checkAgainstSingleNodeRuns(
        [sample], args: ["--jobs", "1"], rulesSuffix: ".rules.v4", ipsetSuffix: ".ipset.v4",
        name: "ipset-\(sample.count)")
      try checkAgainstSingleNodeRuns(
        [sample], args: ["--backend", "nft", "--deny", "drop"], rulesSuffix: ".nft", ipsetSuffix: nil,
        name: "nft-\(sample.count)")
    }
    XCTAssertGreaterThan(nodes, 4, "the samples name too few nodes to prove much")
  }

  /// Every golden case, with its own flags (family, deny, log, namespace).
  func testGoldenCasesMatchSingleNodeRuns() throws {
    let root = repository.appendingPathComponent("Tests/Golden/cases")
    var multiNode = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() where !name.hasPrefix(".") {
      let directory = root.appendingPathComponent(name)
      let argsText = (try? String(contentsOf: directory.appendingPathComponent("args"), encoding: .utf8)) ?? ""
      var args = argsText.split(whereSeparator: \.isWhitespace).map(String.init)
      if let i = args.firstIndex(of: "--node") { args.removeSubrange(i...(i + 1)) }
      let family = args.contains("ipv6") ? "v6" : "v4"
      // Cases whose pods name no node have nothing to write per node.
      let probe = try PolicycBinary.policyc(
        ["compile", "--all-nodes", "-o", try scratch("probe").path] + args + ["."], in: directory)
      guard probe.status == 0 else {
        XCTAssertTrue(probe.stderr.contains("no pod names a node"), "\(name): \(probe.stderr)")
        continue
      }
      let nodes = try checkAgainstSingleNodeRuns(
        ["."], args: args, rulesSuffix: ".rules.\(family)", ipsetSuffix: ".ipset.\(family)", in: directory,
        name: "case-\(name)")
      if nodes.count > 1 { multiNode += 1 }
    }
    XCTAssertGreaterThan(multiNode, 5)
  }

  /// Three nodes whose chains differ where the node matters (ingress named
  /// ports resolve against the node's own targets) and agree elsewhere:
  /// named ports both ways, admin tiers and a baseline, ipBlocks with
  /// excepts, dual-stack and single-family pods. The fleet shares what does
  /// not depend on the node; every file must still be the node's own.
  static var fleetFixture: String {
    var pods: [String] = []
    for (k, node) in ["a", "b", "c"].enumerated() {
      for i in 0..<3 {
        let n = k * 3 + i + 10
        let v6 = i == 1 ? "" : ", {ip: \"fd00:\(k)::\(n)\"}"
        pods.append(
          """
          ---
          apiVersion: v1
          kind: Pod
          metadata: {name: web-\(n), namespace: \(i == 2 ? "ops" : "shop"), labels: {app: web}}
          spec:
            nodeName: node-\(node)
            containers:
            - name: web
              ports: [{name: http, containerPort: \(8080 + i)}, {name: metrics, containerPort: \(9090 + k)}]
          status: {podIP: 10.244.\(k).\(n), podIPs: [{ip: 10.244.\(k).\(n)}\(v6)]}
          ---
          apiVersion: v1
          kind: Pod
          metadata: {name: db-\(n), namespace: shop, labels: {app: db}}
          spec:
            nodeName: node-\(node)
            containers: [{name: db, ports: [{name: pg, containerPort: \(5432 + i)}]}]
          status: {podIP: "\(i == 0 ? "fd00:\(k)::1\(n)" : "10.244.\(k).1\(n)")"}

          """)
      }
    }
    return fleetNamespaces + pods.joined() + fleetPolicies
  }

  static let fleetNamespaces = """
    apiVersion: v1
    kind: Namespace
    metadata: {name: shop, labels: {tenant: shop}}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: ops, labels: {tenant: ops}}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: monitoring}

    """

  static let fleetPolicies = """
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: prometheus, namespace: monitoring, labels: {app: prometheus}}
    spec: {nodeName: node-a, containers: [{name: p}]}
    status: {podIP: 10.244.0.99, podIPs: [{ip: 10.244.0.99}, {ip: "fd00::99"}]}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: web, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: web}}
      policyTypes: [Ingress, Egress]
      ingress:
      - from:
        - podSelector: {matchLabels: {app: db}}
        - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25, 192.0.2.8/29]}
        - ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}
        ports: [{port: http}, {port: 443}]
      egress:
      - to:
        - podSelector: {matchLabels: {app: db}}
        - ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}
        ports: [{port: pg}, {port: 53, protocol: UDP}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: db}}
      ingress:
      - from: [{namespaceSelector: {matchLabels: {tenant: ops}}}, {podSelector: {}}]
        ports: [{port: 5432}, {port: 5433, endPort: 5440}]
    ---
    apiVersion: policy.networking.k8s.io/v1alpha1
    kind: AdminNetworkPolicy
    metadata: {name: scrape}
    spec:
      priority: 10
      subject: {namespaces: {matchExpressions: [{key: tenant, operator: Exists}]}}
      ingress:
      - name: metrics
        action: Allow
        from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
        ports: [{namedPort: metrics}]
      egress:
      - name: no-metadata
        action: Deny
        to: [{networks: [169.254.169.254/32, "fd00:ec2::254/128"]}]
      - name: to-db
        action: Pass
        to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}]
        ports: [{namedPort: pg}]
    ---
    apiVersion: policy.networking.k8s.io/v1alpha1
    kind: BaselineAdminNetworkPolicy
    metadata: {name: default}
    spec:
      subject: {namespaces: {matchLabels: {tenant: ops}}}
      ingress:
      - name: deny-other-tenants
        action: Deny
        from: [{namespaces: {matchLabels: {tenant: shop}}}]
      egress:
      - name: web-ports
        action: Allow
        to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}]
        ports: [{namedPort: http}, {portNumber: {protocol: TCP, port: 9090}}]

    """

  func testFleetSharesOnlyWhatNoNodeChanges() throws {
    let directory = try scratch("fleet-fixture")
    try Data(Self.fleetFixture.utf8).write(to: directory.appendingPathComponent("fleet.yaml"))
    for family in ["ipv4", "ipv6"] {
      let tag = family == "ipv6" ? "v6" : "v4"
      for jobs in ["1", "2"] {
        let nodes = try checkAgainstSingleNodeRuns(
          ["fleet.yaml"], args: ["--family", family, "--jobs", jobs], rulesSuffix: ".rules.\(tag)",
          ipsetSuffix: ".ipset.\(tag)", in: directory, name: "fleet-ipset-\(family)-\(jobs)")
        XCTAssertEqual(nodes, ["node-a", "node-b", "node-c"])
        try checkAgainstSingleNodeRuns(
          ["fleet.yaml"], args: ["--family", family, "--jobs", jobs, "--log-denied"],
          rulesSuffix: ".rules.\(tag)", ipsetSuffix: nil, in: directory, name: "fleet-rules-\(family)-\(jobs)")
      }
    }
    try checkAgainstSingleNodeRuns(
      ["fleet.yaml"], args: ["--backend", "nft"], rulesSuffix: ".nft", ipsetSuffix: nil, in: directory,
      name: "fleet-nft")
  }

  /// A failure at any node leaves every file as it was, and no temporary
  /// file behind.
  func testAFailureWritesNothing() throws {
    let out = try scratch("failure")
    try Data("old\n".utf8).write(to: out.appendingPathComponent("node-a.rules.v4"))
    // A directory where node-b's rules go: found before any rename.
    try FileManager.default.createDirectory(
      at: out.appendingPathComponent("node-b.rules.v4"), withIntermediateDirectories: false)
    let run = try PolicycBinary.policyc(
      ["compile", "--all-nodes", "-o", out.path, "--ipset-out", out.path, "samples/cluster"], in: repository)
    XCTAssertEqual(run.status, 2)
    XCTAssertTrue(run.stderr.contains("node-b.rules.v4: cannot write: not a regular file"), run.stderr)
    XCTAssertEqual(files(out), ["node-a.rules.v4", "node-b.rules.v4"])
    XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("node-a.rules.v4"), encoding: .utf8), "old\n")
  }

  /// A scratch folder with a file system of its own (`mount -t TYPE`),
  /// unmounted after the test. Needs root, as the kernel suite does.
  func mounted(_ type: String, options: [String] = [], name: String) throws -> URL {
    let url = try scratch(name)
    let mount = try PolicycBinary.run(
      ["-t", type] + options + [type, url.path], executable: "/bin/mount", in: url)
    try XCTSkipUnless(mount.status == 0, "cannot mount \(type) here (root needed): \(mount.stderr)")
    addTeardownBlock { _ = try? PolicycBinary.run(["-l", url.path], executable: "/bin/umount", in: nil) }
    return url
  }

  /// A cluster whose fleet files are megabytes: bench/gen.py's W1
  /// (10 nodes, about 280 KB of rules each).
  func generatedCluster() throws -> URL {
    let file = try scratch("input").appendingPathComponent("w1.yaml")
    let gen = try PolicycBinary.run(
      ["bench/gen.py", "--shape", "w1", "--seed", "1", "--format", "yaml", "--out", file.path],
      executable: "/usr/bin/python3", in: repository)
    XCTAssertEqual(gen.status, 0, gen.stderr)
    return file
  }

  /// A disk that fills up while the files are written: exit 2 with the
  /// reason, the old file as it was, and no temporary file left.
  func testAFullDiskWritesNothing() throws {
    let out = try mounted("tmpfs", options: ["-o", "size=256k"], name: "full")
    try Data("old\n".utf8).write(to: out.appendingPathComponent("node-0000.rules.v4"))
    let run = try PolicycBinary.policyc(
      ["compile", "--all-nodes", "-o", out.path, try generatedCluster().path], in: repository)
    XCTAssertEqual(run.status, 2, run.stderr)
    XCTAssertTrue(run.stderr.contains("No space left on device"), run.stderr)
    XCTAssertEqual(files(out), ["node-0000.rules.v4"])
    XCTAssertEqual(
      try String(contentsOf: out.appendingPathComponent("node-0000.rules.v4"), encoding: .utf8), "old\n")
  }

  /// ramfs takes no direct I/O: the files are written the buffered way,
  /// the same bytes as on a file system that takes it.
  func testAFileSystemWithoutDirectIOGetsTheSameFiles() throws {
    let ramfs = try mounted("ramfs", name: "ramfs")
    let disk = try scratch("disk")
    let input = try generatedCluster()
    for out in [ramfs, disk] {
      let run = try PolicycBinary.policyc(
        ["compile", "--all-nodes", "-o", out.path, "--ipset-out", out.path, input.path], in: repository)
      XCTAssertEqual(run.status, 0, run.stderr)
    }
    let written = files(disk)
    XCTAssertEqual(written.count, 20, "\(written)")
    XCTAssertEqual(files(ramfs), written)
    for name in written {
      let (a, b) = (
        try Data(contentsOf: ramfs.appendingPathComponent(name)),
        try Data(contentsOf: disk.appendingPathComponent(name))
      )
      XCTAssertTrue(a == b, "\(name): \(a.count) bytes on ramfs, \(b.count) on disk")
    }
  }

  func testRefusals() throws {
    let out = try scratch("refusals")
    let withNode = try PolicycBinary.policyc(
      ["compile", "--all-nodes", "--node", "node-a", "-o", out.path, "samples/cluster"], in: repository)
    XCTAssertEqual(withNode.status, 2)
    XCTAssertTrue(withNode.stderr.contains("leave out --node"), withNode.stderr)
    let noOutput = try PolicycBinary.policyc(["compile", "--all-nodes", "samples/cluster"], in: repository)
    XCTAssertEqual(noOutput.status, 2)
    XCTAssertTrue(noOutput.stderr.contains("--all-nodes needs -o DIR"), noOutput.stderr)
    XCTAssertEqual(files(out), [])
  }
}
