// libFuzzer entry point for policyc: one input is one manifest file, fed
// through everything a file from a pull request or a node's dump meets:
//
//   YAMLBridge (libyaml events -> tree, limits, anchors, merges, pruning)
//   -> Loader (decoding and validation of Namespace, Pod, workloads,
//      NetworkPolicy, Lists), once whole and once as `compile` reads it
//      (pruned, on two threads)
//   -> Cluster -> IptablesCompiler (plain and ipset mode)
//      -> RestoreWriter / IPSetWriter; NftCompiler -> NftWriter (with --log-denied)
//   -> PolicyAnalysis: ConnectivityMatrix, Explanation, ConnectivityDiffer,
//      LintEngine and its reporters (small clusters only, to keep it fast)
//   and, for inputs up to 4 KiB, LintConfig.parse (a `lint --config` file).
//
// Besides "must not crash", it checks two promises the sources make, as
// differential oracles (turn them off with FUZZ_ORACLES=0):
//   1. pruning (LoadOptions.compilePruning) never changes the rules: when
//      both the whole and the pruned read are error-free, they compile to
//      byte-identical restore and ipset files;
//   2. the parallel loader (ParallelLoad/Chunker, used only above 64 KiB) is
//      the one-thread loader: the input, when it has the shape the Chunker
//      splits (and its length is a multiple of 4, to bound the cost), is
//      padded past 64 KiB with a trailing comment and loaded with jobs 1 and
//      jobs 2; diagnostics, objects and rules must be the same; and the same
//      padded input read as compile reads it (compilePruning) gives the same
//      with and without `eventDecoding` (PolicyModel/EventDecoder.swift):
//      diagnostics, objects (policies and admin policies field by field,
//      with every location) and rules.
// A broken promise traps with both sides printed, so it is kept as a crash.
//
// Built by Fuzz/build.sh; run by Fuzz/run.sh. Also a plain replayer: the
// binary built by build.sh takes files as arguments (libFuzzer's own
// `policyc-fuzz FILE...` runs each input once).

import IptablesEmitter
import NftEmitter
import PolicyAnalysis
import PolicyModel
import RuleModel
import YAMLBridge

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Cheap analysis only below this many pods (matrix and lint are quadratic-ish).
let analysisPodLimit = 50

/// FUZZ_ORACLES: unset or "1" both oracles, "0" none, "prune" or "parallel" one.
let oracles: String = getenv("FUZZ_ORACLES").map { String(cString: $0) } ?? "1"
let pruneOracle = oracles == "1" || oracles == "prune"
let parallelOracle = oracles == "1" || oracles == "parallel"
/// FUZZ_PARALLEL_EVERY=1: the parallel oracle on every input, not one length
/// in four (Fuzz/run.sh --replay sets it).
let parallelEvery = getenv("FUZZ_PARALLEL_EVERY").map { String(cString: $0) == "1" } ?? false

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  FuzzOne.run(bytes)
  return 0
}

enum FuzzOne {
  static let probes = [
    PortProbe(port: 80, proto: .tcp), PortProbe(port: 53, proto: .udp), PortProbe(port: 9090, proto: .sctp),
  ]

  static func run(_ bytes: [UInt8]) {
    let source = InputSource(path: "fuzz", bytes: bytes)

    // What lint, matrix, diff and explain read: everything, one thread.
    let whole = Loader.load([source], options: LoadOptions())
    // What compile and apply read: pruned, on several threads.
    let pruned = Loader.load([source], options: LoadOptions(jobs: 2, pruning: LoadOptions.compilePruning))

    let wholeRules = whole.errors.isEmpty ? compileAll(whole) : nil
    let prunedRules = pruned.errors.isEmpty ? compileAll(pruned) : nil
    if pruneOracle, let wholeRules, let prunedRules, wholeRules != prunedRules {
      mismatch("pruned read compiles differently from the whole read", wholeRules.joined(), prunedRules.joined())
    }

    if whole.errors.isEmpty { analyse(whole, source: source) }
    // The same bytes as a `policyc lint --config` file (small files only).
    if bytes.count <= 4096 { _ = try? LintConfig.parse(bytes, path: "fuzz") }
    if parallelOracle { checkParallel(bytes) }
  }

