import Foundation
import KubeClient
import Logging
import Testing

@Suite struct WatchEventTests {
  @Test func decodesEveryEventType() throws {
    guard case .added(let pod) = try WatchEvent.decode(Array(JSON.event("ADDED", JSON.pod("a", rv: "7")).utf8)) else {
      Issue.record("not ADDED")
      return
    }
    #expect(pod.key == "default/a")
    #expect(pod.resourceVersion == "7")
    guard case .modified = try WatchEvent.decode(Array(JSON.event("MODIFIED", JSON.pod("a")).utf8)),
      case .deleted(let gone) = try WatchEvent.decode(Array(JSON.event("DELETED", JSON.namespace("ns")).utf8))
    else {
      Issue.record("not MODIFIED / DELETED")
      return
    }
    #expect(gone.key == "ns")
    guard case .bookmark(let version) = try WatchEvent.decode(Array(JSON.bookmark("99").utf8)) else {
      Issue.record("not BOOKMARK")
      return
    }
    #expect(version == "99")
    guard case .error(let status) = try WatchEvent.decode(Array(JSON.gone.utf8)) else {
      Issue.record("not ERROR")
      return
    }
    #expect(status == KubeStatus(code: 410, reason: "Expired", message: "too old resource version"))
  }

  @Test func refusesBrokenLines() {
    for line in [
      "{", "[]", "{\"type\":\"ADDED\"}", "{\"object\":{}}", "{\"type\":\"SOMETHING\",\"object\":{}}",
      "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}",
    ] {
      #expect(throws: WatchDecodeError.self) { try WatchEvent.decode(Array(line.utf8)) }
    }
  }

  @Test func linesAreCutAcrossChunks() {
    var splitter = LineSplitter()
    #expect(splitter.feed(Array("{\"a\":".utf8)).isEmpty)
    #expect(splitter.feed(Array("1}\r\n{\"b\"".utf8)) == [Array("{\"a\":1}".utf8)])
    #expect(splitter.feed(Array(":2}\n\n".utf8)) == [Array("{\"b\":2}".utf8)])
    #expect(splitter.feed(Array("{\"c\":3}".utf8)).isEmpty)
    #expect(splitter.finish() == Array("{\"c\":3}".utf8))
    #expect(splitter.finish() == nil)
  }

  @Test func backoffGrowsCapsAndJitters() {
    let backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
    #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(50))
    #expect(backoff.delay(attempt: 0, random: 0.999) < .milliseconds(100))
    #expect(backoff.delay(attempt: 2, random: 0) == .milliseconds(200))
    #expect(backoff.delay(attempt: 20, random: 0) == .milliseconds(500))
    #expect(backoff.delay(attempt: 20, random: 0.999) <= .seconds(1))
  }
}

@Suite struct ListWatcherTests {
  func run(_ transport: FakeTransport, resource: Resource = .pods, until count: Int) async -> [String] {
    let sink = RecordingSink()
    var watcher = ListWatcher(transport: transport, resource: resource, sink: sink, logger: Logger(label: "test"))
    watcher.backoff = Backoff(base: .milliseconds(1), cap: .milliseconds(2))
    watcher.notInstalledRetry = .milliseconds(5)
    let task = Task { await watcher.run() }
    let updates = await sink.wait(for: count)
    task.cancel()
    return updates
  }

  @Test func listsEveryPageThenWatchesFromTheListVersion() async {
    let transport = FakeTransport(
      lists: [
        .page(status: 200, body: JSON.list([JSON.pod("a")], rv: "10", continueToken: "tok+/=")),
        .page(status: 200, body: JSON.list([JSON.pod("b")], rv: "12")),
      ],
      watches: [
        .watch(status: 200, lines: [JSON.event("ADDED", JSON.pod("c", rv: "13")), JSON.bookmark("20")]),
        .watch(status: 200, lines: [JSON.event("DELETED", JSON.pod("a", rv: "21"))]),
      ])
    let updates = await run(transport, until: 3)
    #expect(updates == ["replace default/a,default/b", "upsert default/c@13", "delete default/a"])
    #expect(await transport.query(0)["limit"] == "1000")
    #expect(await transport.query(0)["continue"] == nil)
    #expect(await transport.query(1)["continue"] == "tok+/=")
    let watch = await transport.query(2)
    #expect(watch["watch"] == "1")
    #expect(watch["resourceVersion"] == "12")
    #expect(watch["allowWatchBookmarks"] == "true")
    #expect(watch["timeoutSeconds"] != nil)
    // After a normal timeout, the next watch starts from the bookmark.
    #expect(await transport.query(3)["resourceVersion"] == "20")
  }

