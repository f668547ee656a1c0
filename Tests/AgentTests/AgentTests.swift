import Agent
import Foundation
import IptablesEmitter
import KubeClient
import Logging
import NodeApply
import PolicyModel
import RuleModel
import Testing
import YAMLBridge

func object(_ json: String) -> KubeObject {
  KubeObject(node: YAMLParser.parse(Array(json.utf8)).documents[0].root!)
}

@Suite struct ClusterCacheTests {
  @Test func podUpdatesOfIgnoredFieldsChangeNothing() {
    var cache = ClusterCache()
    #expect(cache.apply(.upsert(object(JSON.pod("a", rv: "1"))), to: .pods).relevant)
    // A new resourceVersion and annotation: nothing policyc reads.
    let quiet = cache.apply(.upsert(object(JSON.pod("a", rv: "2", annotations: ["x": "y"]))), to: .pods)
    #expect(!quiet.relevant)
    for changed in [
      JSON.pod("a", rv: "3", labels: ["app": "db"]), JSON.pod("a", rv: "4", labels: ["app": "db"], ip: "10.0.0.6"),
      JSON.pod("a", rv: "5", labels: ["app": "db"], ip: "10.0.0.6", node: "node-b"),
    ] {
      #expect(cache.apply(.upsert(object(changed)), to: .pods).relevant)
    }
    #expect(cache.apply(.delete(object(JSON.pod("a"))), to: .pods).relevant)
    #expect(!cache.apply(.delete(object(JSON.pod("a"))), to: .pods).relevant)
  }

  @Test func namespaceLabelsMatterAndVersionsDoNot() {
    var cache = ClusterCache()
    #expect(cache.apply(.upsert(object(JSON.namespace("ns", rv: "1"))), to: .namespaces).relevant)
    #expect(!cache.apply(.upsert(object(JSON.namespace("ns", rv: "2"))), to: .namespaces).relevant)
    #expect(cache.apply(.upsert(object(JSON.namespace("ns", rv: "3", labels: ["t": "x"]))), to: .namespaces).relevant)
  }

  @Test func undecodableObjectKeepsTheLastGoodVersion() {
    var cache = ClusterCache()
    _ = cache.apply(.upsert(object(JSON.policy("p", rv: "1"))), to: .networkPolicies)
    let broken = JSON.policy(
      "p", rv: "2", selector: "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Sometimes\"}]}")
    let change = cache.apply(.upsert(object(broken)), to: .networkPolicies)
    #expect(change.rejected.count == 1)
    #expect(change.rejected[0].contains("the last good version is kept"))
    let kept = cache.inventory.policies
    #expect(kept.count == 1)
    #expect(kept[0].podSelector.matchLabels == ["app": "web"])
    #expect(kept[0].ingress.count == 1)
  }

  /// A large list page decodes on every core (`decodeAll`): the objects,
  /// their rejections and their order are one-by-one decoding's.
  @Test func largeListDecodesAsOneByOne() {
    let objects = (0..<300).map { i in
      object(
        i % 7 == 3
          ? JSON.policy(
            "p\(i)", rv: "1", selector: "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Sometimes\"}]}")
          : JSON.policy("p\(i)", rv: "1"))
    }
    var whole = ClusterCache()
    let listed = whole.apply(.replace(objects), to: .networkPolicies)
    var single = ClusterCache()
    var rejected: [String] = []
    for object in objects { rejected += single.apply(.upsert(object), to: .networkPolicies).rejected }
    #expect(listed.rejected.count == 43)
    #expect(listed.rejected == rejected)
    #expect(whole.inventory.policies.count == 300)
    #expect(whole.inventory.policies == single.inventory.policies)
    #expect(whole.snapshotJSON() == single.snapshotJSON())
  }

  @Test func newUndecodablePolicyIsolatesItsPods() {
    var cache = ClusterCache()
    let broken = """
      {"kind":"NetworkPolicy","apiVersion":"networking.k8s.io/v1","metadata":{"name":"p","namespace":"prod","resourceVersion":"4"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},"ingress":[{"ports":[{"port":"not a port name!"}]}]}}
      """
    let change = cache.apply(.upsert(object(broken)), to: .networkPolicies)
    #expect(change.relevant)
    #expect(change.rejected.count == 1)
    let policies = cache.inventory.policies
    #expect(policies.count == 1)
    #expect(policies[0].meta.namespace == "prod")
    #expect(policies[0].podSelector.matchLabels == ["app": "db"])
    #expect(policies[0].policyTypes == [.egress, .ingress] || policies[0].policyTypes == [.ingress, .egress])
    #expect(policies[0].ingress.isEmpty && policies[0].egress.isEmpty)
  }

