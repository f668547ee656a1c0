import NodeApply
import RuleModel
import XCTest

/// `ApplyState.fingerprint` reads the saved text by bytes; it must give
/// what reading it by Characters gave, so state files written before still
/// match the kernel they describe.
final class FingerprintTests: XCTestCase {
  /// The reading by Characters, as it was.
  static func byCharacters(_ saved: String, setNames: [String]) -> String {
    let lines = saved.split(separator: "\n")
      .filter { $0.hasPrefix("-A \(ChainNamer.prefix)") }
      .map { String($0.filter { $0 != "\"" }) }
      .sorted()
    let names = setNames.filter { $0.hasPrefix(ChainNamer.prefix) }.sorted()
    let text = (lines + ["--sets--"] + names).joined(separator: "\n")
    return String(ChainNamer.mix(ChainNamer.fnv1a(text)), radix: 16)
  }

  func testBytesReadAsCharacters() {
    let pieces = [
      "-A POLICYC-IN-X -s 10.0.0.1/32 -m comment --comment \"a/b ingress[0]\" -j MARK --set-xmark 0x1/0x1",
      "-A POLICYC-EP-Y -m set --match-set POLICYC-4P-Z dst -j RETURN", "-A FORWARD -j POLICYC-FORWARD",
      ":POLICYC-IN-X - [0:0]", "*filter", "COMMIT", "-A POLICYC-B \"\"", "", "-A POLICYC-Ü \"é\" ünï",
      "# -A POLICYC-comment", "-A POLICYC-IN-A -j RETURN",
    ]
    var g = SystemRandomNumberGenerator()
    for _ in 0..<300 {
      let text =
        (0..<Int.random(in: 0...12, using: &g)).map { _ in pieces.randomElement(using: &g)! }
        .joined(separator: Bool.random(using: &g) ? "\n" : "\n\n") + (Bool.random(using: &g) ? "\n" : "")
      let sets = ["POLICYC-4P-A", "other", "POLICYC-4N-B"].filter { _ in Bool.random(using: &g) }
      XCTAssertEqual(ApplyState.fingerprint(savedFilter: text, setNames: sets), Self.byCharacters(text, setNames: sets))
    }
  }
}
