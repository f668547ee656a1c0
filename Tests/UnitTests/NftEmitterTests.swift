import IptablesEmitter
import PolicyModel
import RuleModel
import XCTest

@testable import NftEmitter

/// The nftables backend: interval arithmetic for sets, sharing sets by
/// content, the translation's closed vocabulary, comments within nft's limit.
final class NftEmitterTests: XCTestCase {
  func intervals(_ include: [String], minus exclude: [String] = [], merge: Bool = true) -> [String] {
    func member(_ text: String) -> AddressSet.Member {
      if let cidr = CIDR(text) { return .network(cidr) }
      return .host(IPAddress(text)!)
    }
    let family: IPAddress.Family = (include + exclude).first?.contains(":") == true ? .ipv6 : .ipv4
    let set = AddressSet(
      name: "T", family: family, kind: merge ? .networks : .hosts,
      members: include.map(member) + exclude.map { .except(CIDR($0)!) }, owner: "test")
    return AddressIntervals(set).elements
  }

  func testExceptsAreSubtractedFromTheirBlock() {
    XCTAssertEqual(
      intervals(["10.0.0.0/8"], minus: ["10.1.0.0/16", "10.2.0.0/16"]),
      ["10.0.0.0/16", "10.3.0.0-10.255.255.255"])
    XCTAssertEqual(intervals(["10.0.0.0/24"], minus: ["10.0.0.0/25"]), ["10.0.0.128/25"])
    XCTAssertEqual(intervals(["10.0.0.0/24"], minus: ["10.0.0.0/24"]), [])
    XCTAssertEqual(
      intervals(["0.0.0.0/1", "128.0.0.0/1"], minus: ["10.0.0.0/8"]),
      ["0.0.0.0-9.255.255.255", "11.0.0.0-255.255.255.255"])
    XCTAssertEqual(intervals(["::/1", "8000::/1"]), ["::/0"])
    XCTAssertEqual(intervals(["::/1", "8000::/1"], minus: ["::/1"]), ["8000::/1"])
    XCTAssertEqual(intervals(["2001:db8::/32"], minus: ["2001:db8::/33"]), ["2001:db8:8000::/33"])
  }