  /// Restore file and ipset script: all pods local, the same with ipsets, and
  /// for one node. A compile failure (a reported chain-name collision, not a
  /// crash) is kept as its message, so both oracles compare it too.
  static func compileAll(_ inventory: Inventory) -> [String] {
    let cluster = Cluster(inventory)
    var out: [String] = []
    for (node, useIPSets) in [(nil, false), (nil, true), (firstNode(cluster), false)] as [(String?, Bool)] {
      do {
        let ruleSet = try IptablesCompiler.compile(cluster, options: EmitOptions(node: node, useIPSets: useIPSets))
        out.append(RestoreWriter.render(ruleSet))
        out.append(IPSetWriter.render(ruleSet.sets))
      } catch {
        out.append("failure: \(error)")
      }
    }
    do {
      let options = EmitOptions(node: firstNode(cluster), log: DenyLog(target: .log))
      out.append(NftWriter.render(try NftCompiler.compile(cluster, options: options)))
    } catch {
      out.append("failure: \(error)")
    }
    return out
  }

  static func firstNode(_ cluster: Cluster) -> String? {
    cluster.pods.lazy.compactMap(\.nodeName).first ?? "node-a"
  }

  static func analyse(_ inventory: Inventory, source: InputSource) {
    let cluster = Cluster.forAnalysis(inventory)
    guard cluster.pods.count <= analysisPodLimit, cluster.policies.count <= analysisPodLimit else { return }
    let matrix = ConnectivityMatrix.compute(cluster: cluster, ports: probes)
    _ = MatrixReporter.text(matrix)
    _ = MatrixReporter.json(matrix)
    _ = MatrixReporter.csv(matrix)
    _ = MatrixReporter.dot(matrix)
    if let first = cluster.pods.first, let last = cluster.pods.last {
      let from = Endpoint.pod(namespace: first.meta.namespace, name: first.meta.name)
      let to = Endpoint.pod(namespace: last.meta.namespace, name: last.meta.name)
      _ = Explanation.explain(cluster: cluster, from: from, to: to, probe: probes[0]).text
      if let ip = IPAddress("192.0.2.1") {
        _ = Explanation.explain(cluster: cluster, from: .address(ip), to: to, probe: probes[1]).text
      }
    }
    _ = DiffReporter.text(ConnectivityDiffer.diff(old: Inventory(), new: inventory))
    let lint = LintEngine.run([source])
    _ = TextReporter.render(lint)
    _ = JSONReporter.render(lint)
    _ = SARIFReporter.render(lint)
    _ = GitHubReporter.render(lint)
  }

  // MARK: parallel loading oracle

  /// Whether the Chunker would split this text once it is over 64 KiB:
  /// an `items:` line, or at least 8 `---` lines (jobs 2 asks for 8 pieces).
  static func splittable(_ bytes: [UInt8]) -> Bool {
    var markers = 0
    var lineStart = true
    var i = 0
    let n = bytes.count
    while i < n {
      if lineStart {
        if i + 2 < n, bytes[i] == 0x2d, bytes[i + 1] == 0x2d, bytes[i + 2] == 0x2d { markers += 1 }
        if i + 6 < n, bytes[i] == 0x69, bytes[i + 1] == 0x74, bytes[i + 2] == 0x65, bytes[i + 3] == 0x6d,
          bytes[i + 4] == 0x73, bytes[i + 5] == 0x3a
        {
          return true
        }
      }
      lineStart = bytes[i] == 0x0a
      i += 1
    }
    return markers >= 8
  }

  /// Costs two loads of 64 KiB (up to 20 ms under ASan), so while fuzzing
  /// only one input length in four takes it: deterministic per input, and
  /// still reached by mutation.
  static func checkParallel(_ bytes: [UInt8]) {
    guard parallelEvery || bytes.count & 3 == 0, bytes.count <= 1 << 16, splittable(bytes) else { return }
    var padded = bytes
    padded += Array("\n#".utf8)
    padded += [UInt8](repeating: 0x78, count: (1 << 16) + 1 - bytes.count)
    padded.append(0x0a)
    let source = InputSource(path: "fuzz", bytes: padded)
    let one = Loader.load([source], options: LoadOptions(jobs: 1))
    let two = Loader.load([source], options: LoadOptions(jobs: 2))
    let a = describe(one)
    let b = describe(two)
    if a != b { mismatch("jobs 2 (chunked) reads differently from jobs 1", a, b) }
    // Compile's read: the pieces' Pods, Namespaces, NetworkPolicies and admin policies decoded from events
    // must give what the tree decoder gives with the same pruning.
    let tree = LoadOptions(jobs: 1, pruning: LoadOptions.compilePruning)
    var events = tree
    events.eventDecoding = true
    let c = describe(Loader.load([source], options: tree))
    let d = describe(Loader.load([source], options: events))
    if c != d { mismatch("decoding from events reads differently from the tree", c, d) }
  }

