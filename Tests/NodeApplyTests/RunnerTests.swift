import Foundation
import NodeApply
import XCTest

/// The real runner (swift-subprocess underneath): what node apply relies
/// on, which is standard input fed, both outputs drained without a
/// deadlock, the exit status, and "not installed" told apart from "failed".
final class RunnerTests: XCTestCase {
  let runner = ProcessRunner()

  func testInputAndOutputBothWaysAtOnce() async throws {
    // 8 MB through cat: more than any pipe buffer in either direction.
    let text = String(repeating: "-A POLICYC-X -j ACCEPT\n", count: 8 << 20 / 23)
    let clock = ContinuousClock()
    let started = clock.now
    let echoed = try await runner.run(["cat"], input: text)
    XCTAssertEqual(echoed, text)
    // swift-subprocess's `.string` output takes seconds for this; `.bytes` does not.
    XCTAssertLessThan(clock.now - started, .seconds(5))
  }

  func testNoInputClosesStandardInput() async throws {
    let output = try await runner.run(["cat"], input: nil)
    XCTAssertEqual(output, "")
  }

  func testAFailureCarriesTheStatusAndTheComplaint() async {
    do {
      _ = try await runner.run(["sh", "-c", "echo out; echo 'ipset v7: bad' >&2; exit 3"], input: nil)
      XCTFail("a failing program succeeded")
    } catch {
      XCTAssertEqual(error.kind, .exited(3))
      XCTAssertEqual(error.message, "ipset v7: bad")
      XCTAssertEqual(error.description, "sh exited with status 3: ipset v7: bad")
    }
  }

  func testAKilledProgramIsAFailure() async {
    do {
      _ = try await runner.run(["sh", "-c", "kill -9 $$"], input: nil)
      XCTFail("a killed program succeeded")
    } catch {
      XCTAssertEqual(error.kind, .exited(128 + 9))
    }
  }

  /// Apply reads a missing nft or ipset as "not installed, nothing loaded".
  func testAMissingProgramIsNotFoundByNameOrPath() async {
    for program in ["policyc-no-such-tool", "/nonexistent/iptables-save"] {
      do {
        _ = try await runner.run([program, "-t", "filter"], input: nil)
        XCTFail("\(program) ran")
      } catch {
        XCTAssertEqual(error.kind, .notFound, "\(program): \(error)")
        XCTAssertEqual(error.description, "cannot run \(program): No such file or directory")
      }
    }
  }

  /// Output past the limit is a failure (the apply is undone), not a crash.
  func testTooMuchOutputIsAFailure() async {
    do {
      _ = try await runner.run(["head", "-c", "\((256 << 20) + 1)", "/dev/zero"], input: nil)
      XCTFail("257 MiB were read")
    } catch {
      XCTAssertEqual(error.description, "cannot run head: it printed more than 256 MiB, the most policyc reads")
    }
  }

  func testAProgramByPath() async throws {
    let output = try await runner.run(["/bin/sh", "-c", "printf ok"], input: nil)
    XCTAssertEqual(output, "ok")
  }
}