  @Test func replaceDropsWhatVanishedDuringTheGap() {
    var cache = ClusterCache()
    _ = cache.apply(.replace([object(JSON.pod("a")), object(JSON.pod("b", ip: "10.0.0.6"))]), to: .pods)
    #expect(!cache.apply(.replace([object(JSON.pod("a")), object(JSON.pod("b", ip: "10.0.0.6"))]), to: .pods).relevant)
    #expect(cache.apply(.replace([object(JSON.pod("b", ip: "10.0.0.6"))]), to: .pods).relevant)
    #expect(cache.inventory.pods.map(\.meta.name) == ["b"])
    #expect(cache.apply(.notInstalled, to: .pods).relevant)
    #expect(cache.inventory.pods.isEmpty)
  }

  @Test func prunedListItemsDecodeAsWholeOnes() throws {
    // A list item with what the agent never reads: managed fields, volumes, conditions.
    let rich = JSON.pod("a", annotations: ["note": "x"])
      .replacingOccurrences(of: "\"kind\":\"Pod\",\"apiVersion\":\"v1\",", with: "")
      .replacingOccurrences(
        of: "\"labels\":",
        with: "\"managedFields\":[{\"manager\":\"kubelet\",\"fieldsV1\":{\"f:status\":{}}}],\"labels\":"
      )
      .replacingOccurrences(of: "\"nodeName\":", with: "\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],\"nodeName\":")
      .replacingOccurrences(of: "\"phase\":", with: "\"conditions\":[{\"type\":\"Ready\"}],\"phase\":")
    let body = Array(JSON.list([rich], rv: "3").utf8)
    let pruning = ClusterCache.pruning(for: .pods).map { Pruning.listItems(of: "Pod", $0) }
    let pruned = try ListPage.decode(body, pruning: pruning)
    #expect(pruned.items[0].node["metadata"]?["managedFields"]?.sequenceItems == nil)
    #expect(pruned.items[0].node["spec"]?["volumes"]?.sequenceItems == nil)
    let whole = try ListPage.decode(body)
    #expect(whole.items[0].node["spec"]?["volumes"]?.sequenceItems?.count == 1)
    var fromPruned = ClusterCache()
    var fromWhole = ClusterCache()
    #expect(fromPruned.apply(.replace(pruned.items), to: .pods).rejected.isEmpty)
    #expect(fromWhole.apply(.replace(whole.items), to: .pods).rejected.isEmpty)
    #expect(fromPruned.snapshotJSON() == fromWhole.snapshotJSON())
    // The whole object read over the pruned one changes nothing policyc reads.
    #expect(!fromPruned.apply(.upsert(whole.items[0]), to: .pods).relevant)
    #expect(ClusterCache.pruning(for: .networkPolicies) == nil)
  }

  @Test func snapshotReadsBackAsTheSameObjects() throws {
    var cache = ClusterCache()
    _ = cache.apply(.replace([object(JSON.namespace("default", labels: ["a": "b"]))]), to: .namespaces)
    // List items come without kind and apiVersion; the snapshot must name them.
    let bare = [JSON.pod("a"), JSON.pod("b", ip: "10.0.0.6")].map {
      $0.replacingOccurrences(of: "\"kind\":\"Pod\",\"apiVersion\":\"v1\",", with: "")
    }
    let page = try ListPage.decode(Array(JSON.list(bare, rv: "3").utf8))
    #expect(page.items[0].node["kind"] == nil)
    _ = cache.apply(.replace(page.items), to: .pods)
    _ = cache.apply(.replace([object(JSON.policy("p"))]), to: .networkPolicies)
    let text = cache.snapshotJSON()
    let inventory = Loader.load([InputSource(path: "snapshot", bytes: Array(text.utf8))])
    #expect(inventory.errors.isEmpty)
    #expect(inventory.pods.map(\.meta.name) == ["a", "b"])
    #expect(inventory.policies.map(\.meta.name) == ["p"])
    #expect(inventory.namespaces.first?.labels["a"] == "b")
  }
}

