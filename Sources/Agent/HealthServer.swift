import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// What /healthz and /readyz report, updated by the agent, read by the server.
public final class Health: Sendable {
  struct State {
    var synced = false
    var unhealthyWatches: Set<String> = []
    var lastApplyOK = true
  }
  let state = NIOLockedValueBox(State())

  public init() {}

  /// Synced once, every watch healthy, and the last apply succeeded.
  public var ready: (Bool, String) {
    state.withLockedValue { state in
      if !state.synced { return (false, "not synced yet") }
      if !state.unhealthyWatches.isEmpty {
        return (false, "watches failing: " + state.unhealthyWatches.sorted().joined(separator: ", "))
      }
      if !state.lastApplyOK { return (false, "the last apply failed") }
      return (true, "ok")
    }
  }

  func update(_ body: (inout State) -> Void) { state.withLockedValue { body(&$0) } }
}

/// /healthz, /readyz and /metrics over NIO's HTTP/1 server.
public enum HealthServer {
  /// Binds `host:port` and serves until the channel is closed.
  public static func start(host: String, port: Int, health: Health, metrics: AgentMetrics) async throws -> any Channel {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
          try channel.pipeline.syncOperations.addHandler(Handler(health: health, metrics: metrics))
        }
      }
      .bind(host: host, port: port).get()
  }

  final class Handler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let health: Health
    let metrics: AgentMetrics
    var request: (uri: String, method: HTTPMethod, keepAlive: Bool) = ("", .GET, true)

    init(health: Health, metrics: AgentMetrics) {
      self.health = health
      self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch unwrapInboundIn(data) {
      case .head(let head): request = (head.uri, head.method, head.isKeepAlive)
      case .body: break
      case .end:
        let (path, method, keepAlive) = request
        let (status, type, body) = respond(path: String(path.prefix { $0 != "?" }), method: method)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
          wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(
          wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
          let channel = context.channel
          done.whenComplete { _ in channel.close(promise: nil) }
        }
      }
    }

    func respond(path: String, method: HTTPMethod) -> (HTTPResponseStatus, String, String) {
      guard method == .GET || method == .HEAD else { return (.methodNotAllowed, "text/plain", "GET only\n") }
      switch path {
      case "/healthz": return (.ok, "text/plain", "ok\n")
      case "/readyz":
        let (ready, why) = health.ready
        return (ready ? .ok : .serviceUnavailable, "text/plain", why + "\n")
      case "/metrics": return (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics.text())
      default: return (.notFound, "text/plain", "not found: /healthz, /readyz, /metrics\n")
      }
    }
  }
}
