import Foundation
import XCTest

/// `policyc diff --git REV [PATH...]` against a throwaway repository: the
/// manifests at REV (read with git, without a checkout) against the working
/// tree.
final class GitDiffTests: XCTestCase {
  var repository: URL!
  let inputs = AnalysisGolden.root.appendingPathComponent("inputs")

  override func setUpWithError() throws {
    repository = FileManager.default.temporaryDirectory.appendingPathComponent(
      "policyc-git-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: repository, withIntermediateDirectories: true)
    try git("-c", "init.defaultBranch=main", "init", "-q")
    try git("config", "user.name", "policyc tests")
    try git("config", "user.email", "tests@policyc.invalid")
    try git("config", "commit.gpgsign", "false")
    try copy("shop-old", to: "manifests")
    try "# Cluster manifests\n".write(
      to: repository.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
    try git("add", "-A")
    try git("commit", "-q", "-m", "shop before")
  }

  override func tearDownWithError() throws {
    if let repository { try? FileManager.default.removeItem(at: repository) }
  }

  @discardableResult
  func git(_ arguments: String..., in directory: URL? = nil) throws -> String {
    let run = try AnalysisGolden.run(
      "/usr/bin/env", ["git"] + arguments, in: directory ?? repository)
    guard run.status == 0 else {
      throw AnalysisGolden.Failure("git \(arguments.joined(separator: " ")): \(run.stderr)")
    }
    return run.stdout
  }

  /// Replaces `folder` in the working tree with the files of `inputs/name`.
  func copy(_ name: String, to folder: String) throws {
    let target = repository.appendingPathComponent(folder)
    try? FileManager.default.removeItem(at: target)
    try FileManager.default.copyItem(at: inputs.appendingPathComponent(name), to: target)
  }

  func policyc(_ arguments: String..., in directory: URL? = nil) throws -> AnalysisGolden.Run {
    try AnalysisGolden.policyc(arguments, in: directory ?? repository)
  }

  /// What `policyc diff inputs/shop-old inputs/shop-new` prints.
  func expectedShopDiff() throws -> String {
    try AnalysisGolden.policyc(["diff", "inputs/shop-old", "inputs/shop-new"]).stdout
  }

  func testCleanWorkingTreeHasNoChange() throws {
    let run = try policyc("diff", "--git", "HEAD")
    XCTAssertEqual(
      run, AnalysisGolden.Run(status: 0, stdout: "no connectivity change\n", stderr: ""))
  }

  func testEditedWorkingTree() throws {
    try copy("shop-new", to: "manifests")
    let run = try policyc("diff", "--git", "HEAD")
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertEqual(run.stderr, "")
    XCTAssertEqual(run.stdout, try expectedShopDiff())
    XCTAssertTrue(
      run.stdout.contains(
        "changed: backend/api-1 -> backend/db-1: TCP 5432 => none (by backend/allow-api-to-db)"))
  }

  func testWithAPathArgumentAndAFormat() throws {
    try copy("shop-new", to: "manifests")
    let run = try policyc("diff", "--git", "HEAD", "--format", "json", "manifests")
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertEqual(
      run.stdout,
      try AnalysisGolden.policyc(["diff", "--format", "json", "inputs/shop-old", "inputs/shop-new"])
        .stdout)
    AnalysisGolden.assertSortedJSON(run.stdout)
  }

  /// A PATH outside the change leaves both sides without manifests.
  func testPathThatDidNotChange() throws {
    try copy("shop-new", to: "manifests")
    try FileManager.default.createDirectory(
      at: repository.appendingPathComponent("docs"), withIntermediateDirectories: true)
    try "x\n".write(
      to: repository.appendingPathComponent("docs/notes.txt"), atomically: true, encoding: .utf8)
    try git("add", "docs")
    try git("commit", "-q", "-m", "docs")
    let run = try policyc("diff", "--git", "HEAD", "docs")
    XCTAssertEqual(
      run, AnalysisGolden.Run(status: 0, stdout: "no connectivity change\n", stderr: ""))
  }

  func testFromASubdirectory() throws {
    try copy("shop-new", to: "manifests")
    let run = try policyc(
      "diff", "--git", "HEAD", ".", in: repository.appendingPathComponent("manifests"))
    XCTAssertEqual(run.status, 1, run.stderr)
    XCTAssertEqual(run.stdout, try expectedShopDiff())
  }

  func testOlderRevisionAndDeletedAndUntrackedFiles() throws {
    // HEAD~1 = shop-old; HEAD = shop-new committed; then the policies file
    // is deleted from the working tree and re-added untracked elsewhere.
    try copy("shop-new", to: "manifests")
    try git("add", "-A")
    try git("commit", "-q", "-m", "shop after")
    XCTAssertEqual(try policyc("diff", "--git", "HEAD~1").stdout, try expectedShopDiff())
    let policies = repository.appendingPathComponent("manifests/policies.yaml")
    let moved = repository.appendingPathComponent("manifests/network/policies.yaml")
    try FileManager.default.createDirectory(
      at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.moveItem(at: policies, to: moved)
    XCTAssertEqual(try policyc("diff", "--git", "HEAD").status, 0)
    try FileManager.default.removeItem(at: moved)
    let run = try policyc("diff", "--git", "HEAD")
    XCTAssertEqual(run.status, 1)
    XCTAssertTrue(
      run.stdout.contains(
        "changed: frontend/web-1 -> backend/db-1: none => all (by backend/default-deny-ingress, frontend/web-egress)\n"
      ),
      run.stdout)
  }

  func testInvalidManifestAtTheRevisionIsLocated() throws {
    try copy("invalid-new", to: "manifests")
    try git("add", "-A")
    try git("commit", "-q", "-m", "broken")
    try copy("shop-new", to: "manifests")
    let run = try policyc("diff", "--git", "HEAD")
    XCTAssertEqual(run.status, 2)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(run.stderr.hasPrefix("HEAD:manifests/policies.yaml:13:15: error: "), run.stderr)
  }

  func testUnknownRevision() throws {
    let run = try policyc("diff", "--git", "no-such-revision")
    XCTAssertEqual(run.status, 2)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(
      run.stderr.hasPrefix("policyc: error: cannot list no-such-revision: "), run.stderr)
  }

  func testRevisionThatLooksLikeAnOption() throws {
    let run = try policyc("diff", "--git=--output=/tmp/x")
    XCTAssertEqual(run.status, 2)
    XCTAssertEqual(run.stdout, "")
  }

  func testOutsideARepository() throws {
    let outside = FileManager.default.temporaryDirectory.appendingPathComponent(
      "policyc-nogit-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: outside) }
    let run = try policyc("diff", "--git", "HEAD", in: outside)
    XCTAssertEqual(run.status, 2)
    XCTAssertEqual(run.stdout, "")
    XCTAssertTrue(run.stderr.hasPrefix("policyc: error: cannot list HEAD: "), run.stderr)
  }

  /// The working tree side skips hidden files and folders (InputFiles), so
  /// the revision side must too: a tracked `.github/workflows/ci.yaml` (not
  /// a manifest) must not break `diff --git HEAD` on an unchanged tree, and a
  /// hidden copy of a policy must not count on one side only. Today
  /// GitSources.read takes every tracked .yaml, hidden or not: exit 2 with
  /// "HEAD:.github/workflows/ci.yaml:1:1: error: kind: object has no kind".
  func testHiddenFilesAreSkippedOnBothSides() throws {
    let workflows = repository.appendingPathComponent(".github/workflows")
    try FileManager.default.createDirectory(at: workflows, withIntermediateDirectories: true)
    try "name: ci\njobs:\n  test:\n    runs-on: ubuntu-latest\n".write(
      to: workflows.appendingPathComponent("ci.yaml"), atomically: true, encoding: .utf8)
    try git("add", "-A")
    try git("commit", "-q", "-m", "ci")
    XCTAssertEqual(try policyc("diff", ".", ".").status, 0, "the working tree reader skips .github")
    let run = try policyc("diff", "--git", "HEAD")
    XCTAssertEqual(
      run, AnalysisGolden.Run(status: 0, stdout: "no connectivity change\n", stderr: ""))
  }
}