  func testOverlappingAndAdjacentBlocksMerge() {
    XCTAssertEqual(intervals(["10.0.0.0/25", "10.0.0.128/25"]), ["10.0.0.0/24"])
    XCTAssertEqual(intervals(["10.0.0.0/8", "10.1.0.0/16", "10.0.0.5"]), ["10.0.0.0/8"])
    XCTAssertEqual(intervals(["10.0.0.1", "10.0.0.2"]), ["10.0.0.1-10.0.0.2"])
    XCTAssertEqual(intervals(["255.255.255.255", "255.255.255.254"]), ["255.255.255.254/31"])
    XCTAssertEqual(
      intervals(["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"]), ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"])
  }

  func testPodAddressesStaySingleWithoutMerging() {
    XCTAssertEqual(intervals(["10.0.0.2", "10.0.0.1", "10.0.0.2"], merge: false), ["10.0.0.1", "10.0.0.2"])
  }

  /// Two policies in two namespaces with the same peers share one set; a
  /// peer of one pod (up to three) is a plain match; a peer of no pod
  /// removes its rule.
  func testSetsAreSharedByContentAndTinyOnesInlined() throws {
    let peers = "- from: [{namespaceSelector: {matchLabels: {team: a}}}]\n  ports: [{port: 80}]"
    let cluster = Load.cluster([
      Manifest.namespace("nx", labels: ["team": "a"]), Manifest.namespace("ny"), Manifest.namespace("nz"),
      Manifest.pod("nx", "p1", ip: "10.0.0.1"), Manifest.pod("nx", "p2", ip: "10.0.0.2"),
      Manifest.pod("nx", "p3", ip: "10.0.0.5"), Manifest.pod("nx", "p4", ip: "10.0.0.6"),
      Manifest.pod("ny", "q", ip: "10.0.0.3"), Manifest.pod("nz", "r", ip: "10.0.0.4"),
      Manifest.policy("ny", "in", "podSelector: {}\ningress:\n\(peers)"),
      Manifest.policy("nz", "in", "podSelector: {}\ningress:\n\(peers)"),
      Manifest.policy(
        "nz", "one", "podSelector: {}\ningress:\n- from: [{podSelector: {matchLabels: {}}}]\n  ports: [{port: 81}]"),
      Manifest.policy(
        "ny", "none",
        "podSelector: {}\ningress:\n- from: [{podSelector: {matchLabels: {nobody: here}}}]\n  ports: [{port: 82}]"),
    ])
    let ruleSet = try NftCompiler.compile(cluster, options: EmitOptions(node: "node-a"))
    XCTAssertEqual(ruleSet.sets.map(\.elements), [["10.0.0.1", "10.0.0.2", "10.0.0.5", "10.0.0.6"]])
    XCTAssertEqual(ruleSet.sets.first?.interval, false)
    let rules = ruleSet.chains.flatMap(\.rules).map(\.text)
    let name = try XCTUnwrap(ruleSet.sets.first?.name)
    XCTAssertEqual(rules.filter { $0.contains("@\(name)") }.count, 2, "both policies use the one set")
    XCTAssertTrue(rules.contains { $0.hasPrefix("ip saddr 10.0.0.4 ") && $0.contains("tcp dport 81") })
    XCTAssertFalse(rules.contains { $0.contains("dport 82") }, "a rule whose peers are no pod never matches")
  }

  /// The agent's lowering: every host set of selector peers is a named set
  /// called after its model set, however small, even empty, so a pod that
  /// joins or leaves is an element change; blocks stay shared by content.
  func testPodSetsByMeaningStayNamedWhenSmallOrEmpty() throws {
    let cluster = Load.cluster([
      Manifest.namespace("nx"),
      Manifest.pod("nx", "p1", labels: ["app": "web"], ip: "10.0.0.1"),
      Manifest.policy(
        "nx", "in",
        "podSelector: {}\ningress:\n- from: [{podSelector: {matchLabels: {app: web}}}]\n- from: [{podSelector: {matchLabels: {app: none}}}]\n  ports: [{port: 82}]\n- from: [{ipBlock: {cidr: 10.9.0.0/16, except: [10.9.1.0/24]}}]"
      ),
    ])
    let models = try NftCompiler.models(cluster, options: EmitOptions(node: "node-a"))
    let ruleSet = try NftCompiler.lower(models, podSetsByMeaning: true)
    let podSets = models[0].podDependence.setPeers.keys.sorted()
    XCTAssertEqual(podSets.count, 2)
    let named = ruleSet.sets.filter { $0.name.hasPrefix("p") }
    XCTAssertEqual(named.map(\.name), podSets.map(NftCompiler.podSetName))
    XCTAssertEqual(named.map(\.elements).sorted { $0.count < $1.count }, [[], ["10.0.0.1"]])
    let rules = ruleSet.chains.flatMap(\.rules).map(\.text)
    for set in named { XCTAssertTrue(rules.contains { $0.contains("@\(set.name)") }, "\(set.name) is used") }
    XCTAssertTrue(rules.contains { $0.contains("dport 82") }, "the rule of the empty set is kept")
    // The default lowering is unchanged: the one-address set is inlined, the empty one dropped.
    let plain = try NftCompiler.lower(models)
    XCTAssertFalse(plain.sets.contains { $0.name.hasPrefix("p") })
    XCTAssertFalse(plain.chains.flatMap(\.rules).contains { $0.text.contains("dport 82") })
    // nft itself accepts the empty set (no elements line), when it is here.
    let text = NftWriter.render(ruleSet)
    XCTAssertFalse(text.contains("elements = {\n\t\t}"))
    if FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") {
      let check = Process()
      check.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
      check.arguments = ["-c", "-f", "-"]
      let input = Pipe()
      check.standardInput = input
      try check.run()
      input.fileHandleForWriting.write(Data(text.utf8))
      try input.fileHandleForWriting.close()
      check.waitUntilExit()
      XCTAssertEqual(check.terminationStatus, 0, text)
    }
  }

  /// The agent's lowering reuses the pod sets of the last one whose model
  /// sets are unchanged, and gives exactly what a fresh lowering gives.
  func testLoweringWithTheLastPodSetsGivesTheSameTable() throws {
    func cluster(_ extra: [String]) -> Cluster {
      Load.cluster(
        [
          Manifest.namespace("nx"),
          Manifest.pod("nx", "p1", labels: ["app": "web"], ip: "10.0.0.1"),
          Manifest.pod("nx", "p2", labels: ["app": "db"], ip: "10.0.0.2"),
          Manifest.policy(
            "nx", "in",
            "podSelector: {}\ningress:\n- from: [{podSelector: {matchLabels: {app: web}}}]\n- from: [{podSelector: {matchLabels: {app: db}}}]\n  ports: [{port: 82}]"
          ),
        ] + extra)
    }
    var memo = PodSetMemo()
    let steps = [
      cluster([]), cluster([]), cluster([Manifest.pod("nx", "p3", labels: ["app": "web"], ip: "10.0.0.3")]),
      cluster([]),
    ]
    for (index, step) in steps.enumerated() {
      let models = try NftCompiler.models(step, options: EmitOptions(node: "node-a"))
      let reused = try NftCompiler.lower(models, podSetsByMeaning: true, reusing: &memo)
      let fresh = try NftCompiler.lower(models, podSetsByMeaning: true)
      XCTAssertEqual(NftWriter.render(reused), NftWriter.render(fresh), "step \(index)")
      XCTAssertEqual(memo.sets.count, 2)
    }
    XCTAssertEqual(
      memo.sets.values.map(\.set.elements).sorted { $0.first ?? "" < $1.first ?? "" }, [["10.0.0.1"], ["10.0.0.2"]])
  }

