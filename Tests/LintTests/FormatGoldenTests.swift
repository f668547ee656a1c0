import Foundation
import PolicyAnalysis
import PolicyModel
import XCTest

/// `formats/`: one input set, one golden per format; the SARIF output must
/// validate against the official SARIF 2.1.0 schema.
final class FormatGoldenTests: XCTestCase {
  static let directory = LintGolden.root.appendingPathComponent("formats")

  static func outputs() throws -> [(file: String, text: String)] {
    let result = try LintGolden.lint(directory)
    return [
      ("expected.txt", TextReporter.render(result)),
      ("expected.summary", TextReporter.summary(result)),
      ("expected.json", JSONReporter.render(result)),
      ("expected.sarif", SARIFReporter.render(result)),
      ("expected.github", GitHubReporter.render(result)),
    ]
  }

  func testEveryFormatMatchesItsGolden() throws {
    for (file, text) in try Self.outputs() {
      LintGolden.check(text, Self.directory.appendingPathComponent(file), "formats/\(file)")
    }
  }

  func testSARIFValidatesAgainstTheSchema() throws {
    let sarif = SARIFReporter.render(try LintGolden.lint(Self.directory))
    let (status, output) = try SchemaValidator.validate(sarif)
    XCTAssertEqual(status, 0, "SARIF does not validate:\n\(output)")
    XCTAssertTrue(output.contains("VALID"), output)
  }

  /// The validator must be able to fail: a document missing `version` and
  /// with a zero `startLine` is refused.
  func testSchemaValidatorRejectsInvalidSARIF() throws {
    let bad = """
      {"runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"},
      "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a"}, "region": {"startLine": 0}}}]}]}]}
      """
    let (status, output) = try SchemaValidator.validate(bad)
    XCTAssertEqual(status, 1, output)
    XCTAssertTrue(output.contains("INVALID"), output)
  }

  /// `tool.driver.version` carries what `policyc --version` prints after the
  /// name, commit included; `semanticVersion` is the bare number. The golden
  /// holds the number only, so it does not change with every commit.
  func testSARIFDriverCarriesTheToolVersion() throws {
    let full = "\(PolicycVersion.number) (commit 0123456789ab)"
    let sarif = SARIFReporter.render(try LintGolden.lint(Self.directory), toolVersion: full)
    let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
    let run = try XCTUnwrap((root["runs"] as? [[String: Any]])?.first)
    let driver = try XCTUnwrap((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
    XCTAssertEqual(driver["version"] as? String, full)
    XCTAssertEqual(driver["semanticVersion"] as? String, PolicycVersion.number)
    XCTAssertNotNil(PolicycVersion.number.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+/))
  }

  /// What GitHub code scanning needs beyond the schema.
  func testSARIFHasWhatCodeScanningNeeds() throws {
    let sarif = SARIFReporter.render(try LintGolden.lint(Self.directory), base: "/work/repo")
    let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(sarif.utf8)) as? [String: Any])
    XCTAssertEqual(root["version"] as? String, "2.1.0")
    let run = try XCTUnwrap((root["runs"] as? [[String: Any]])?.first)
    let driver = try XCTUnwrap((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
    let rules = try XCTUnwrap(driver["rules"] as? [[String: Any]])
    XCTAssertEqual(rules.count, LintRules.all.count)
    for rule in rules {
      for key in [
        "id", "name", "shortDescription", "fullDescription", "help", "defaultConfiguration",
      ] {
        XCTAssertNotNil(rule[key], "rule \(rule["id"] ?? "?") lacks \(key)")
      }
      XCTAssertNotNil((rule["defaultConfiguration"] as? [String: Any])?["level"])
      XCTAssertNotNil((rule["help"] as? [String: Any])?["text"])
    }
    let results = try XCTUnwrap(run["results"] as? [[String: Any]])
    XCTAssertFalse(results.isEmpty)
    var fingerprints: Set<String> = []
    for result in results {
      let index = try XCTUnwrap(result["ruleIndex"] as? Int)
      XCTAssertEqual(rules[index]["id"] as? String, result["ruleId"] as? String)
      let location = try XCTUnwrap((result["locations"] as? [[String: Any]])?.first)
      let physical = try XCTUnwrap(location["physicalLocation"] as? [String: Any])
      let uri = try XCTUnwrap((physical["artifactLocation"] as? [String: Any])?["uri"] as? String)
      XCTAssertFalse(uri.hasPrefix("/") || uri.contains(":"), "not repository-relative: \(uri)")
      let region = try XCTUnwrap(physical["region"] as? [String: Any])
      XCTAssertGreaterThanOrEqual(region["startLine"] as? Int ?? 0, 1)
      XCTAssertNotNil(region["startColumn"])
      XCTAssertNotNil(region["endLine"])
      XCTAssertNotNil(region["endColumn"])
      let fingerprint = try XCTUnwrap(
        (result["partialFingerprints"] as? [String: String])?["policycFindingHash/v1"])
      XCTAssertTrue(
        fingerprints.insert(fingerprint).inserted, "fingerprint \(fingerprint) not unique")
    }
    XCTAssertTrue(
      results.contains { ($0["locations"] as? [[String: Any]])?.first?["logicalLocations"] != nil })
  }
}

/// Runs the official schema through Python's jsonschema (Draft 7). A missing
/// python3 or jsonschema fails the test: the check must not vanish quietly.
enum SchemaValidator {
  static let script = """
    import json, sys
    import jsonschema
    schema = json.load(open(sys.argv[1]))
    document = json.load(open(sys.argv[2]))
    validator = jsonschema.Draft7Validator(schema)
    validator.check_schema(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    for e in errors:
        print("/".join(map(str, e.absolute_path)) + ": " + e.message)
    print("INVALID" if errors else "VALID")
    sys.exit(1 if errors else 0)
    """

  static func validate(_ document: String) throws -> (Int32, String) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "policyc-lint-\(getpid())-\(UUID().uuidString).sarif")
    try document.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let schema = LintGolden.root.appendingPathComponent("sarif-schema-2.1.0.json").path
    let run = try PolicycBinary.run(
      ["python3", "-c", script, schema, file.path], executable: "/usr/bin/env")
    return (run.status, run.stdout + run.stderr)
  }
}
