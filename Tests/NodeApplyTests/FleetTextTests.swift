import Foundation
import IptablesEmitter
import NodeApply
import XCTest

/// `compile --all-nodes` writes each file from runs of bytes that many
/// files share, with `writev`: the file must be the runs' bytes in order,
/// whatever their number and sizes.
final class FleetTextTests: XCTestCase {
  /// A fixed sequence of numbers (a linear congruential generator).
  struct Numbers {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(bound))
    }
  }

  func testTextIsItsPiecesInOrder() {
    var numbers = Numbers(state: 1)
    let shared = (0..<20).map { FleetText.Run("shared \($0)\n" + String(repeating: "x", count: $0 * 7)) }
    var text = FleetText()
    var plain = ""
    for i in 0..<3000 {
      if numbers.next(3) == 0 {
        let run = shared[numbers.next(shared.count)]
        text.append(run)
        plain += String(decoding: run.bytes, as: UTF8.self)
      } else {
        // Own text, some of it empty, some not ASCII.
        let own = ["", "own \(i)\n", "caf\u{e9} \(i)\n"][numbers.next(3)]
        text.append(own)
        plain += own
      }
    }
    XCTAssertEqual(text.text, plain)
    XCTAssertEqual(text.count, plain.utf8.count)
    XCTAssertEqual(text.withBuffers { $0.reduce(0) { $0 + $1.count } }, plain.utf8.count)
    // The buffers are the text, own text after the last shared run included.
    XCTAssertEqual(text.withBuffers { $0.reduce(into: [UInt8]()) { $0 += $1 } }, Array(plain.utf8))
    var ending = text
    ending.append("the end\n")
    XCTAssertEqual(
      ending.withBuffers { String(decoding: $0.reduce(into: [UInt8]()) { $0 += $1 }, as: UTF8.self) },
      plain + "the end\n")
    // Own text between two shared runs is one run; there are more than
    // `writev` takes at once.
    XCTAssertGreaterThan(text.closed().runs.count, 1024)
  }

  func testWriteAllWritesEveryBufferInOrder() throws {
    var numbers = Numbers(state: 2)
    // More buffers than one writev call takes, empty ones among them.
    let runs = (0..<2500).map { i in
      FleetText.Run(String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: numbers.next(5) * 13))
    }
    let want = runs.reduce(into: [UInt8]()) { $0 += Array($1.bytes) }
    let path = NSTemporaryDirectory() + "fleet-text-\(getpid())"
    defer { unlink(path) }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    XCTAssertGreaterThanOrEqual(fd, 0)
    let ok = withExtendedLifetime(runs) { AtomicFile.writeAll(fd, runs.map(\.bytes)) }
    close(fd)
    XCTAssertTrue(ok)
    XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), want)
    XCTAssertTrue(runs.contains { $0.bytes.isEmpty })
    XCTAssertGreaterThan(want.count, 0)
  }

  func testWriteAllReportsAFailure() {
    let runs = [FleetText.Run("some text")]
    let fd = open("/dev/null", O_RDONLY)
    defer { close(fd) }
    XCTAssertFalse(withExtendedLifetime(runs) { AtomicFile.writeAll(fd, runs.map(\.bytes)) })
    XCTAssertEqual(errno, EBADF)
  }
}
