/// Characters allowed through into comments and header lines. Kubernetes
/// names already fit; anything else becomes '_' so no input can close the
/// quoted comment, start an option, or add a line.
public enum Sanitize {
  /// Whether a byte may stay: letters, digits and `-_./:[] ,=()`, one bit
  /// each in two masks (a table lookup per byte was 11% of a rules-mode
  /// fleet's time). `EmitterTextTests` checks the masks against that list.
  @inline(__always)
  static func isAllowed(_ byte: UInt8) -> Bool {
    let low: UInt64 = 0x27ff_f301_0000_0000
    let high: UInt64 = 0x07ff_fffe_afff_fffe
    return byte < 64 ? low >> byte & 1 == 1 : byte < 128 && high >> (byte - 64) & 1 == 1
  }

  public static func comment(_ text: String) -> String {
    // Most comments are already clean: they are returned as they are.
    let utf8 = text.utf8
    let clean =
      utf8.count <= 200
      && (utf8.withContiguousStorageIfAvailable { $0.allSatisfy(isAllowed) } ?? utf8.allSatisfy(isAllowed))
    if clean { return text }
    var out: [UInt8] = []
    out.reserveCapacity(min(utf8.count, 200))
    for scalar in text.unicodeScalars.prefix(200) {
      out.append(scalar.value < 128 && isAllowed(UInt8(scalar.value)) ? UInt8(scalar.value) : UInt8(ascii: "_"))
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func token(_ text: String) -> String {
    String(comment(text).map { $0 == " " ? "_" : $0 })
  }
}
