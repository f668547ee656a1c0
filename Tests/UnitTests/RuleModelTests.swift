import IptablesEmitter
import PolicyModel
import RuleModel
import XCTest

@testable import NftEmitter

/// The typed rule model between the compiler and the backends: what the
/// compiler decides is readable as values, and each renderer spells the
/// same values its own way.
final class RuleModelTests: XCTestCase {
  func ip(_ text: String) -> IPAddress { IPAddress(text)! }
  func cidr(_ text: String) -> CIDR { CIDR(text)! }

  /// A planner (or another backend) reads which sets a rule uses without
  /// parsing any backend's text, and every reference resolves.
  func testSetReferencesAreTypedValuesAPlannerCanRead() throws {
    let model = try RuleCompiler.compile(
      Load.cluster(Sample.documents), options: EmitOptions(node: "node-a", useIPSets: true))
    let references = Set(model.chains.flatMap(\.rules).flatMap(\.setReferences))
    XCTAssertFalse(references.isEmpty)
    for name in references {
      XCTAssertNotNil(model.set(named: name), name)
      XCTAssertTrue(name.hasPrefix("4"), "an IPv4 set's name starts with its family tag: \(name)")
    }
    // The ipBlock 10.0.0.0/8 except 10.0.1.0/24 is one set of kind networks.
    let block = try XCTUnwrap(model.sets.first { $0.members.contains(.except(cidr("10.0.1.0/24"))) })
    XCTAssertEqual(block.kind, .networks)
    XCTAssertEqual(block.members, [.network(cidr("10.0.0.0/8")), .except(cidr("10.0.1.0/24"))])
    XCTAssertTrue(references.contains(block.name))
    // The peers of web-in's first rule (pods of team ops, and the shop's pods) are hosts.
    let hosts = model.sets.filter { $0.kind == .hosts }
    XCTAssertTrue(hosts.contains { $0.members.contains(.host(ip("10.0.1.5"))) })
  }

