import ArgumentParser
import PolicyAnalysis
import PolicyModel

struct MatrixCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "matrix",
    abstract: "Print who can reach whom, from the reference verdict.",
    discussion: """
      Rows are sources, columns destinations; `.` allowed, `X` denied.

      Examples:
        policyc matrix --port 80/TCP --port 53/UDP manifests/
        policyc matrix --format dot manifests/ | dot -Tsvg > reach.svg
        policyc matrix --by workload manifests/

      \(Grouping.help)
      """
  )

  @OptionGroup var input: InputOptions

  @Option(name: .customLong("port"), help: "A port to probe, PORT[/TCP|UDP|SCTP]; repeatable (default 80/TCP).")
  var ports: [String] = []

  @Option(help: "Output format: text, json, csv or dot.")
  var format: String = "text"

  @Option(name: .customLong("only-namespace"), help: "Only pods of this namespace; repeatable.")
  var namespaces: [String] = []

  @Option(name: .customLong("endpoint"), help: "An address outside the cluster to include; repeatable.")
  var endpoints: [String] = []

  @Option(help: "The address family of the traffic: ipBlocks match pods by their address of it.")
  var family: TrafficFamily = .ipv4

  @Option(help: "Endpoints: pod (each pod) or workload (replicas as one; see below).")
  var by: Grouping = .pod

  func validate() throws {
    for port in ports {
      do { _ = try PortProbe.parse(port) } catch { throw ValidationError("invalid --port '\(port)': \(error)") }
    }
    for endpoint in endpoints where IPAddress(endpoint) == nil {
      throw ValidationError("invalid --endpoint '\(endpoint)': expected an IP address")
    }
    guard ["text", "json", "csv", "dot"].contains(format) else {
      throw ValidationError("--format must be text, json, csv or dot")
    }
  }

  func run() throws {
    let inventory = try input.loadOrExit(analysis: true)
    let probes = ports.isEmpty ? [PortProbe(port: 80, proto: .tcp)] : ports.compactMap(PortProbe.init(parsing:))
    let matrix = ConnectivityMatrix.compute(
      cluster: Cluster.forAnalysis(inventory), ports: probes, namespaces: namespaces.isEmpty ? nil : Set(namespaces),
      addresses: endpoints.compactMap(IPAddress.init), family: family.family)
    let shown = by == .workload ? matrix.byWorkload(Cluster.forAnalysis(inventory)) : matrix
    switch format {
    case "json": Output.stdout(MatrixReporter.json(shown))
    case "csv": Output.stdout(MatrixReporter.csv(shown))
    case "dot": Output.stdout(MatrixReporter.dot(shown))
    default: Output.stdout(MatrixReporter.text(shown))
    }
  }
}
