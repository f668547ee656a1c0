import Agent
import Foundation
import Testing

@Suite struct MetricsTests {
  /// The metric families /metrics serves, by their `# TYPE` lines.
  static func served() -> Set<String> {
    Set(
      AgentMetrics().text().split(separator: "\n").compactMap { line in
        line.hasPrefix("# TYPE ") ? line.split(separator: " ")[2].description : nil
      })
  }

  /// The README's metric list and /metrics name the same families, each
  /// with a help line.
  @Test func theReadmeNamesEveryServedMetric() throws {
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("README.md")
    let text = try String(contentsOf: readme, encoding: .utf8)
    let named = Set(
      text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init).filter {
        $0.hasPrefix("policyc_agent_")
      })
    let served = Self.served()
    #expect(served.count == 14)
    #expect(named == served)
    let help = AgentMetrics().text().split(separator: "\n").filter { $0.hasPrefix("# HELP ") }
    #expect(help.count == served.count)
  }
}
