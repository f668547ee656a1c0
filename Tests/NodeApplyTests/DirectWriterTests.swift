import Foundation
import NodeApply
import XCTest

/// `DirectWriter` copies a file's pieces into its own aligned buffer and
/// writes them around the page cache: the file must be exactly the pieces'
/// bytes, whatever their sizes against the block and the chunk, and a
/// writer reused for a smaller file must leave nothing of the larger one.
final class DirectWriterTests: XCTestCase {
  typealias Numbers = FleetTextTests.Numbers

  /// Whether the folder's file system is one that takes direct I/O here
  /// (ext4, xfs, btrfs): then anything but `.written` is a failure. The
  /// type is that of the longest mount point above the folder.
  func takesDirectIO(_ directory: String) -> Bool {
    let real = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
    let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
    var best: (point: String, type: String) = ("", "")
    for line in mounts.split(separator: "\n") {
      let fields = line.split(separator: " ").map(String.init)
      guard fields.count > 2 else { continue }
      let point = fields[1]
      let under = point == "/" || real == point || real.hasPrefix(point + "/")
      if under && point.count >= best.point.count { best = (point, fields[2]) }
    }
    return ["ext4", "xfs", "btrfs"].contains(best.type)
  }

  func write(_ pieces: [[UInt8]], with writer: DirectWriter, name: String) throws -> DirectWriter.Outcome {
    let path = NSTemporaryDirectory() + "direct-writer-\(getpid())-\(name)"
    defer { unlink(path) }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    XCTAssertGreaterThanOrEqual(fd, 0)
    let outcome = pieces.withBuffers { writer.write(fd, $0) }
    // The descriptor is back to buffered writes: an unaligned write works.
    let flags = fcntl(fd, F_GETFL)
    close(fd)
    let written = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    switch outcome {
    case .written:
      let want = pieces.flatMap { $0 }
      let first = zip(written, want).enumerated().first { $0.element.0 != $0.element.1 }
      let differ = first?.offset ?? min(written.count, want.count)
      XCTAssertTrue(
        written == want,
        "\(name): the file is not its pieces: \(written.count) bytes for \(want.count), first difference at \(differ)")
    case .unsupported:
      XCTAssertEqual(written.count, 0, "\(name): nothing may be written without direct I/O")
      // Only nothing at all is left to the buffered way where direct I/O works.
      if pieces.contains(where: { !$0.isEmpty }) {
        XCTAssertFalse(takesDirectIO(NSTemporaryDirectory()), "\(name): this file system takes direct I/O")
      }
    case .failed(let code):
      XCTFail("\(name): the write failed: \(String(cString: strerror(code)))")
    }
    XCTAssertEqual(flags & 0o40000, 0, "\(name): O_DIRECT left set")
    return outcome
  }

  func testFilesAreTheirPiecesAtEveryBoundary() throws {
    var numbers = Numbers(state: 3)
    // A chunk of two blocks, so larger files take several chunks.
    let writer = DirectWriter(chunkSize: 8192)
    var written = 0
    for size in [1, 4095, 4096, 4097, 8191, 8192, 8193, 12_288, 20_000, 100_003] {
      // The same size as one piece, and cut into many, some empty.
      var cut: [[UInt8]] = []
      var left = size
      while left > 0 {
        let n = min(left, numbers.next(3000))
        cut.append((0..<n).map { _ in UInt8(numbers.next(256)) })
        left -= n
      }
      let whole = [cut.flatMap { $0 }]
      for (name, pieces) in [("whole-\(size)", whole), ("cut-\(size)", cut)] {
        if try write(pieces, with: writer, name: name) == .written { written += 1 }
      }
    }
    if takesDirectIO(NSTemporaryDirectory()) { XCTAssertEqual(written, 20) }
  }

  func testAReusedWriterLeavesNothingOfTheLastFile() throws {
    let writer = DirectWriter()
    let large = [[UInt8](repeating: UInt8(ascii: "L"), count: 3 * 4096 + 17)]
    let small = [Array("small\n".utf8), Array("file".utf8)]
    let outcomes = [try write(large, with: writer, name: "large"), try write(small, with: writer, name: "small")]
    if takesDirectIO(NSTemporaryDirectory()) { XCTAssertEqual(outcomes, [.written, .written]) }
  }

  func testNothingToWriteIsLeftToTheBufferedWay() throws {
    XCTAssertEqual(try write([[], []], with: DirectWriter(), name: "empty"), .unsupported)
  }

  func testAFailedWriteIsReported() {
    let fd = open("/dev/full", O_WRONLY)
    defer { close(fd) }
    XCTAssertGreaterThanOrEqual(fd, 0)
    let outcome = [Array("text".utf8)].withBuffers { DirectWriter().write(fd, $0) }
    // /dev/full takes no O_DIRECT on some kernels, and fails the write on others.
    switch outcome {
    case .failed(let code): XCTAssertEqual(code, ENOSPC, String(cString: strerror(code)))
    case .unsupported: break
    case .written: XCTFail("a write to /dev/full succeeded")
    }
  }
}

extension Array where Element == [UInt8] {
  /// The pieces as buffers, valid for the call.
  func withBuffers<R>(_ body: ([UnsafeRawBufferPointer]) -> R) -> R {
    func nest(_ i: Int, _ buffers: [UnsafeRawBufferPointer]) -> R {
      guard i < count else { return body(buffers) }
      return self[i].withUnsafeBytes { nest(i + 1, buffers + [$0]) }
    }
    return nest(0, [])
  }
}
