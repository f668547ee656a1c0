/// JSON string literals, for the JSON policyc writes (analysis output, the
/// agent's record): the reverse of what the reader accepts.
public enum JSONQuoting {
  /// `text` as a JSON string: quotes, backslashes and control characters
  /// escaped, everything else as it is (JSON text is UTF-8).
  public static func quote(_ text: String) -> String {
    // Most names, labels and values need no escape at all.
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
      return "\"" + text + "\""
    }
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
