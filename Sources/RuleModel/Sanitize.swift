/// Characters allowed through into comments and header lines. Kubernetes
/// names already fit; anything else becomes '_' so no input can close the
/// quoted comment, start an option, or add a line.
public enum Sanitize {
  /// One byte per allowed character: letters, digits and `-_./:[] ,=()`.
  static let allowed: [Bool] = (0..<128).map { b in
    let c = Character(Unicode.Scalar(UInt8(b)))
    return c.isLetter || c.isNumber || "-_./:[] ,=()".contains(c)
  }

  public static func comment(_ text: String) -> String {
    // Most comments are already clean: they are returned as they are.
    let clean = text.utf8.count <= 200 && text.utf8.allSatisfy { $0 < 128 && allowed[Int($0)] }
    if clean { return text }
    var out: [UInt8] = []
    out.reserveCapacity(min(text.utf8.count, 200))
    for scalar in text.unicodeScalars.prefix(200) {
      out.append(scalar.value < 128 && allowed[Int(scalar.value)] ? UInt8(scalar.value) : UInt8(ascii: "_"))
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func token(_ text: String) -> String {
    String(comment(text).map { $0 == " " ? "_" : $0 })
  }
}
