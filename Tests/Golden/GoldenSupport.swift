import Foundation
import IptablesEmitter
import NftEmitter
import PolicyModel
import RuleModel
import XCTest

/// Golden cases: `cases/<name>/` holds manifests (any .yaml/.yml/.json below
/// it), an optional `args` line (`--node NAME`, `--namespace NS`,
/// `--deny drop`, `--family ipv6`, the `--log-*` flags) and `expected.rules`, and (unless it names a family: the
/// nft file holds both) `expected.nft` for `--backend nft`; `invalid/<name>/` holds manifests
/// and `expected.stderr`. Set POLICYC_RECORD=1 to re-record: the run then
/// fails on purpose, so a re-record can never pass silently.
enum Golden {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  static var recording: Bool { ProcessInfo.processInfo.environment["POLICYC_RECORD"] == "1" }

  struct Case {
    var name: String
    var directory: URL
    var sources: [InputSource]
    var args: [String]
  }

  static func cases(_ folder: String) throws -> [Case] {
    let base = root.appendingPathComponent(folder)
    let names = try FileManager.default.contentsOfDirectory(atPath: base.path).filter { !$0.hasPrefix(".") }.sorted()
    return try names.map { name in
      let directory = base.appendingPathComponent(name)
      let files = (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? [])
        .filter { InputFiles.extensions.contains(($0 as NSString).pathExtension.lowercased()) }
        .sorted()
      let sources = try files.map { file in
        InputSource(path: file, bytes: [UInt8](try Data(contentsOf: directory.appendingPathComponent(file))))
      }
      let argsText = (try? String(contentsOf: directory.appendingPathComponent("args"), encoding: .utf8)) ?? ""
      return Case(
        name: name, directory: directory, sources: sources,
        args: argsText.split(whereSeparator: \.isWhitespace).map(String.init))
    }
  }

  static func option(_ args: [String], _ flag: String) -> String? {
    guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
    return args[i + 1]
  }

  static func loadOptions(_ c: Case) -> LoadOptions {
    LoadOptions(defaultNamespace: option(c.args, "--namespace") ?? Defaults.namespace)
  }

  static func emitOptions(_ c: Case) -> EmitOptions {
    EmitOptions(
      node: option(c.args, "--node"), denyAction: option(c.args, "--deny").flatMap(DenyAction.init) ?? .reject,
      family: option(c.args, "--family") == "ipv6" ? .ipv6 : .ipv4, log: denyLog(c.args))
  }

  /// `--log-denied [--log-target log] [--log-group G] [--log-rate N/unit]`.
  static func denyLog(_ args: [String]) -> DenyLog? {
    guard args.contains("--log-denied") else { return nil }
    let rate = (option(args, "--log-rate") ?? "10/minute").split(separator: "/")
    let group = Int(option(args, "--log-group") ?? "0") ?? 0
    return DenyLog(
      target: option(args, "--log-target") == "log" ? .log : .nflog(group: group), rate: Int(rate[0]) ?? 10,
      unit: DenyLog.Unit(rawValue: String(rate[1])) ?? .minute)
  }

  /// The rules the case compiles to, or the diagnostics if it does not.
  static func compile(_ c: Case, sources: [InputSource]? = nil) throws -> (rules: String?, diagnostics: String) {
    let inventory = Loader.load(sources ?? c.sources, options: loadOptions(c))
    let diagnostics = inventory.diagnostics.map { $0.formatted + "\n" }.joined()
    guard inventory.errors.isEmpty else { return (nil, diagnostics) }
    let ruleSet = try IptablesCompiler.compile(Cluster(inventory), options: emitOptions(c))
    return (RestoreWriter.render(ruleSet), diagnostics)
  }

  /// The `nft -f` text of the case (both families), or nil when it does not load.
  static func compileNft(_ c: Case) throws -> String? {
    let inventory = Loader.load(c.sources, options: loadOptions(c))
    guard inventory.errors.isEmpty else { return nil }
    return NftWriter.render(try NftCompiler.compile(Cluster(inventory), options: emitOptions(c)))
  }

  /// Compares with the golden file, or writes it when recording.
  static func check(_ actual: String, _ file: URL, _ label: String) {
    if recording {
      try? actual.write(to: file, atomically: true, encoding: .utf8)
      XCTFail("\(label): recorded \(file.lastPathComponent); review the diff, then rerun without POLICYC_RECORD")
      return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
      XCTFail("\(label): no golden \(file.path); record with POLICYC_RECORD=1")
      return
    }
    if expected != actual {
      XCTFail(
        "\(label): output differs from \(file.lastPathComponent)\n--- expected\n\(expected)\n--- actual\n\(actual)")
    }
  }
}
