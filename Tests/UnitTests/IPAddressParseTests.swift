import TestSupport
import XCTest

@testable import PolicyModel

/// IPv4 text is read byte by byte; it must accept exactly what the plain
/// reading (split at dots, check each part) accepts, with the same value.
final class IPAddressParseTests: XCTestCase {
  static func plain(_ text: Substring) -> UInt32? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
        !(part.count > 1 && part.first == "0"), let n = UInt32(part), n <= 255
      else { return nil }
      value = value << 8 | n
    }
    return value
  }

  func testDottedQuadsAsThePlainReading() {
    let table: [(String, UInt32?)] = [
      ("10.0.0.1", 0x0a00_0001), ("0.0.0.0", 0), ("255.255.255.255", 0xffff_ffff), ("192.168.1.10", 0xc0a8_010a),
      ("256.0.0.1", nil), ("01.0.0.1", nil), ("1.00.0.1", nil), ("1.2.3", nil), ("1.2.3.4.", nil), (".1.2.3", nil),
      ("1..2.3", nil), ("", nil), ("1.2.3.4 ", nil), ("1.2.3.٤", nil), ("1.2.3.4\u{301}", nil), ("1000.1.1.1", nil),
      ("1.2.3.-4", nil), ("+1.2.3.4", nil),
    ]
    for (text, want) in table {
      XCTAssertEqual(IPAddress.parseV4(Substring(text)), want, text)
      XCTAssertEqual(Self.plain(Substring(text)), want, "the reference on \(text)")
    }
    var g = SeededGenerator(seed: 4)
    let alphabet: [String] = ["0", "1", "2", "5", "9", ".", ".", "25", "255", "256", "00", "a", " ", "٣", "-"]
    for _ in 0..<20000 {
      let text = (0..<Int.random(in: 0..<12, using: &g)).map { _ in alphabet.randomElement(using: &g)! }.joined()
      XCTAssertEqual(IPAddress.parseV4(Substring(text)), Self.plain(Substring(text)), text)
    }
    // Near misses of a dotted quad: three to five parts, some out of range
    // or with a leading zero; some 800 of them are valid.
    let parts = ["0", "1", "10", "99", "199", "255", "256", "01", "", "300", "7", "1000"]
    var valid = 0
    for _ in 0..<20000 {
      let text = (0..<Int.random(in: 3...5, using: &g)).map { _ in parts.randomElement(using: &g)! }
        .joined(separator: ".")
      let want = Self.plain(Substring(text))
      if want != nil { valid += 1 }
      XCTAssertEqual(IPAddress.parseV4(Substring(text)), want, text)
    }
    XCTAssertGreaterThan(valid, 500)
  }

  /// IPv4 text is written byte by byte; it must be what the plain
  /// interpolation writes, and read back to the same address.
  func testDottedTextAsThePlainWriting() {
    func plain(_ v: UInt32) -> String { "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)" }
    let bytes: [UInt32] = [0, 1, 9, 10, 11, 99, 100, 101, 109, 110, 199, 200, 249, 250, 255]
    var checked = 0
    for a in bytes {
      for b in bytes {
        let v = a << 24 | b << 16 | (a ^ b) << 8 | b
        XCTAssertEqual(IPAddress.dotted(v), plain(v))
        checked += 1
      }
    }
    var g = SeededGenerator(seed: 5)
    for _ in 0..<20000 {
      let v = UInt32.random(in: 0...UInt32.max, using: &g)
      let text = IPAddress.dotted(v)
      XCTAssertEqual(text, plain(v))
      XCTAssertEqual(IPAddress.parseV4(Substring(text)), v, text)
    }
    XCTAssertEqual(IPAddress(family: .ipv4, value: 0xffff_ffff).description, "255.255.255.255")
    XCTAssertEqual(checked, bytes.count * bytes.count)
  }
}
