public import PolicyModel

/// A set of (protocol, port) pairs, kept as sorted, merged ranges per
/// protocol so equal sets compare equal however they were written.
public struct PortSet: Sendable, Hashable, CustomStringConvertible {
  /// Ranges per protocol, in `NetProtocol` order; no empty entries.
  public private(set) var ranges: [NetProtocol: [ClosedRange<Int>]]

  public static let full = 1...65535
  public static let none = PortSet(ranges: [:])
  public static let all = PortSet(ranges: Dictionary(uniqueKeysWithValues: NetProtocol.allCases.map { ($0, [full]) }))

  init(ranges: [NetProtocol: [ClosedRange<Int>]]) {
    self.ranges = ranges
  }

  public init(_ proto: NetProtocol, _ range: ClosedRange<Int>) {
    ranges = [proto: [range]]
  }

  public var isEmpty: Bool { ranges.isEmpty }

  public func contains(_ port: Int, _ proto: NetProtocol) -> Bool {
    ranges[proto]?.contains { $0.contains(port) } ?? false
  }

  public func union(_ other: PortSet) -> PortSet {
    var out = ranges
    for (proto, list) in other.ranges { out[proto] = Self.merge((out[proto] ?? []) + list) }
    return PortSet(ranges: out)
  }

  public func intersection(_ other: PortSet) -> PortSet {
    var out: [NetProtocol: [ClosedRange<Int>]] = [:]
    for (proto, mine) in ranges {
      guard let theirs = other.ranges[proto] else { continue }
      var result: [ClosedRange<Int>] = []
      var i = 0
      var j = 0
      while i < mine.count, j < theirs.count {
        let low = max(mine[i].lowerBound, theirs[j].lowerBound)
        let high = min(mine[i].upperBound, theirs[j].upperBound)
        if low <= high { result.append(low...high) }
        if mine[i].upperBound < theirs[j].upperBound { i += 1 } else { j += 1 }
      }
      if !result.isEmpty { out[proto] = result }
    }
    return PortSet(ranges: out)
  }

  /// Every (protocol, port) pair not in the set.
  public var complement: PortSet {
    var out: [NetProtocol: [ClosedRange<Int>]] = [:]
    for proto in NetProtocol.allCases {
      var gaps: [ClosedRange<Int>] = []
      var next = Self.full.lowerBound
      for range in ranges[proto] ?? [] {
        if range.lowerBound > next { gaps.append(next...(range.lowerBound - 1)) }
        next = range.upperBound + 1
      }
      if next <= Self.full.upperBound { gaps.append(next...Self.full.upperBound) }
      if !gaps.isEmpty { out[proto] = gaps }
    }
    return PortSet(ranges: out)
  }

  public func subtracting(_ other: PortSet) -> PortSet { intersection(other.complement) }

  static func merge(_ list: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
    var out: [ClosedRange<Int>] = []
    for range in list.sorted(by: { $0.lowerBound < $1.lowerBound }) {
      if let last = out.last, range.lowerBound <= last.upperBound + 1 {
        out[out.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
      } else {
        out.append(range)
      }
    }
    return out
  }

  /// `TCP 80,8080-8090; UDP 53`, or `all` / `none`; a whole protocol prints
  /// as `SCTP all`.
  public var description: String {
    if isEmpty { return "none" }
    if self == .all { return "all" }
    return NetProtocol.allCases.sorted().compactMap { proto -> String? in
      guard let list = ranges[proto] else { return nil }
      if list == [Self.full] { return "\(proto.rawValue) all" }
      let text = list.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
      return "\(proto.rawValue) " + text.joined(separator: ",")
    }.joined(separator: "; ")
  }
}
