import Agent
import ArgumentParser
import Dispatch
import Foundation
import KubeClient
import Logging
import NodeApply
import PolicyModel
import ServiceLifecycle

struct AgentCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agent",
    abstract: "Enforce the cluster's policies on this node, live (root; run as a DaemonSet).",
    discussion: """
      Lists and watches Namespaces, Pods, NetworkPolicies and, when the API
      serves them, AdminNetworkPolicies and BaselineAdminNetworkPolicies;
      coalesces changes for --coalesce and applies what changed through the
      same node apply as `policyc apply` (ipsets with --backend iptables).

      Fail safe: on start the rules of the last apply (in --state-dir) are put
      back if the kernel lost them, before the first sync. API trouble never
      removes or weakens a rule: the last applied rules stay while the agent
      retries with backoff. An object that cannot be decoded keeps its last
      good version (a new policy isolates the pods it selects). Every
      --resync the kernel is checked against the last apply and any drift is
      repaired. SIGTERM stops the agent and leaves the rules; `policyc remove`
      takes them off the node.

      On --listen: /healthz, /readyz (synced, watches healthy, last apply
      succeeded) and /metrics (Prometheus text).

      Examples:
        # in a pod: in-cluster configuration, NODE_NAME from spec.nodeName
        policyc agent
        policyc agent --node node-a --kubeconfig ~/.kube/config --state-dir /tmp/policyc
        policyc agent --backend nft --coalesce 20ms --resync 1m --listen 0.0.0.0:9710
        policyc agent --family both --log-denied --deny drop
      """
  )

  @OptionGroup var emit: EmitFlags
  @Option(help: "The kubeconfig to use (default: $KUBECONFIG, else the in-cluster configuration).")
  var kubeconfig: String?
  @Option(help: "Where the agent keeps the record of its last apply.") var stateDir = "/var/lib/policyc"
  @Option(help: "HOST:PORT of /healthz, /readyz and /metrics.") var listen = ListenArgument(
    text: "127.0.0.1:9710", host: "127.0.0.1", port: 9710)
  @Option(help: "How often to check the kernel against the last apply and repair drift (such as 30s, 5m).")
  var resync = DurationArgument(text: "5m", duration: .seconds(300))
  @Option(help: "How long to collect changes before one sync (such as 50ms, 1s).")
  var coalesce = DurationArgument(text: "50ms", duration: .milliseconds(50))
  @Option(help: "The ipset program.") var ipset = "ipset"
  @Option(help: "The nft program.") var nft = "nft"

  var nodeName: String? {
    emit.node ?? ProcessInfo.processInfo.environment["NODE_NAME"].flatMap { $0.isEmpty ? nil : $0 }
  }

  func validate() throws {
    guard let node = nodeName else { throw ValidationError("--node is required (or set $NODE_NAME)") }
    if let problem = NameRules.dns1123Subdomain(node) {
      throw ValidationError("invalid node name '\(node)': \(problem)")
    }
  }

  func run() throws {
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    var logger = Logger(label: "policyc.agent")
    logger.logLevel = .info
    let config: ClusterConfig
    do {
      config = try KubeConfig.resolve(kubeconfig: kubeconfig, environment: ProcessInfo.processInfo.environment)
    } catch {
      Output.stderr("policyc: error: \(error.message)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    let transport: HTTPTransport
    do {
      transport = try HTTPTransport(config: config)
    } catch {
      Output.stderr("policyc: error: cannot set up TLS for \(config.server): \(error)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    var flags = emit
    flags.node = nodeName
    flags.useIPSets = !emit.isNft
    var tools = NodeTools()
    (tools.ipset, tools.nft) = (ipset, nft)
    let enforcer = Enforcer(
      backend: emit.isNft ? .nft : .iptables, families: emit.isNft ? [.ipv4] : emit.family.families,
      options: flags.options, stateDirectory: stateDir, applier: NodeApplier(tools: tools, runner: ProcessRunner()))
    var timing = AgentTiming()
    timing.coalesce = coalesce.duration
    timing.resync = resync.duration
    let service = AgentService(
      transport: transport, enforcer: enforcer, listen: (listen.host, listen.port), timing: timing, logger: logger)
    logger.info(
      "starting",
      metadata: [
        "node": "\(nodeName ?? "")", "server": "\(config.server)", "backend": "\(emit.backend.rawValue)",
        "state_dir": "\(stateDir)", "version": "\(BuildInfo.version)",
      ])
    let group = ServiceGroup(
      configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    let done = DispatchSemaphore(value: 0)
    let failure = Failure()
    Task {
      do { try await group.run() } catch { failure.message = "\(error)" }
      await transport.shutdown()
      done.signal()
    }
    done.wait()
    if let message = failure.message {
      Output.stderr("policyc: error: \(message)\n")
      throw ExitCode(ExitStatus.trouble)
    }
  }

  final class Failure: @unchecked Sendable {
    var message: String?
  }
}
