/// A scalar as the Kubernetes decoder (go-yaml v2 rules, YAML 1.1) types it.
public enum ResolvedScalar: Sendable, Equatable {
  case null
  case bool(Bool)
  case integer(Int)
  /// An integer literal outside the 64-bit range; kept as text for messages.
  case bigInteger(String)
  case float(Double)
  case string(String)
  /// A scalar with a tag Kubernetes cannot decode (`!!python/object`, `!custom`).
  case unsupportedTag(String)

  public var kindName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .integer, .bigInteger: return "integer"
    case .float: return "number"
    case .string: return "string"
    case .unsupportedTag(let tag): return "value tagged \(tag)"
    }
  }
}

enum ScalarResolver {
  static let yamlTagPrefix = "tag:yaml.org,2002:"

  static func resolve(_ text: String, style: ScalarStyle, tag: String?) -> ResolvedScalar {
    if let tag, tag != "!" {
      switch tag {
      case yamlTagPrefix + "str": return .string(text)
      case yamlTagPrefix + "null": return .null
      case yamlTagPrefix + "bool": return bool(text).map(ResolvedScalar.bool) ?? .unsupportedTag(shortTag(tag))
      case yamlTagPrefix + "int":
        let value = number(text)
        if case .integer = value { return value }
        if case .bigInteger = value { return value }
        return .unsupportedTag(shortTag(tag))
      case yamlTagPrefix + "float":
        switch number(text) {
        case .integer(let n): return .float(Double(n))
        case .float(let f): return .float(f)
        default: return .unsupportedTag(shortTag(tag))
        }
      default: return .unsupportedTag(shortTag(tag))
      }
    }
    guard style == .plain, tag == nil else { return .string(text) }
    return plain(text)
  }

  static func shortTag(_ tag: String) -> String {
    tag.hasPrefix(yamlTagPrefix) ? "!!" + tag.dropFirst(yamlTagPrefix.count) : tag
  }

  /// Plain scalars: null, bool, int, float, else string (YAML 1.1 as go-yaml v2).
  static func plain(_ text: String) -> ResolvedScalar {
    // Most plain scalars are names; only these first characters can start a
    // null, a boolean or a number, so everything else is a string at once.
    guard let first = text.utf8.first else { return .null }
    switch first {
    case UInt8(ascii: "~"), UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "y"), UInt8(ascii: "Y"),
      UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "o"), UInt8(ascii: "O"),
      UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
      break
    default:
      return .string(text)
    }
    // The longest null or boolean word is five letters ("false").
    if first >= UInt8(ascii: "A"), text.utf8.count > 5 { return .string(text) }
    switch text {
    case "", "~", "null", "Null", "NULL": return .null
    default: break
    }
    if let b = bool(text) { return .bool(b) }
    guard let first = text.utf8.first else { return .string(text) }
    // Only text that starts like a number can be one; saves work on the common case.
    if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
      || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
    {
      let n = number(text)
      if case .string = n { return .string(text) }
      return n
    }
    return .string(text)
  }

  /// The plain scalars that start with a letter and are not strings: the
  /// null words of `plain` and the words of `bool`. Every other plain
  /// scalar that starts with a letter is a string.
  static let letterWords: [StaticString] = [
    "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE", "n", "N", "no",
    "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
  ]

  static func bool(_ text: String) -> Bool? {
    switch text {
    case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE": return true
    case "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE": return false
    default: return nil
    }
  }

  /// Integers in decimal, 0x, 0o, 0b and leading-0 octal, with `_` separators;
  /// floats in decimal/exponent form and `.inf`/`.nan`.
  static func number(_ text: String) -> ResolvedScalar {
    // The common case, a port or a count: plain decimal digits, no leading 0.
    let utf8 = text.utf8
    if utf8.count <= 18, let first = utf8.first, first > UInt8(ascii: "0"), first <= UInt8(ascii: "9"),
      utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
    {
      return .integer(utf8.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) })
    }
    switch text {
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .float(.infinity)
    case "-.inf", "-.Inf", "-.INF": return .float(-.infinity)
    case ".nan", ".NaN", ".NAN": return .float(.nan)
    default: break
    }
    // Every other number is spelled with these bytes and at most one '.':
    // an address, a CIDR or a timestamp is a string at once.
    var dots = 0
    for byte in utf8 {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
        UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "x"), UInt8(ascii: "X"), UInt8(ascii: "o"),
        UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"):
        continue
      case UInt8(ascii: "."):
        dots += 1
        if dots > 1 { return .string(text) }
      default:
        return .string(text)
      }
    }
    var digits = Substring(String(text.filter { $0 != "_" }))
    var negative = false
    if digits.first == "-" || digits.first == "+" {
      negative = digits.first == "-"
      digits = digits.dropFirst()
    }
    guard !digits.isEmpty else { return .string(text) }
    var radix = 10
    if digits.count > 2, digits.hasPrefix("0x") || digits.hasPrefix("0X") {
      radix = 16
      digits = digits.dropFirst(2)
    } else if digits.count > 2, digits.hasPrefix("0o") || digits.hasPrefix("0b") {
      radix = digits.hasPrefix("0o") ? 8 : 2
      digits = digits.dropFirst(2)
    } else if digits.count > 1, digits.first == "0", digits.allSatisfy({ $0 >= "0" && $0 <= "7" }) {
      radix = 8
      digits = digits.dropFirst()
    }
    let valid = digits.allSatisfy { $0.isHexDigit && Int(String($0), radix: radix) != nil }
    if valid {
      if let magnitude = UInt64(digits, radix: radix) {
        if negative, magnitude <= UInt64(Int.max) + 1 {
          return .integer(magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude))
        }
        if !negative, magnitude <= UInt64(Int.max) { return .integer(Int(magnitude)) }
      }
      return .bigInteger(text)
    }
    if isFloatLiteral(text), let value = Double(text) { return .float(value) }
    return .string(text)
  }

  /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
  static func isFloatLiteral(_ text: String) -> Bool {
    var bytes = Array(text.utf8)[...]
    if let f = bytes.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
    func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    let intDigits = bytes.prefix(while: isDigit)
    bytes = bytes.dropFirst(intDigits.count)
    var fracDigits = 0
    if bytes.first == UInt8(ascii: ".") {
      bytes = bytes.dropFirst()
      fracDigits = bytes.prefix(while: isDigit).count
      bytes = bytes.dropFirst(fracDigits)
    }
    guard intDigits.count + fracDigits > 0 else { return false }
    if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
      bytes = bytes.dropFirst()
      if let s = bytes.first, s == UInt8(ascii: "-") || s == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
      let expDigits = bytes.prefix(while: isDigit).count
      guard expDigits > 0 else { return false }
      bytes = bytes.dropFirst(expDigits)
    }
    return bytes.isEmpty
  }
}
