import Foundation
import KubeClient

/// A scripted API server: each request takes the next answer for its path
/// kind (list or watch); when the script is out, requests wait until cancelled.
actor FakeTransport: KubeTransport {
  enum Answer {
    case page(status: Int, body: String)
    /// A watch: the status, then these lines, then the stream ends.
    case watch(status: Int, lines: [String])
    /// A watch that delivers these lines, then loses its connection.
    case watchThenFail(lines: [String], message: String)
    case fail(String)
  }

  var lists: [Answer]
  var watches: [Answer]
  var requests: [(path: String, query: [(String, String)])] = []

  init(lists: [Answer], watches: [Answer]) {
    self.lists = lists
    self.watches = watches
  }

  func take(_ watch: Bool, _ path: String, _ query: [(String, String)]) async throws -> Answer {
    requests.append((path, query))
    if watch, !watches.isEmpty { return watches.removeFirst() }
    if !watch, !lists.isEmpty { return lists.removeFirst() }
    try await Task.sleep(for: .seconds(3600))
    throw CancellationError()
  }

  nonisolated func get(_ path: String, query: [(String, String)], timeout: Duration) async throws -> KubeResponse {
    switch try await take(false, path, query) {
    case .page(let status, let body): return KubeResponse(status: status, body: Array(body.utf8))
    case .fail(let message): throw TransportError(message)
    case .watch, .watchThenFail: fatalError("a watch answer in the list script")
    }
  }

  nonisolated func stream(
    _ path: String, query: [(String, String)], timeout: Duration, opened: @Sendable () async -> Void,
    line: @Sendable ([UInt8]) async throws -> Void
  ) async throws -> KubeResponse {
    switch try await take(true, path, query) {
    case .watch(let status, let lines):
      guard status == 200 else { return KubeResponse(status: status, body: Array((lines.first ?? "").utf8)) }
      await opened()
      for text in lines { try await line(Array(text.utf8)) }
      return KubeResponse(status: 200, body: [])
    case .watchThenFail(let lines, let message):
      await opened()
      for text in lines { try await line(Array(text.utf8)) }
      throw TransportError(message)
    case .fail(let message): throw TransportError(message)
    case .page: fatalError("a list answer in the watch script")
    }
  }

  func query(_ index: Int) -> [String: String] {
    Dictionary(requests[index].query, uniquingKeysWith: { a, _ in a })
  }
}

/// Records what a list-and-watch loop reports.
actor RecordingSink: ResourceSink {
  var updates: [String] = []
  var pages: [String] = []
  var lifecycle: [WatchLifecycle] = []

  func apply(_ update: ResourceUpdate, to resource: Resource, receivedAt: ContinuousClock.Instant) {
    switch update {
    case .replace(let objects): updates.append("replace " + objects.map(\.key).joined(separator: ","))
    case .listPage(let objects, let first): pages = (first ? [] : pages) + objects.map(\.key)
    case .listEnd(let objects): updates.append("replace " + (pages + objects.map(\.key)).joined(separator: ","))
    case .upsert(let object): updates.append("upsert \(object.key)@\(object.resourceVersion ?? "")")
    case .delete(let object): updates.append("delete \(object.key)")
    case .notInstalled: updates.append("not installed")
    }
  }

  func note(_ lifecycle: WatchLifecycle, for resource: Resource) { self.lifecycle.append(lifecycle) }

  /// Waits until `count` updates arrived (or two seconds passed).
  func wait(for count: Int) async -> [String] {
    for _ in 0..<200 where updates.count < count { try? await Task.sleep(for: .milliseconds(10)) }
    return updates
  }
}

enum JSON {
  static func pod(
    _ name: String, namespace: String = "default", rv: String = "1", labels: [String: String] = ["app": "web"],
    ip: String = "10.0.0.5", node: String = "node-a", annotations: [String: String] = [:]
  ) -> String {
    let labelText = labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    let annotationText = annotations.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    return """
      {"kind":"Pod","apiVersion":"v1","metadata":{"name":"\(name)","namespace":"\(namespace)","resourceVersion":"\(rv)","labels":{\(labelText)},"annotations":{\(annotationText)}},"spec":{"nodeName":"\(node)","containers":[{"name":"c","image":"x","ports":[{"name":"http","containerPort":80}]}]},"status":{"phase":"Running","podIP":"\(ip)","podIPs":[{"ip":"\(ip)"}]}}
      """
  }

  static func namespace(_ name: String, rv: String = "1", labels: [String: String] = [:]) -> String {
    let labelText = labels.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    return """
      {"kind":"Namespace","apiVersion":"v1","metadata":{"name":"\(name)","resourceVersion":"\(rv)","labels":{\(labelText)}}}
      """
  }

  static func policy(_ name: String, rv: String = "1", selector: String = "{\"matchLabels\":{\"app\":\"web\"}}")
    -> String
  {
    """
    {"kind":"NetworkPolicy","apiVersion":"networking.k8s.io/v1","metadata":{"name":"\(name)","namespace":"default","resourceVersion":"\(rv)"},"spec":{"podSelector":\(selector),"policyTypes":["Ingress"],"ingress":[{"from":[{"podSelector":{}}]}]}}
    """
  }

  /// A list page; items drop their kind, as the API server sends them.
  static func list(_ items: [String], rv: String, continueToken: String? = nil) -> String {
    let token = continueToken.map { ",\"continue\":\"\($0)\"" } ?? ""
    return
      "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"\(rv)\"\(token)},\"items\":["
      + items.joined(separator: ",") + "]}"
  }

  static func event(_ type: String, _ object: String) -> String { "{\"type\":\"\(type)\",\"object\":\(object)}" }

  static func bookmark(_ rv: String) -> String {
    event("BOOKMARK", "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"\(rv)\"}}")
  }

  static let gone = event(
    "ERROR",
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}"
  )
  static let goneStatus =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"continue token expired\",\"reason\":\"Expired\",\"code\":410}"
}
