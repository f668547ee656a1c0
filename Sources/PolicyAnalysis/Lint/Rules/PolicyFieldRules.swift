import PolicyModel

/// Loader rules about NetworkPolicy fields, as ValidateNetworkPolicy checks them.
extension LoaderRule {
  static func policy(_ spec: String) -> String {
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n" + spec
  }

  static let invalidSelector = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidSelector, title: "invalid label selector",
      rationale: """
        Operators are In, NotIn, Exists and DoesNotExist; In and NotIn need a non-empty `values`, \
        Exists and DoesNotExist must have none.
        """,
      severity: .error,
      triggering: [
        policy("  podSelector:\n    matchExpressions:\n    - key: app\n      operator: ↓In\n"),
        policy(
          "  podSelector:\n    matchExpressions:\n    - key: app\n      operator: ↓Equals\n      values: [web]\n"
        ),
      ],
      nonTriggering: [
        policy(
          "  podSelector:\n    matchExpressions:\n    - key: app\n      operator: In\n      values: [web]\n"
        )
      ]))

  static let invalidCIDR = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidCIDR, title: "invalid ipBlock cidr or except",
      rationale: """
        `cidr` must parse as a CIDR, and each `except` must be a strict subnet of it in the same \
        address family.
        """,
      severity: .error,
      triggering: [
        policy(
          "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: ↓10.0.0.0/33\n"),
        policy(
          "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [↓10.0.0.0/8]\n"
        ),
      ],
      nonTriggering: [
        policy(
          "  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.1.0.0/16]\n"
        )
      ]))

  static let invalidPort = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidPort, title: "invalid port, port name or endPort",
      rationale: """
        A port is a number from 1 to 65535 or an IANA service name (at most 15 lowercase \
        alphanumerics and '-', with a letter). A quoted number such as "80" is a name, and an \
        invalid one. `endPort` needs a numeric `port` and must not be below it.
        """,
      severity: .error,
      triggering: [
        policy("  podSelector: {}\n  ingress:\n  - ports:\n    - port: ↓\"80\"\n"),
        policy("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 8080\n      endPort: ↓80\n"),
      ],
      nonTriggering: [
        policy(
          "  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n    - port: http\n    - port: 8000\n      endPort: 8080\n"
        )
      ]))

  static let invalidProtocol = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidProtocol, title: "unsupported protocol",
      rationale:
        "NetworkPolicy ports speak TCP, UDP or SCTP only, in upper case; ICMP cannot be allowed by port.",
      severity: .error,
      triggering: [
        policy("  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: ↓ICMP\n"),
        policy("  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: ↓tcp\n      port: 80\n"),
      ],
      nonTriggering: [
        policy("  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: UDP\n      port: 53\n")
      ]))

  static let invalidPeer = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidPeer, title: "invalid from/to peer",
      rationale: """
        A peer names pods (podSelector and/or namespaceSelector) or addresses (ipBlock), never both, \
        and never nothing.
        """,
      severity: .error,
      triggering: [
        policy(
          "  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n      ↓ipBlock:\n        cidr: 10.0.0.0/8\n"
        ),
        policy("  podSelector: {}\n  ingress:\n  - from:\n    - ↓{}\n"),
      ],
      nonTriggering: [
        policy(
          "  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n    - ipBlock:\n        cidr: 10.0.0.0/8\n"
        )
      ]))

  static let invalidPolicyType = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidPolicyType, title: "invalid policy type",
      rationale: "`policyTypes` lists at most `Ingress` and `Egress`, spelt exactly so.",
      severity: .error,
      triggering: [policy("  podSelector: {}\n  policyTypes: [Ingress, ↓egress]\n")],
      nonTriggering: [policy("  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")]))
}