  static func describe(_ inventory: Inventory) -> String {
    var out = "documents \(inventory.documentCount)\n"
    for d in inventory.diagnostics { out += d.formatted + "\n" }
    for n in inventory.namespaces { out += "ns \(n.name) \(n.labels.sorted { $0.key < $1.key })\n" }
    for p in inventory.pods { out += "pod \(p.meta.namespace)/\(p.meta.name) \(p.meta.location.line)\n" }
    for w in inventory.workloads { out += "workload \(w.meta.namespace)/\(w.meta.name) \(w.meta.location.line)\n" }
    for p in inventory.policies { out += describe(p) }
    for p in inventory.adminPolicies { out += describe(p) }
    for s in inventory.skipped { out += "skipped \(s.kind) \(s.location.line):\(s.location.column)\n" }
    if inventory.errors.isEmpty {
      // One compile is enough here: the inventories differ or they do not.
      do {
        let ruleSet = try IptablesCompiler.compile(Cluster(inventory), options: EmitOptions(node: nil, useIPSets: true))
        out += RestoreWriter.render(ruleSet) + IPSetWriter.render(ruleSet.sets)
      } catch {
        out += "failure: \(error)"
      }
    }
    return out
  }

  static func span(_ l: SourceLocation) -> String { "\(l.span.start)-\(l.span.end)" }
  static func labels(_ m: [String: String]) -> String { "\(m.sorted { $0.key < $1.key })" }
  static func selector(_ s: LabelSelector?) -> String {
    s.map { "{\(labels($0.matchLabels)) \($0.expressions.map { "\($0.key) \($0.op) \($0.values)" })}" } ?? "-"
  }

  static func rule(_ r: PolicyRule) -> String {
    let peers = r.peers.map { peer -> String in
      switch peer.kind {
      case .selectors(let pods, let namespaces):
        return "\(selector(pods)) \(selector(namespaces)) \(span(peer.location))"
      case .ipBlock(let block): return "\(block.cidr) \(block.except) \(span(peer.location))"
      }
    }
    let ports = r.ports.map {
      "\($0.proto) \(String(describing: $0.port)) \(String(describing: $0.endPort)) \(span($0.location))"
    }
    return "    rule \(span(r.location)) \(peers) \(ports)\n"
  }

  /// An admin policy as decoded, tier, lowered peers and ports and every
  /// location included: decoding from events must give the tree's.
  static func describe(_ p: AdminPolicy) -> String {
    let m = p.meta
    let rules = { (rules: [AdminRule]) in rules.map { "  \($0.name) \($0.action)\n" + rule($0.match) }.joined() }
    return "admin \(p.kind) \(m.namespace)/\(m.name) \(m.namespaceWritten) \(span(m.location)) \(labels(m.labels)) "
      + "\(labels(m.annotations)) \(m.owners) \(p.tier) \(selector(p.subject.namespaces)) \(selector(p.subject.pods))\n"
      + rules(p.ingress) + "  egress\n" + rules(p.egress)
  }

  /// A policy as decoded, defaults and every location included: decoding
  /// from events must give the tree's policies field for field.
  static func describe(_ p: NetworkPolicy) -> String {
    let m = p.meta
    return "netpol \(m.namespace)/\(m.name) \(m.namespaceWritten) \(span(m.location)) \(labels(m.labels)) "
      + "\(labels(m.annotations)) \(m.owners) \(selector(p.podSelector)) \(p.policyTypes) \(p.policyTypesWritten)\n"
      + p.ingress.map(rule).joined() + "  egress\n" + p.egress.map(rule).joined()
  }

  static func mismatch(_ what: String, _ a: String, _ b: String) -> Never {
    let lines = { (s: String) in s.split(separator: "\n", omittingEmptySubsequences: false) }
    let la = lines(a)
    let lb = lines(b)
    var first = 0
    while first < min(la.count, lb.count), la[first] == lb[first] { first += 1 }
    var message = "policyc-fuzz: ORACLE: \(what)\n  first difference at line \(first + 1):\n"
    message += "  - \(first < la.count ? String(la[first].prefix(300)) : "<end>")\n"
    message += "  + \(first < lb.count ? String(lb[first].prefix(300)) : "<end>")\n"
    fatalError(message)
  }
}