/// Stands in for the kernel tools: every call succeeds (unless `failing`),
/// and is counted.
final class CountingRunner: CommandRunner, @unchecked Sendable {
  let lock = NSLock()
  var restores = 0
  /// `ipset -exist restore` calls: pod updates applied as member changes.
  var memberInputs: [String] = []
  /// iptables-restore fails (and is counted) while set.
  var failing = false

  func run(_ arguments: [String], input: String?) throws(RunFailure) -> String {
    lock.lock()
    defer { lock.unlock() }
    if arguments[0] == "iptables-restore" {
      restores += 1
      if failing { throw RunFailure(program: arguments[0], kind: .exited(1), message: "refused by the test") }
    }
    if arguments == ["ipset", "-exist", "restore"] { memberInputs.append(input ?? "") }
    return ""
  }

  var memberUpdates: [String] {
    lock.lock()
    defer { lock.unlock() }
    return memberInputs
  }

  var count: Int {
    lock.lock()
    defer { lock.unlock() }
    return restores
  }
}

@Suite struct AgentSyncTests {
  func makeAgent(coalesce: Duration) -> (Agent, CountingRunner) {
    let (agent, runner, _) = makeAgentIn(coalesce: coalesce)
    return (agent, runner)
  }

  func makeAgentIn(coalesce: Duration) -> (Agent, CountingRunner, String) {
    let runner = CountingRunner()
    let directory = NSTemporaryDirectory() + "policyc-agent-\(UUID().uuidString)"
    let enforcer = Enforcer(
      backend: .iptables, families: [.ipv4], options: EmitOptions(node: "node-a"), stateDirectory: directory,
      applier: NodeApplier(tools: NodeTools(), runner: runner))
    var timing = AgentTiming()
    timing.coalesce = coalesce
    let agent = Agent(
      enforcer: enforcer, metrics: AgentMetrics(), health: Health(), timing: timing, logger: Logger(label: "test"))
    return (agent, runner, directory)
  }

  func listAll(_ agent: Agent) async {
    for resource in Resource.all {
      let items: [KubeObject] =
        switch resource.kind {
        case "Pod": [object(JSON.pod("a")), object(JSON.pod("b", ip: "10.0.0.6", node: "node-b"))]
        case "NetworkPolicy": [object(JSON.policy("p"))]
        default: []
        }
      await agent.apply(.replace(items), to: resource, receivedAt: .now)
    }
  }

  func settle(_ agent: Agent, expect count: Int) async -> Int {
    for _ in 0..<300 where await agent.syncCount < count { try? await Task.sleep(for: .milliseconds(10)) }
    try? await Task.sleep(for: .milliseconds(300))
    return await agent.syncCount
  }

  @Test func eventsAreCoalescedIntoOneSync() async {
    let (agent, runner, directory) = makeAgentIn(coalesce: .milliseconds(150))
    let loop = Task { await agent.runSyncLoop() }
    defer { loop.cancel() }
    await listAll(agent)
    #expect(await settle(agent, expect: 1) == 1)
    for n in 0..<20 {
      let pod = JSON.pod("new-\(n)", rv: "\(100 + n)", ip: "10.0.1.\(n + 1)", node: "node-b")
      await agent.apply(.upsert(object(pod)), to: .pods, receivedAt: .now)
    }
    #expect(await settle(agent, expect: 2) == 2)
    // Pods of another node that join a peer set: members, not rules.
    #expect(runner.count == 1)
    #expect(runner.memberUpdates.count == 1)
    #expect(runner.memberUpdates.first?.split(separator: "\n").count == 20)
    // The state file, removed while the members changed, is back within a
    // second or so, holding them.
    let path = directory + "/apply.state"
    for _ in 0..<40 where StateFile.read(path) == nil { try? await Task.sleep(for: .milliseconds(50)) }
    #expect(StateFile.read(path)?.sets.values.contains { $0.members.contains("10.0.1.20") } == true)
  }

  @Test func ignoredPodFieldsTriggerNoSync() async {
    let (agent, runner) = makeAgent(coalesce: .milliseconds(20))
    let loop = Task { await agent.runSyncLoop() }
    defer { loop.cancel() }
    await listAll(agent)
    #expect(await settle(agent, expect: 1) == 1)
    await agent.apply(
      .upsert(object(JSON.pod("a", rv: "9", annotations: ["touched": "yes"]))), to: .pods, receivedAt: .now)
    #expect(await settle(agent, expect: 2) == 1)
    await agent.apply(.upsert(object(JSON.pod("a", rv: "10", labels: ["app": "db"]))), to: .pods, receivedAt: .now)
    #expect(await settle(agent, expect: 2) == 2)
    #expect(runner.count == 2)
  }