  func testCommentsFitNftsLimitAndCannotEscape() throws {
    let long = String(repeating: "n", count: 63)
    let name = Array(repeating: long, count: 3).joined(separator: ".")
    let cluster = Load.cluster([
      Manifest.pod(long, "p", ip: "10.0.0.1"),
      Manifest.policy(long, name, "podSelector: {}\ningress:\n- ports: [{port: 80}]"),
    ])
    let text = NftWriter.render(try NftCompiler.compile(cluster, options: EmitOptions()))
    let comments = text.split(separator: "\n").compactMap { line -> Substring? in
      guard let start = line.range(of: "comment \"") else { return nil }
      return line[start.upperBound...].dropLast()
    }
    XCTAssertGreaterThan(comments.count, 2)
    for comment in comments {
      XCTAssertLessThanOrEqual(comment.utf8.count, NftWriter.commentLimit)
      XCTAssertFalse(comment.contains("\""))
    }
    XCTAssertEqual(NftWriter.comment("a\"b\nc;d"), "a_b_c_d")
  }

  /// The translation reads typed values: addresses, ports and marks come
  /// out in nft's spelling, a set the table inlines becomes one rule per
  /// element, and a set the model does not hold is an internal error.
  func testTheTranslationSpellsTypedRules() throws {
    let host = IPAddress("10.0.0.1")!
    let translator = NftTranslator(family: .ipv4, sets: ["4P-S": .inline(["10.0.0.1", "10.1.0.0/16"])])
    XCTAssertEqual(
      try translator.translate(
        Rule([.address(.source, .host(host)), .transport(.tcp, ports: 80...90)], .jump("P-X"))),
      ["ip saddr 10.0.0.1 tcp dport 80-90 jump v4-P-X"])
    XCTAssertEqual(
      try translator.translate(Rule([.transport(.sctp, ports: nil)], .mark(.clear(0x80_0000)))),
      ["meta l4proto sctp meta mark set meta mark & 0xff7fffff"])
    XCTAssertEqual(
      try translator.translate(Rule([.address(.destination, .prefix(CIDR("10.0.0.7/32")!))], .return)),
      ["ip daddr 10.0.0.7 return"], "a full-length prefix is one address")
    XCTAssertEqual(
      try translator.translate(
        Rule([.address(.source, .set("4P-S")), .transport(.udp, ports: nil)], .return)),
      ["ip saddr 10.0.0.1 meta l4proto udp return", "ip saddr 10.1.0.0/16 meta l4proto udp return"])
    XCTAssertEqual(
      try translator.translate(
        Rule(
          [.mark(value: 0x100_0000, mask: 0x100_0000)],
          .log(LogAction(prefix: "policyc:in:x/a", target: .nflog(group: 2), rate: 3, unit: .hour)))),
      [
        "meta mark & 0x01000000 == 0x01000000 limit rate 3/hour burst 5 packets log prefix \"policyc:in:x/a\" group 2"
      ])
    XCTAssertThrowsError(try translator.translate(Rule([.address(.source, .set("4P-UNKNOWN"))], .return)))
    let notDispatch = Chain(name: "INGRESS", owner: "policyc", role: .dispatch, rules: [Rule(.return)])
    XCTAssertThrowsError(try translator.chain(notDispatch), "a dispatch chain holds only address -> goto")
  }

  func testOutputIsDeterministicAndReplacesOnlyItsTable() throws {
    let cluster = Load.cluster(Sample.documents)
    let first = NftWriter.render(try NftCompiler.compile(cluster, options: EmitOptions(node: "node-a")))
    let second = NftWriter.render(try NftCompiler.compile(cluster, options: EmitOptions(node: "node-a")))
    XCTAssertEqual(first, second)
    let top = first.split(separator: "\n").filter { !$0.hasPrefix("\t") && !$0.hasPrefix("#") }
    XCTAssertEqual(top, ["table inet policyc", "delete table inet policyc", "table inet policyc {", "}"])
  }
}

extension NftEmitterTests {
  /// Two running pods that report one address (a stale status, a hostile
  /// dump): the verdict map takes the address once, for the pod iptables'
  /// first dispatch rule picks, so the file still loads.
  func testTwoPodsWithOneAddressStillLoad() throws {
    let cluster = Load.cluster([
      Manifest.pod("nx", "a", ip: "10.0.0.1"), Manifest.pod("nx", "b", ip: "10.0.0.1"),
      Manifest.policy("nx", "deny", "podSelector: {}"),
    ])
    let ruleSet = try NftCompiler.compile(cluster, options: EmitOptions())
    let iptables = try IptablesCompiler.compile(cluster, options: EmitOptions())
    let first = try XCTUnwrap(iptables.chains.first { $0.name == "POLICYC-INGRESS" }?.rules.first?.target.last)
    let dispatch = try XCTUnwrap(ruleSet.chains.first { $0.name == "v4-INGRESS" }?.rules.first?.text)
    XCTAssertEqual(dispatch.components(separatedBy: "10.0.0.1 :").count, 2, dispatch)
    XCTAssertTrue(dispatch.contains("goto v4-\(first.dropFirst("POLICYC-".count))"), dispatch)
  }
}
