// swift-tools-version:6.0
import PackageDescription

// The property tests judge every emitter against an independent oracle on
// thousands of random clusters: they and the oracle are compiled with
// optimisation even in debug builds (unoptimised, generic UInt128 address
// arithmetic made them 90% of `make test`'s unit-test time).
let optimizedInTests: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
  name: "policyc",
  // UInt128 (IPAddress) and Sequence.count(where:) are macOS 15 API.
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "policyc", targets: ["policyc"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // Runs iptables, ipset and nft for node apply (see Sources/NodeApply/Runner.swift).
    .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CLibYAML",
      pkgConfig: "yaml-0.1",
      providers: [.apt(["libyaml-dev"])]
    ),
    .target(name: "YAMLBridge", dependencies: ["CLibYAML"]),
    .target(name: "PolicyModel", dependencies: ["YAMLBridge"]),
    // The typed rule model and the compiler that fills it; the two
    // emitters render it, and neither depends on the other.
    .target(name: "RuleModel", dependencies: ["PolicyModel"]),
    .target(name: "IptablesEmitter", dependencies: ["PolicyModel", "RuleModel"]),
    .target(name: "NftEmitter", dependencies: ["PolicyModel", "RuleModel"]),
    .target(
      name: "NodeApply",
      dependencies: [
        "PolicyModel", "RuleModel", "IptablesEmitter", "NftEmitter",
        .product(name: "Subprocess", package: "swift-subprocess"),
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    // Talks to the Kubernetes API server: kubeconfig, TLS, paged LIST, WATCH.
    .target(
      name: "KubeClient",
      dependencies: [
        "YAMLBridge",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // The node agent: cluster cache, coalesced syncs through NodeApply, health and metrics.
    .target(
      name: "Agent",
      dependencies: [
        "KubeClient", "PolicyModel", "YAMLBridge", "RuleModel", "IptablesEmitter", "NftEmitter", "NodeApply",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]
    ),
    .target(name: "PolicyAnalysis", dependencies: ["PolicyModel", "YAMLBridge"]),
    // The independent oracle of the property tests: it reads PolicyModel's
    // decoded objects and nothing else (see ReferenceIndependenceTests).
    .target(name: "PolicyReference", dependencies: ["PolicyModel"], swiftSettings: optimizedInTests),
    .executableTarget(
      name: "policyc",
      dependencies: [
        "YAMLBridge", "PolicyModel", "RuleModel", "IptablesEmitter", "NftEmitter", "PolicyAnalysis", "NodeApply",
        "KubeClient", "Agent",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      plugins: ["BuildInfo"]
    ),
    // Writes the git commit for `policyc --version` (Plugins/BuildInfo).
    .plugin(name: "BuildInfo", capability: .buildTool()),
    // Helpers shared by the test targets (a seeded random generator, a
    // cluster given other policies as the agent gives them).
    .target(name: "TestSupport", dependencies: ["PolicyModel"], path: "Tests/TestSupport"),
    .testTarget(
      name: "UnitTests",
      dependencies: [
        "TestSupport",
        "YAMLBridge", "PolicyModel", "RuleModel", "IptablesEmitter", "NftEmitter", "PolicyAnalysis", "NodeApply",
      ],
      path: "Tests/UnitTests"
    ),
    .testTarget(
      name: "NodeApplyTests",
      dependencies: ["PolicyModel", "RuleModel", "IptablesEmitter", "NftEmitter", "NodeApply"],
      path: "Tests/NodeApplyTests"
    ),
    .testTarget(
      name: "PropertyTests",
      dependencies: [
        "TestSupport",
        "YAMLBridge", "PolicyModel", "RuleModel", "IptablesEmitter", "NftEmitter", "PolicyAnalysis", "PolicyReference",
      ],
      path: "Tests/PropertyTests",
      swiftSettings: optimizedInTests
    ),
    .testTarget(
      name: "AnalysisTests",
      dependencies: [
        "TestSupport", "PolicyModel", "PolicyAnalysis", "IptablesEmitter",
      ],
      path: "Tests/AnalysisTests"
    ),
    .testTarget(
      name: "LintTests",
      dependencies: ["YAMLBridge", "PolicyModel", "PolicyAnalysis"],
      path: "Tests/LintTests"
    ),
    .testTarget(
      name: "AgentTests",
      dependencies: [
        "TestSupport",
        "Agent", "KubeClient", "YAMLBridge", "PolicyModel", "RuleModel", "IptablesEmitter", "NftEmitter",
        "NodeApply",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/AgentTests"
    ),
    .testTarget(
      name: "GoldenTests",
      dependencies: ["PolicyModel", "RuleModel", "IptablesEmitter", "NftEmitter"],
      path: "Tests/Golden",
      exclude: ["cases", "invalid", "lint", "analysis", "commands"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
