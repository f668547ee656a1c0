import Logging
import YAMLBridge

/// Exponential backoff with jitter: `base * 2^n`, capped, then a random
/// point in its upper half, so that many agents do not retry in step.
public struct Backoff: Sendable {
  public var base: Duration
  public var cap: Duration

  public init(base: Duration = .milliseconds(250), cap: Duration = .seconds(8)) {
    self.base = base
    self.cap = cap
  }

  public func delay(attempt: Int, random: Double = Double.random(in: 0..<1)) -> Duration {
    var delay = base
    for _ in 0..<min(attempt, 30) where delay < cap { delay = delay * 2 }
    delay = min(delay, cap)
    return delay / 2 + delay / 2 * random
  }
}

/// An HTTP status other than success, with the Status the server sent.
public struct KubeAPIError: Error, Sendable, CustomStringConvertible {
  public var status: KubeStatus
  public var description: String {
    "\(status.code)\(status.reason.isEmpty ? "" : " " + status.reason)\(status.message.isEmpty ? "" : ": " + status.message)"
  }
}

/// Lists one resource in pages, then watches it from the list's
/// resourceVersion with bookmarks, for as long as its task runs. The
/// protocol, as the API documents it:
/// - LIST with `limit`; follow `metadata.continue` until it is empty;
///   "a 410 Gone on a continue token means it expired: start the list again";
/// - WATCH with `resourceVersion` and `allowWatchBookmarks=true`; every
///   event and BOOKMARK moves the version on; the server ends the stream
///   after `timeoutSeconds`, which is normal: watch again from the version;
/// - 410 (the HTTP status or an ERROR event with code 410): the version is
///   too old, relist and replace the cache;
/// - anything else: keep the cache, back off with jitter, try again.
public struct ListWatcher: Sendable {
  public var transport: any KubeTransport
  public var resource: Resource
  public var sink: any ResourceSink
  /// Objects per LIST page. kubectl and client-go's pager ask for 500; the
  /// API documents no upper bound ("the server may return fewer"), and a
  /// larger page halves the round trips of a 50,000-pod list while a page
  /// stays a few MB. Pages are parsed while the sink decodes the previous
  /// one, so pages much larger than this would only delay that overlap.
  public var pageSize = 1000
  public var backoff = Backoff()
  /// How long to wait before asking again for a kind that is not installed.
  public var notInstalledRetry: Duration = .seconds(30)
  /// The watch's `timeoutSeconds` is drawn from this range, as client-go does.
  public var watchTimeout: ClosedRange<Int> = 300...600
  public var requestTimeout: Duration = .seconds(60)
  public var logger: Logger

  public init(transport: any KubeTransport, resource: Resource, sink: any ResourceSink, logger: Logger) {
    self.transport = transport
    self.resource = resource
    self.sink = sink
    self.logger = logger
  }

  enum ListOutcome {
    /// Every page was handed to the sink, the last as `listEnd` or `replace`.
    case listed(resourceVersion: String)
    case notInstalled
  }

  enum WatchOutcome {
    /// The server closed the stream (a timeout): watch again from here.
    case ended(resourceVersion: String)
    /// 410: relist.
    case gone(String)
  }

  /// Runs until the task is cancelled.
  public func run() async {
    var version: String?
    var failures = 0
    while !Task.isCancelled {
      var progress: WatchProgress?
      do {
        if version == nil {
          switch try await listAll() {
          case .listed(let listed):
            version = listed
          case .notInstalled:
            await sink.apply(.notInstalled, to: resource, receivedAt: .now)
            try await Task.sleep(for: notInstalledRetry)
            continue
          }
        }
        let watching = WatchProgress(version: version!)
        progress = watching
        switch try await watch(watching, afterFailure: failures > 0) {
        case .ended(let reached):
          version = reached
          failures = 0
        case .gone(let why):
          version = nil
          failures = 0
          await sink.note(.relisting(why), for: resource)
        }
      } catch is CancellationError {
        return
      } catch let error as KubeAPIError where error.status.code == 410 {
        // An expired continue token, or a watch version too old.
        version = nil
        await sink.note(.relisting(error.description), for: resource)
      } catch {
        // A watch that was open counts as a success: this failure is a first one.
        if let progress {
          if await progress.opened { failures = 0 }
          // Resume from the last event or bookmark the broken watch delivered.
          version = await progress.version
        }
        failures += 1
        let delay = backoff.delay(attempt: failures - 1)
        let reason = "\(error)"
        if failures == 1 || failures % 10 == 0 {
          logger.warning(
            "api request failed; the rules in force are kept",
            metadata: [
              "resource": "\(resource)", "error": "\(reason)",
              "retry_in": "\(Int((delay / .milliseconds(1)).rounded()))ms", "failures": "\(failures)",
            ])
        }
        await sink.note(.failed(reason), for: resource)
        do { try await Task.sleep(for: delay) } catch { return }
      }
    }
  }

  /// One page of a LIST, fetched and parsed, and what that cost.
  struct FetchedPage {
    var page: ListPage
    var bytes: Int
    var parseTime: Duration
  }

