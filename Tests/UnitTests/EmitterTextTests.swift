import PolicyModel
import TestSupport
import XCTest

@testable import IptablesEmitter
@testable import RuleModel

/// What reaches the restore text: sanitised comments, iptables-save order.
final class EmitterTextTests: XCTestCase {
  func testSanitizeLetsOnlyHarmlessCharactersThrough() {
    let table: [(String, String)] = [
      ("shop/web-in ingress[0]", "shop/web-in ingress[0]"),
      ("a\"b", "a_b"),
      ("line\nbreak\r", "line_break_"),
      ("\" -j ACCEPT", "_ -j ACCEPT"),
      ("tab\there", "tab_here"),
      ("ünïcode", "_n_code"),
      ("semi;colon`back$(x)", "semi_colon_back_(x)"),
    ]
    for (input, expected) in table {
      XCTAssertEqual(Sanitize.comment(input), expected, input)
    }
    XCTAssertEqual(Sanitize.comment(String(repeating: "a", count: 500)).count, 200)
    XCTAssertEqual(Sanitize.token("node a\"b"), "node_a_b")
  }

  func testSanitizeMasksHoldExactlyTheAllowedCharacters() {
    for byte in UInt8.min...UInt8.max {
      let character = Character(Unicode.Scalar(byte))
      let listed = byte < 128 && (character.isLetter || character.isNumber || "-_./:[] ,=()".contains(character))
      XCTAssertEqual(Sanitize.isAllowed(byte), listed, "byte \(byte)")
    }
  }

  func testHostileCommentStaysInsideOneQuotedToken() {
    let rule = IptablesRule(
      matches: ["-s", "10.0.0.1/32"], target: ["-j", "RETURN"],
      comment: "x\" -j ACCEPT\n-A INPUT -j ACCEPT \"")
    let line = RestoreWriter.line(chain: "POLICYC-X", rule)
    XCTAssertEqual(
      line,
      "-A POLICYC-X -s 10.0.0.1/32 -m comment --comment \"x_ -j ACCEPT_-A INPUT -j ACCEPT _\" -j RETURN\n"
    )
    XCTAssertEqual(line.filter { $0 == "\"" }.count, 2)
    XCTAssertEqual(line.filter { $0 == "\n" }.count, 1)
  }

  func testHostileNodeNameCannotAddALine() throws {
    let options = EmitOptions(node: "evil\nCOMMIT\n*nat\n-A INPUT -j ACCEPT")
    let rules = try IptablesCompiler.compile(Load.cluster(Sample.documents), options: options)
    let text = RestoreWriter.render(rules)
    XCTAssertTrue(text.contains("# node: evil_COMMIT__nat_-A_INPUT_-j_ACCEPT\n"), text)
    XCTAssertEqual(text.components(separatedBy: "\n").filter { $0 == "COMMIT" }.count, 1)
    XCTAssertFalse(text.contains("*nat"))
  }

  func testMatchesArePrintedInIptablesSaveOrder() {
    let rule = IptablesRule(
      matches: [
        "-p", "tcp", "-m", "tcp", "--dport", "80", "-d", "10.0.0.2/32", "-s", "10.0.0.1/32",
      ], target: ["-j", "MARK"],
      comment: "c")
    XCTAssertEqual(
      RestoreWriter.line(chain: "C", rule),
      "-A C -s 10.0.0.1/32 -d 10.0.0.2/32 -p tcp -m comment --comment \"c\" -m tcp --dport 80 -j MARK\n"
    )
  }

  /// The writer moves the first `-s`, `-d` and `-p` pairs to the front
  /// without building token arrays; on random token lists (repeated flags,
  /// a flag as the last token, a flag as another's value) it must print
  /// what the plain reading prints.
  func testSaveOrderAgreesWithThePlainReadingOnRandomTokens() {
    func plain(_ chain: String, _ rule: IptablesRule) -> String {
      var head: [String: String] = [:]
      var rest: [String] = []
      var i = 0
      let m = rule.matches
      while i < m.count {
        if ["-s", "-d", "-p"].contains(m[i]), i + 1 < m.count, head[m[i]] == nil {
          head[m[i]] = m[i + 1]
          i += 2
        } else {
          rest.append(m[i])
          i += 1
        }
      }
      var tokens = ["-A", chain]
      for flag in ["-s", "-d", "-p"] { if let value = head[flag] { tokens += [flag, value] } }
      if let comment = rule.comment { tokens += ["-m", "comment", "--comment", "\"\(Sanitize.comment(comment))\""] }
      return (tokens + rest + rule.target).joined(separator: " ") + "\n"
    }
    var g = SeededGenerator(seed: 19)
    let words = ["-s", "-d", "-p", "10.0.0.1/32", "tcp", "-m", "set", "--match-set", "x", "src", "", "-j"]
    for round in 0..<3000 {
      let matches = (0..<Int.random(in: 0..<9, using: &g)).map { _ in words.randomElement(using: &g)! }
      let target = (0..<Int.random(in: 0..<3, using: &g)).map { _ in words.randomElement(using: &g)! }
      let rule = IptablesRule(
        matches: matches, target: target, comment: Bool.random(using: &g) ? "c \(round)\"" : nil)
      XCTAssertEqual(RestoreWriter.line(chain: "C", rule), plain("C", rule), "\(matches) \(target)")
    }
  }

  func testRestoreTextDeclaresOnlyPolicycChains() throws {
    let rules = try XCTUnwrap(Compile.ruleSet(Load.cluster(Sample.documents)))
    let lines = RestoreWriter.render(rules).split(separator: "\n").map(String.init)
    for line in lines where !line.hasPrefix("#") {
      let ok =
        line == "*filter" || line == "COMMIT" || line.hasPrefix(":POLICYC-")
        || line.hasPrefix("-A POLICYC-")
        || line == "-I FORWARD 1 -j POLICYC-FORWARD"
      XCTAssertTrue(ok, line)
    }
    XCTAssertEqual(lines.filter { $0 == "*filter" }.count, 1)
    XCTAssertEqual(lines.last, "COMMIT")
  }
}
