/// Every lint rule, sorted by id.
public enum LintRules {
  public static let all: [any LintRule] =
    ([
      LoaderRule.yamlSyntax, LoaderRule.yamlLimit, LoaderRule.duplicateKey, LoaderRule.unknownField,
      LoaderRule.invalidType, LoaderRule.missingField, LoaderRule.invalidName,
      LoaderRule.invalidLabel,
      LoaderRule.invalidAddress, LoaderRule.duplicateObject, LoaderRule.invalidSelector,
      LoaderRule.invalidCIDR,
      LoaderRule.invalidPort, LoaderRule.invalidProtocol, LoaderRule.invalidPeer,
      LoaderRule.invalidPolicyType, LoaderRule.invalidAdminPolicy,
    ] as [any LintRule] + [
      SelectorMatchesNothing(), NamedPortUnresolved(), EgressBlocksDNS(), IPBlockMatchesPods(),
      DuplicatePolicy(), AdminPriorityOverlap(),
      RedundantRule(), CIDRHostBits(), IgnoredRules(), UnsupportedAPIVersion(), NoObjects(),
      UnknownSuppression(),
      SuppressionWithoutReason(), UnknownNamespace(), AdminSelectsNothing(),
    ]).sorted { $0.description.id < $1.description.id }

  public static var descriptions: [RuleDescription] { all.map(\.description) }

  public static func rule(_ id: String) -> (any LintRule)? { all.first { $0.description.id == id } }
}