  /// The subtrees of list items and watch objects the sink never reads.
  var pruning: Pruning? { sink.pruning(for: resource).map { Pruning.listItems(of: resource.kind, $0) } }

  func listAll() async throws -> ListOutcome {
    let clock = ContinuousClock()
    let started = clock.now
    let pruning = pruning
    guard var current = try await page(nil, pruning: pruning) else { return .notInstalled }
    var pages = 1
    var bytes = current.bytes
    var parse = current.parseTime
    var waited = clock.now - started
    while true {
      guard let token = current.page.continueToken else {
        let items = current.page.items
        await sink.apply(pages == 1 ? .replace(items) : .listEnd(items), to: resource, receivedAt: .now)
        logger.info(
          "listed",
          metadata: [
            "resource": "\(resource)", "pages": "\(pages)", "bytes": "\(bytes)",
            "list_ms": "\(Self.ms(clock.now - started))", "parse_ms": "\(Self.ms(parse))",
            "wait_ms": "\(Self.ms(waited))",
          ])
        return .listed(resourceVersion: current.page.resourceVersion)
      }
      // The next page travels and is parsed while the sink decodes this one.
      async let next = page(token, pruning: pruning)
      await sink.apply(.listPage(current.page.items, first: pages == 1), to: resource, receivedAt: .now)
      let waiting = clock.now
      guard let following = try await next else { return .notInstalled }
      waited += clock.now - waiting
      current = following
      pages += 1
      bytes += current.bytes
      parse += current.parseTime
    }
  }

  /// Fetches and parses one page; nil when the kind is not installed.
  func page(_ token: String?, pruning: Pruning?) async throws -> FetchedPage? {
    let response = try await fetchPage(token)
    if response.status == 404, resource.optional { return nil }
    guard response.status == 200 else {
      throw KubeAPIError(status: KubeStatus.from(body: response.body, httpStatus: response.status))
    }
    let clock = ContinuousClock()
    let started = clock.now
    let page = try ListPage.decode(response.body, pruning: pruning)
    return FetchedPage(page: page, bytes: response.body.count, parseTime: clock.now - started)
  }

  static func ms(_ duration: Duration) -> Int {
    Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
  }

  func fetchPage(_ token: String?) async throws -> KubeResponse {
    var query = [("limit", String(pageSize))]
    if let token { query.append(("continue", token)) }
    return try await transport.get(resource.path, query: query, timeout: requestTimeout)
  }

  func watch(_ progress: WatchProgress, afterFailure: Bool) async throws -> WatchOutcome {
    let seconds = Int.random(in: watchTimeout)
    let query = [
      ("watch", "1"), ("resourceVersion", await progress.version), ("allowWatchBookmarks", "true"),
      ("timeoutSeconds", String(seconds)),
    ]
    let sink = sink
    let resource = resource
    let pruning = pruning
    let response: KubeResponse
    do {
      response = try await transport.stream(
        resource.path, query: query, timeout: .seconds(seconds + 30),
        opened: { await progress.noteOpened(resource: resource, sink: sink, afterFailure: afterFailure) },
        line: { line in
          let event = try WatchEvent.decode(line, pruning: pruning)
          try await progress.handle(event, resource: resource, sink: sink, afterFailure: afterFailure)
        })
    } catch is WatchGone {
      return .gone(await progress.gone ?? "watch ERROR event 410")
    }
    if response.status == 410 { return .gone("watch answered 410 Gone") }
    if response.status == 404, resource.optional {
      // The kind was uninstalled: relist, which reports it.
      return .gone("watch answered 404")
    }
    guard response.status == 200 else {
      throw KubeAPIError(status: KubeStatus.from(body: response.body, httpStatus: response.status))
    }
    return .ended(resourceVersion: await progress.version)
  }
}

/// The state of one watch stream, updated line by line.
actor WatchProgress {
  var version: String
  var gone: String?
  var opened = false

  init(version: String) { self.version = version }

  /// The first line proves the stream is open: the loop is healthy again.
  func noteOpened(resource: Resource, sink: any ResourceSink, afterFailure: Bool) async {
    guard !opened else { return }
    opened = true
    if afterFailure { await sink.note(.restarted, for: resource) }
    await sink.note(.watching, for: resource)
  }

  func handle(_ event: WatchEvent, resource: Resource, sink: any ResourceSink, afterFailure: Bool) async throws {
    guard gone == nil else { return }
    await noteOpened(resource: resource, sink: sink, afterFailure: afterFailure)
    let now = ContinuousClock.now
    switch event {
    case .added(let object), .modified(let object):
      if let v = object.resourceVersion { version = v }
      await sink.apply(.upsert(object), to: resource, receivedAt: now)
    case .deleted(let object):
      if let v = object.resourceVersion { version = v }
      await sink.apply(.delete(object), to: resource, receivedAt: now)
    case .bookmark(let v):
      version = v
    case .error(let status) where status.code == 410:
      gone = "watch ERROR event 410 \(status.reason)"
      throw WatchGone()
    case .error(let status):
      throw KubeAPIError(status: status)
    }
  }
}

/// Ends a stream early after an ERROR event with code 410.
struct WatchGone: Error {}
