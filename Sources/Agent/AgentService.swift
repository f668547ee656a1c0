import KubeClient
import Logging
import NIOCore
import ServiceLifecycle

/// The whole agent as one service: restore, health server, list-and-watch
/// loops, syncs and resyncs. SIGTERM (a graceful shutdown) stops it and
/// leaves the rules in force; `policyc remove` takes them off a node.
public struct AgentService: Service {
  public var transport: any KubeTransport
  public var agent: Agent
  public var health: Health
  public var metrics: AgentMetrics
  public var listen: (host: String, port: Int)
  public var timing: AgentTiming
  public var logger: Logger
  public var resources: [Resource] = Resource.all

  public init(
    transport: any KubeTransport, enforcer: Enforcer, listen: (host: String, port: Int), timing: AgentTiming,
    logger: Logger
  ) {
    self.transport = transport
    health = Health()
    metrics = AgentMetrics()
    agent = Agent(enforcer: enforcer, metrics: metrics, health: health, timing: timing, logger: logger)
    self.listen = listen
    self.timing = timing
    self.logger = logger
  }

  public func run() async throws {
    let server = try await HealthServer.start(host: listen.host, port: listen.port, health: health, metrics: metrics)
    logger.info("serving /healthz, /readyz and /metrics", metadata: ["listen": "\(listen.host):\(listen.port)"])
    await agent.restoreLastApplied()
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await agent.runSyncLoop() }
      for resource in resources {
        let watcher = ListWatcher(transport: transport, resource: resource, sink: agent, logger: logger)
        group.addTask { await watcher.run() }
      }
      group.addTask {
        while !Task.isCancelled {
          do { try await Task.sleep(for: timing.resync) } catch { return }
          await agent.requestResync()
        }
      }
      group.addTask {
        try? await gracefulShutdown()
        logger.info("stopping; the rules in force stay loaded")
      }
      await group.next()
      group.cancelAll()
    }
    try? await server.close()
  }
}