  @Test func expiredContinueTokenRestartsTheList() async {
    let transport = FakeTransport(
      lists: [
        .page(status: 200, body: JSON.list([JSON.pod("a")], rv: "10", continueToken: "old")),
        .page(status: 410, body: JSON.goneStatus),
        .page(status: 200, body: JSON.list([JSON.pod("a"), JSON.pod("b")], rv: "30")),
      ],
      watches: [])
    let updates = await run(transport, until: 1)
    #expect(updates == ["replace default/a,default/b"])
    #expect(await transport.query(2)["continue"] == nil)
  }

  @Test func goneEventRelistsAndReplaces() async {
    let transport = FakeTransport(
      lists: [
        .page(status: 200, body: JSON.list([JSON.pod("a"), JSON.pod("b")], rv: "10")),
        .page(status: 200, body: JSON.list([JSON.pod("b"), JSON.pod("c")], rv: "50")),
        .page(status: 200, body: JSON.list([JSON.pod("c")], rv: "60")),
      ],
      watches: [
        .watch(status: 200, lines: [JSON.event("MODIFIED", JSON.pod("a", rv: "11")), JSON.gone]),
        .watch(status: 410, lines: [JSON.goneStatus]),
      ])
    let updates = await run(transport, until: 4)
    #expect(
      updates == [
        "replace default/a,default/b", "upsert default/a@11", "replace default/b,default/c", "replace default/c",
      ])
  }

  @Test func notInstalledKindIsAskedAgain() async {
    let transport = FakeTransport(
      lists: [
        .page(status: 404, body: "{\"kind\":\"Status\",\"code\":404}"),
        .page(status: 200, body: JSON.list([], rv: "5")),
      ],
      watches: [])
    let updates = await run(transport, resource: .adminNetworkPolicies, until: 2)
    #expect(updates == ["not installed", "replace "])
  }

  @Test func failuresKeepTheCacheAndRetry() async {
    let transport = FakeTransport(
      lists: [
        .fail("connection refused"),
        .page(status: 500, body: "{}"),
        .page(status: 200, body: JSON.list([JSON.pod("a")], rv: "10")),
      ],
      watches: [
        .fail("connection reset"),
        .watch(status: 200, lines: [JSON.event("ADDED", JSON.pod("b", rv: "12"))]),
      ])
    let sink = RecordingSink()
    var watcher = ListWatcher(transport: transport, resource: .pods, sink: sink, logger: Logger(label: "test"))
    watcher.backoff = Backoff(base: .milliseconds(1), cap: .milliseconds(2))
    let task = Task { await watcher.run() }
    let updates = await sink.wait(for: 2)
    task.cancel()
    #expect(updates == ["replace default/a", "upsert default/b@12"])
    // The watch after the failed one starts from the same version.
    #expect(await transport.query(4)["resourceVersion"] == "10")
    let lifecycle = await sink.lifecycle
    #expect(lifecycle.filter { if case .failed = $0 { true } else { false } }.count == 3)
    #expect(lifecycle.contains(.restarted))
    #expect(lifecycle.last == .watching)
  }

  @Test func brokenWatchResumesFromItsLastEvent() async {
    let transport = FakeTransport(
      lists: [.page(status: 200, body: JSON.list([JSON.pod("a")], rv: "10"))],
      watches: [
        .watchThenFail(lines: [JSON.event("ADDED", JSON.pod("b", rv: "14")), JSON.bookmark("17")], message: "reset"),
        .watch(status: 200, lines: [JSON.event("ADDED", JSON.pod("c", rv: "18"))]),
      ])
    let updates = await run(transport, until: 3)
    #expect(updates == ["replace default/a", "upsert default/b@14", "upsert default/c@18"])
    // No relist, and the second watch starts from the bookmark, not the list.
    #expect(await transport.requests.count >= 3)
    #expect(await transport.query(2)["resourceVersion"] == "17")
  }
}