  @Test func failedSyncWaitsForItsRetryWhateverArrives() async {
    let (agent, runner) = makeAgent(coalesce: .milliseconds(10))
    runner.lock.withLock { runner.failing = true }
    let loop = Task { await agent.runSyncLoop() }
    defer { loop.cancel() }
    await listAll(agent)
    for _ in 0..<100 where runner.count == 0 { try? await Task.sleep(for: .milliseconds(10)) }
    #expect(runner.count == 1)
    // Events keep coming; the retry is due in 0.5 to 1 s, and nothing
    // runs before it (one sync per event would hammer a failing kernel).
    for n in 0..<20 {
      let pod = JSON.pod("new-\(n)", rv: "\(100 + n)", ip: "10.0.1.\(n + 1)", node: "node-b")
      await agent.apply(.upsert(object(pod)), to: .pods, receivedAt: .now)
      try? await Task.sleep(for: .milliseconds(20))
    }
    #expect(runner.count == 1, "\(runner.count) attempts within 0.4 s of a failure")
    // Then it retries, and succeeds once the kernel takes it.
    runner.lock.withLock { runner.failing = false }
    #expect(await settle(agent, expect: 1) == 1)
    #expect(runner.count >= 2)
  }

  @Test func noSyncBeforeEveryKindIsListed() async {
    let (agent, runner) = makeAgent(coalesce: .milliseconds(10))
    let loop = Task { await agent.runSyncLoop() }
    defer { loop.cancel() }
    await agent.apply(.replace([object(JSON.pod("a"))]), to: .pods, receivedAt: .now)
    await agent.apply(.upsert(object(JSON.pod("b", ip: "10.0.0.9"))), to: .pods, receivedAt: .now)
    #expect(await settle(agent, expect: 1) == 0)
    #expect(runner.count == 0)
  }
}

@Suite struct AppliedRecordTests {
  @Test func snapshotThenJournalGiveTheLastAppliedObjects() throws {
    let directory = NSTemporaryDirectory() + "policyc-record-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let record = AppliedRecord(directory: directory)
    #expect(record.load() == nil)
    var cache = ClusterCache()
    _ = cache.apply(.replace([object(JSON.pod("a")), object(JSON.pod("b", ip: "10.0.0.6"))]), to: .pods)
    _ = cache.apply(.replace([object(JSON.policy("p"))]), to: .networkPolicies)
    try record.record(snapshot: cache.snapshotJSON(generation: "g1"), generation: "g1", changes: [])
    _ = cache.apply(.upsert(object(JSON.pod("a", rv: "5", labels: ["app": "db"]))), to: .pods)
    try record.record(
      snapshot: nil, generation: "g1",
      changes: [
        .init(deleted: false, resource: "pods", json: cache.json(.pods, key: "default/a")!),
        .init(deleted: true, resource: "pods", json: JSON.pod("b")),
      ])
    let loaded = try #require(record.load())
    #expect(loaded.inventory.pods.map(\.meta.name) == ["a"])
    #expect(loaded.inventory.pods[0].meta.labels == ["app": "db"])
    #expect(loaded.inventory.policies.map(\.meta.name) == ["p"])
    // A line cut short by a crash ends the replay there.
    let handle = try #require(FileHandle(forWritingAtPath: record.directory + "/cluster.journal"))
    handle.seekToEndOfFile()
    handle.write(Data("U\tpods\t{\"kind\":\"Pod\",\"metad".utf8))
    handle.closeFile()
    #expect(record.load()?.inventory.pods.map(\.meta.name) == ["a"])
    // A new snapshot starts a new journal.
    try record.record(snapshot: ClusterCache().snapshotJSON(generation: "g2"), generation: "g2", changes: [])
    #expect(record.load()?.inventory.pods.isEmpty == true)
    // A journal of another generation (a crash between the two writes) is not replayed.
    try record.record(snapshot: cache.snapshotJSON(generation: "g3"), generation: "g3", changes: [])
    try Data("G\tg2\nD\tpods\t\(JSON.pod("a"))\n".utf8).write(
      to: URL(fileURLWithPath: record.directory + "/cluster.journal"))
    #expect(record.load()?.inventory.pods.map(\.meta.name) == ["a", "b"])
  }
}
