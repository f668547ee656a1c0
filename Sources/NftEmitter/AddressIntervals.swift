import PolicyModel
import RuleModel

/// A set of addresses of one family as sorted, disjoint, non-adjacent
/// ranges: what an nftables interval set holds. Built from a typed set's
/// members by union and subtraction, so an except is cut out of its own
/// block and equal contents compare equal however they were spelled.
struct AddressIntervals: Hashable, Sendable {
  let family: IPAddress.Family
  private(set) var ranges: [ClosedRange<UInt128>]

  /// `merge: false` keeps single addresses apart (a set of pod addresses
  /// stays a plain set of addresses even when two are neighbours).
  init(
    family: IPAddress.Family, including: [ClosedRange<UInt128>], excluding: [ClosedRange<UInt128>] = [],
    merge: Bool = true
  ) {
    self.family = family
    if !merge, excluding.isEmpty, including.allSatisfy({ $0.lowerBound == $0.upperBound }) {
      self.ranges = Set(including.map(\.lowerBound)).sorted().map { $0...$0 }
      return
    }
    var merged = Self.normalise(including)
    for cut in Self.normalise(excluding) { merged = Self.subtract(cut, from: merged) }
    self.ranges = merged
  }

  /// The addresses of a set of the rule model: excepts are cut out of the
  /// networks. Hosts stay single (a set of pod addresses stays a plain set
  /// even when two are neighbours); networks merge into intervals.
  init(_ set: AddressSet) {
    var including: [ClosedRange<UInt128>] = []
    var excluding: [ClosedRange<UInt128>] = []
    for member in set.members {
      switch member {
      case .host(let ip): including.append(ip.value...ip.value)
      case .network(let cidr): including.append(cidr.first...cidr.last)
      case .except(let cidr): excluding.append(cidr.first...cidr.last)
      }
    }
    self.init(family: set.family, including: including, excluding: excluding, merge: set.kind == .networks)
  }

  var isEmpty: Bool { ranges.isEmpty }
  var count: Int { ranges.count }
  /// True when every range is one address (a plain, non-interval set).
  var onlyAddresses: Bool { ranges.allSatisfy { $0.lowerBound == $0.upperBound } }

  /// `10.0.0.1`, `10.0.0.0/8`, or `10.0.0.0-10.0.0.5` when the range is no
  /// prefix; nft reads all three in an interval set.
  var elements: [String] {
    ranges.map { range in
      let low = IPAddress(family: family, value: range.lowerBound)
      let span = range.upperBound - range.lowerBound
      if span == 0 { return "\(low)" }
      // A prefix: span + 1 is a power of two (or the whole space) and low is aligned.
      if span & (span &+ 1) == 0, range.lowerBound & span == 0 {
        let hostBits = 128 - span.leadingZeroBitCount
        return "\(low)/\(family.bits - hostBits)"
      }
      return "\(low)-\(IPAddress(family: family, value: range.upperBound))"
    }
  }

  static func normalise(_ input: [ClosedRange<UInt128>]) -> [ClosedRange<UInt128>] {
    let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
    var out: [ClosedRange<UInt128>] = []
    for range in sorted {
      if let last = out.last, last.upperBound == .max || range.lowerBound <= last.upperBound + 1 {
        out[out.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
      } else {
        out.append(range)
      }
    }
    return out
  }

  static func subtract(_ cut: ClosedRange<UInt128>, from ranges: [ClosedRange<UInt128>]) -> [ClosedRange<UInt128>] {
    var out: [ClosedRange<UInt128>] = []
    for range in ranges {
      guard range.overlaps(cut) else {
        out.append(range)
        continue
      }
      if range.lowerBound < cut.lowerBound { out.append(range.lowerBound...(cut.lowerBound - 1)) }
      if range.upperBound > cut.upperBound { out.append((cut.upperBound + 1)...range.upperBound) }
    }
    return out
  }
}
