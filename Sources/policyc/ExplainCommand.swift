import ArgumentParser
import PolicyAnalysis
import PolicyModel

struct ExplainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Say whether one connection is allowed, and which policy and rule decide it.",
    discussion: """
      Exit 0 when allowed, 1 when denied, 2 on trouble.

      Examples:
        policyc explain --from frontend/web-0 --to backend/api-0 \\
          --port 8080 manifests/
        policyc explain --from 10.244.1.10 --to 203.0.113.7 \\
          --port 53/UDP manifests/
        policyc explain --by workload --from shop/Deployment/web \\
          --to shop/StatefulSet/db --port 5432 manifests/

      \(Grouping.help)

      With --by workload, --from and --to name a workload, a pod (for its
      workload) or an address; every pod pair is asked, and the answer is
      ALLOWED only when every pair is.
      """
  )

  @Option(help: "The source: NAMESPACE/POD or an IP address.")
  var from: String

  @Option(help: "The destination: NAMESPACE/POD or an IP address.")
  var to: String

  @Option(help: "PORT[/TCP|UDP|SCTP] (default protocol TCP).")
  var port: String

  @Option(help: "The traffic's address family (default: ipv6 when --from or --to is an IPv6 address, else ipv4).")
  var family: TrafficFamily?

  @Option(help: "Endpoints: pod (each pod) or workload (replicas as one; see below).")
  var by: Grouping = .pod

  @OptionGroup var input: InputOptions

  func validate() throws {
    do { _ = try PortProbe.parse(port) } catch { throw ValidationError("invalid --port '\(port)': \(error)") }
  }

  func run() throws {
    let cluster = Cluster.forAnalysis(try input.loadOrExit(analysis: true))
    if by == .workload { return try runByWorkload(cluster) }
    guard let source = Explanation.endpoint(from, in: cluster) else {
      Output.stderr(
        "policyc: error: --from '\(from)': no such pod (NAMESPACE/NAME of a pod that is not finished and not host-network) or address\n"
      )
      throw ExitCode(ExitStatus.trouble)
    }
    guard let destination = Explanation.endpoint(to, in: cluster) else {
      Output.stderr(
        "policyc: error: --to '\(to)': no such pod (NAMESPACE/NAME of a pod that is not finished and not host-network) or address\n"
      )
      throw ExitCode(ExitStatus.trouble)
    }
    let explanation = Explanation.explain(
      cluster: cluster, from: source, to: destination, probe: try PortProbe.parse(port), family: trafficFamily)
    Output.stdout(explanation.text)
    throw ExitCode(explanation.allowed ? ExitStatus.ok : ExitStatus.findings)
  }

  func runByWorkload(_ cluster: Cluster) throws {
    guard let source = WorkloadEndpoint.resolve(from, in: cluster) else {
      Output.stderr("policyc: error: --from '\(from)': \(Self.noWorkload)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    guard let destination = WorkloadEndpoint.resolve(to, in: cluster) else {
      Output.stderr("policyc: error: --to '\(to)': \(Self.noWorkload)\n")
      throw ExitCode(ExitStatus.trouble)
    }
    let explanation = Explanation.explainByWorkload(
      cluster: cluster, from: source, to: destination, probe: try PortProbe.parse(port), family: trafficFamily)
    Output.stdout(explanation.text)
    throw ExitCode(explanation.allowed ? ExitStatus.ok : ExitStatus.findings)
  }

  /// --family, or IPv6 when an IPv6 address is on either side.
  var trafficFamily: IPAddress.Family {
    family?.family ?? ([from, to].contains { IPAddress($0)?.family == .ipv6 } ? .ipv6 : .ipv4)
  }

  static let noWorkload =
    "no such workload (NAMESPACE/KIND/NAME, as matrix --by workload shows it), pod (NAMESPACE/NAME of a pod that is not finished and not host-network) or address"
}