  /// The model holds names, not a backend's prefixes; each renderer adds its own.
  func testNamesAreStemsEachBackendPrefixes() throws {
    let cluster = Load.cluster(Sample.documents)
    let model = try RuleCompiler.compile(cluster, options: EmitOptions(node: "node-a"))
    XCTAssertEqual(model.chains.prefix(3).map(\.name), ["FORWARD", "EGRESS", "INGRESS"])
    XCTAssertEqual(model.chains.prefix(3).map(\.role), [.root, .dispatch, .dispatch])
    XCTAssertFalse(model.chains.contains { $0.name.hasPrefix("POLICYC-") })
    let iptables = IptablesLowering.ruleSet(model)
    XCTAssertEqual(iptables.chains.map(\.name), model.chains.map { "POLICYC-" + $0.name })
    XCTAssertEqual(
      model.chains[0].rules.first, Rule([.conntrack([.related, .established])], .return), "replies pass first")
    XCTAssertEqual(iptables.chains[0].rules.first?.matches, ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"])
  }

  /// A hand-made model: a block with an except, a set of many pods, one of
  /// two pods and one of none, and a dispatch chain.
  func model() -> RuleSet {
    let pods = (1...5).map { AddressSet.Member.host(ip("10.0.0.\($0)")) }
    let sets = [
      AddressSet(
        name: "4B-X", family: .ipv4, kind: .networks,
        members: [.network(cidr("10.0.0.0/8"))]
          + ["10.1.0.0/16", "10.3.0.0/16", "10.5.0.0/16"].map { .except(cidr($0)) },
        owner: "a/b"),
      AddressSet(name: "4P-MANY", family: .ipv4, kind: .hosts, members: pods, owner: "a/b"),
      AddressSet(name: "4P-TWO", family: .ipv4, kind: .hosts, members: Array(pods.prefix(2)), owner: "a/b"),
      AddressSet(name: "4P-NONE", family: .ipv4, kind: .hosts, members: [], owner: "a/b"),
    ]
    let mark = Action.mark(.set(0x80_0000))
    let policy = Chain(
      name: "IN-A", owner: "a/b", role: .policy,
      rules: [
        Rule([.address(.source, .set("4B-X")), .transport(.tcp, ports: 80...81)], mark, comment: "block"),
        Rule([.address(.source, .set("4P-MANY"))], mark),
        Rule([.address(.source, .set("4P-TWO")), .transport(.udp, ports: 53...53)], mark),
        Rule([.address(.source, .set("4P-NONE"))], mark),
      ])
    let dispatch = Chain(
      name: "INGRESS", owner: "policyc", role: .dispatch,
      rules: [
        Rule([.address(.destination, .host(ip("10.0.0.9")))], .goto("IP-B"), comment: "a/y"),
        Rule([.address(.destination, .host(ip("10.0.0.3")))], .goto("IP-A"), comment: "a/x"),
      ])
    return RuleSet(family: .ipv4, chains: [dispatch, policy], entry: "FORWARD", sets: sets, summary: [])
  }

  /// nft's own lowering works on the typed values: the except is cut out of
  /// its block as intervals, big sets are named by content, small ones
  /// inlined, an empty one removes its rule, and the dispatch is a map.
  func testNftLowersExceptsSetsAndDispatchFromTypedValues() throws {
    let nft = try NftCompiler.lower([model()])
    let block = try XCTUnwrap(nft.sets.first { $0.interval })
    XCTAssertEqual(block.elements, ["10.0.0.0/16", "10.2.0.0/16", "10.4.0.0/16", "10.6.0.0-10.255.255.255"])
    let pods = try XCTUnwrap(nft.sets.first { !$0.interval })
    XCTAssertEqual(pods.elements, (1...5).map { "10.0.0.\($0)" })
    XCTAssertEqual(nft.sets.count, 2, "the two-pod set is inlined, the empty one dropped")
    let rules = try XCTUnwrap(nft.chains.first { $0.name == "v4-IN-A" }).rules.map(\.text)
    XCTAssertEqual(
      rules,
      [
        "ip saddr @\(block.name) tcp dport 80-81 meta mark set meta mark | 0x00800000",
        "ip saddr @\(pods.name) meta mark set meta mark | 0x00800000",
        "ip saddr 10.0.0.1 udp dport 53 meta mark set meta mark | 0x00800000",
        "ip saddr 10.0.0.2 udp dport 53 meta mark set meta mark | 0x00800000",
      ])
    let dispatch = try XCTUnwrap(nft.chains.first { $0.name == "v4-INGRESS" }).rules.map(\.text)
    XCTAssertEqual(dispatch, ["ip daddr vmap {\n\t\t\t10.0.0.3 : goto v4-IP-A,\n\t\t\t10.0.0.9 : goto v4-IP-B\n\t\t}"])
  }

  /// The iptables renderer spells the same model as ipsets (excepts as
  /// nomatch) and one rule per dispatch entry, in the model's order.
  func testIptablesRendersTheSameModelWithIPSets() {
    let iptables = IptablesLowering.ruleSet(model())
    let text = RestoreWriter.render(iptables)
    XCTAssertTrue(
      text.contains(
        "-A POLICYC-INGRESS -d 10.0.0.9/32 -m comment --comment \"a/y\" -g POLICYC-IP-B\n"
          + "-A POLICYC-INGRESS -d 10.0.0.3/32 -m comment --comment \"a/x\" -g POLICYC-IP-A\n"), text)
    XCTAssertTrue(
      text.contains(
        "-A POLICYC-IN-A -p tcp -m comment --comment \"block\" -m set --match-set POLICYC-4B-X src -m tcp --dport 80:81"
          + " -j MARK --set-xmark 0x800000/0x800000\n"), text)
    XCTAssertTrue(text.contains("-A POLICYC-IN-A -m set --match-set POLICYC-4P-NONE src -j MARK"), text)
    let block = iptables.sets.first { $0.name == "POLICYC-4B-X" }
    XCTAssertEqual(block?.members, ["10.0.0.0/8", "10.1.0.0/16 nomatch", "10.3.0.0/16 nomatch", "10.5.0.0/16 nomatch"])
    XCTAssertEqual(block?.type, .hashNet)
    XCTAssertEqual(iptables.sets.first { $0.name == "POLICYC-4P-NONE" }?.members, [])
  }

  /// hash:net takes no /0: the iptables renderer splits it, nft merges it back.
  func testAWholeFamilyBlockIsSplitForIPSetAndWholeForNft() throws {
    let whole = AddressSet(
      name: "6N-ALL", family: .ipv6, kind: .networks, members: [.network(cidr("::/0"))], owner: "a/b")
    XCTAssertEqual(IptablesLowering.set(whole).members, ["8000::/1", "::/1"])
    XCTAssertEqual(AddressIntervals(whole).elements, ["::/0"])
  }
}
