import PolicyModel

/// Pod addresses, sorted, so the pods inside an ipBlock are found by binary
/// search rather than by testing every pod against every block.
struct AddressIndex: Sendable {
  private let entries: [(address: IPAddress, pod: Pod)]

  init(_ pods: [Pod]) {
    entries = pods.flatMap { pod in pod.ips.map { (address: $0, pod: pod) } }.sorted {
      $0.address < $1.address
    }
  }

  /// First index whose address is not below `address`.
  private func lowerBound(_ address: IPAddress) -> Int {
    var low = 0
    var high = entries.count
    while low < high {
      let mid = (low + high) / 2
      if entries[mid].address < address { low = mid + 1 } else { high = mid }
    }
    return low
  }

  /// The first pod with an address inside the block (cidr minus excepts),
  /// with that address, and how many addresses of pods the block holds.
  func first(in block: IPBlock) -> (first: (IPAddress, Pod)?, count: Int) {
    let (found, count) = pods(in: block, limit: 1)
    return (found.first, count)
  }

  /// Whether a pod with an address inside the block passes `test`.
  func contains(in block: IPBlock, where test: (Pod) -> Bool) -> Bool {
    pods(in: block, limit: 1, where: test).first.isEmpty == false
  }

  /// Pods with an address inside the block (cidr minus excepts) that pass
  /// `test`, with that address, sorted by address; at most `limit` of them,
  /// and how many addresses the block holds in all.
  private func pods(in block: IPBlock, limit: Int, where test: (Pod) -> Bool = { _ in true })
    -> (first: [(IPAddress, Pod)], count: Int)
  {
    func range(_ cidr: CIDR) -> Range<Int> {
      let start = lowerBound(IPAddress(family: cidr.family, value: cidr.first))
      guard cidr.last < UInt128.max else {
        return
          start..<(entries.lastIndex { $0.address.family == cidr.family }.map { $0 + 1 } ?? start)
      }
      let end = lowerBound(IPAddress(family: cidr.family, value: cidr.last + 1))
      return start..<max(start, end)
    }
    // Excepts may nest; merged, they are disjoint ranges of entries.
    var holes: [Range<Int>] = []
    for hole in block.except.map(range).sorted(by: { $0.lowerBound < $1.lowerBound }) {
      if let last = holes.last, hole.lowerBound <= last.upperBound {
        holes[holes.count - 1] = last.lowerBound..<max(last.upperBound, hole.upperBound)
      } else if !hole.isEmpty {
        holes.append(hole)
      }
    }
    let all = range(block.cidr)
    let count = all.count - holes.reduce(0) { $0 + $1.clamped(to: all).count }
    var first: [(IPAddress, Pod)] = []
    var i = all.lowerBound
    var h = 0
    while i < all.upperBound, first.count < limit {
      while h < holes.count, holes[h].upperBound <= i { h += 1 }
      if h < holes.count, holes[h].contains(i) {
        i = holes[h].upperBound
        continue
      }
      if test(entries[i].pod) { first.append((entries[i].address, entries[i].pod)) }
      i += 1
    }
    return (first, count)
  }
}
