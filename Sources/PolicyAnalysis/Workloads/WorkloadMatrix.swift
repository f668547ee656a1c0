public import PolicyModel

extension ConnectivityMatrix {
  /// The same matrix with pods grouped by workload (`WorkloadOwner`):
  /// each workload is one row and one column, addresses stay as they are.
  /// A cell is allowed when every pod pair of it is, and mixed (`~`) when
  /// some are and some are not; a workload with itself is two of its
  /// replicas. `disagreements` says which pairs differ, and how replicas
  /// differ in labels and named ports.
  public func byWorkload(_ cluster: Cluster) -> ConnectivityMatrix {
    let podEndpoints = endpoints.indices.filter { podOf[$0] != nil }
    let grouping = WorkloadGroups(podEndpoints.map { cluster.pods[podOf[$0]!] })
    // Members as indices into `endpoints`: workloads, then each address.
    var groups: [(name: String, members: [Int])] = grouping.groups.map { g in
      (g.name, g.members.map { podEndpoints[$0] })
    }
    for i in endpoints.indices where podOf[i] == nil { groups.append((endpoints[i], [i])) }
    let n = groups.count
    var cells: [[Bool]?] = Array(repeating: nil, count: n * n)
    var cellDependence: [[Bool]?] = Array(repeating: nil, count: n * n)
    var mixed: [[Bool]?] = Array(repeating: nil, count: n * n)
    var verdictLines: [String] = []
    // Per group, its members by class: pairs of classes decide every cell.
    let byClass: [[(cls: Int, members: [Int])]] = groups.map { g in
      var index: [Int: [Int]] = [:]
      for i in g.members { index[classOf[i], default: []].append(i) }
      return index.keys.sorted().map { ($0, index[$0]!) }
    }
    for g in 0..<n {
      for h in 0..<n {
        var allowed = Array(repeating: (yes: 0, no: 0, yesPair: (0, 0), noPair: (0, 0)), count: ports.count)
        var depends = Array(repeating: false, count: ports.count)
        var pairs = 0
        for (a, from) in byClass[g] {
          for (b, to) in byClass[h] {
            // Two distinct pods: within one class of one group, two members.
            let count = g == h && a == b ? from.count * (from.count - 1) : from.count * to.count
            guard count > 0, let row = rows[a * width + b] else { continue }
            let pair = (from[0], g == h && a == b ? from[1] : to[0])
            pairs += count
            for p in ports.indices {
              if row[p] {
                if allowed[p].yes == 0 { allowed[p].yesPair = pair }
                allowed[p].yes += count
              } else {
                if allowed[p].no == 0 { allowed[p].noPair = pair }
                allowed[p].no += count
              }
              if dependent[a * width + b]?[p] == true { depends[p] = true }
            }
          }
        }
        guard pairs > 0 else { continue }
        cells[g * n + h] = allowed.map { $0.no == 0 }
        if depends.contains(true) { cellDependence[g * n + h] = depends }
        let split = allowed.map { $0.yes > 0 && $0.no > 0 }
        guard split.contains(true) else { continue }
        mixed[g * n + h] = split
        for (p, cell) in allowed.enumerated() where split[p] {
          verdictLines.append(
            "\(groups[g].name) -> \(groups[h].name) on \(ports[p]): allowed for \(cell.yes) of \(pairs) pod pairs"
              + " (such as \(endpoints[cell.yesPair.0]) -> \(endpoints[cell.yesPair.1])), denied for \(cell.no)"
              + " (such as \(endpoints[cell.noPair.0]) -> \(endpoints[cell.noPair.1]))")
        }
      }
    }
    var replicaLines: [String] = []
    for group in grouping.groups {
      replicaLines += WorkloadGroups.disagreements(
        group.name, group.members.map { cluster.pods[podOf[podEndpoints[$0]]!] })
    }
    var grouped = ConnectivityMatrix(
      endpoints: groups.map(\.name), ports: ports, classOf: Array(0..<n), width: n, rows: cells,
      dependent: cellDependence,
      addressless: Set(groups.indices.filter { groups[$0].members.contains(where: addressless.contains) }))
    grouped.podOf = groups.map { $0.members.count == 1 ? podOf[$0.members[0]] : nil }
    grouped.members = groups.map { $0.members.map { endpoints[$0] } }
    grouped.mixed = mixed
    grouped.disagreements = replicaLines + verdictLines
    return grouped
  }
}

extension MatrixReporter {
  /// Under the tables with `--by workload`: what `~` means, the pods of
  /// each workload, and every disagreement.
  static func workloadNotes(_ m: ConnectivityMatrix) -> String {
    guard let members = m.members else { return "" }
    var out = ""
    if m.mixed.contains(where: { $0 != nil }) {
      out += "~: replicas disagree: some pod pairs of the cell are allowed and others denied\n"
    }
    for (name, pods) in zip(m.endpoints, members) where pods != [name] {
      out += "\(name): \(Wording.count(pods.count, "pod")) (\(Wording.list(pods, limit: 5)))\n"
    }
    for line in m.disagreements { out += "replicas disagree: \(line)\n" }
    return out
  }

  /// `disagreements` (sentences), `mixed` ([from, to, port] triples where
  /// replicas disagree) and `workloads` (each endpoint's name and pods).
  static func workloadJSON(_ m: ConnectivityMatrix, _ members: [[String]]) -> [(String, String)] {
    var mixed: [String] = []
    for i in m.endpoints.indices {
      for j in m.endpoints.indices {
        for (p, probe) in m.ports.enumerated() where m.isMixed(i, j, p) {
          mixed.append(
            "[\(JSON.string(m.endpoints[i])),\(JSON.string(m.endpoints[j])),\(JSON.string(probe.description))]")
        }
      }
    }
    // An array, not an object keyed by name: names differ in case
    // (`shop/Deployment/web`, `shop/debug`), and JSON tools sort such keys
    // in different orders.
    let workloads = zip(m.endpoints, members).map { name, pods in
      "{\"name\":\(JSON.string(name)),\"pods\":[" + pods.map(JSON.string).joined(separator: ",") + "]}"
    }
    return [
      ("disagreements", "[" + m.disagreements.map(JSON.string).joined(separator: ",") + "]"),
      ("mixed", "[" + mixed.joined(separator: ",") + "]"),
      ("workloads", "[" + workloads.joined(separator: ",") + "]"),
    ]
  }
}
