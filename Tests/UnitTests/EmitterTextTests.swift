import PolicyModel
import RuleModel
import XCTest

@testable import IptablesEmitter

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
