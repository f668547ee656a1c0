import PolicyModel

/// Loader rules about any object: its shape, names, labels and identity.
extension LoaderRule {
  static let unknownField = LoaderRule(
    description: RuleDescription(
      id: RuleID.unknownField, title: "field unknown to the API",
      rationale: """
        A misspelt field (`ingres`, `podselector`) is dropped by lenient decoding, so the policy \
        silently means something else; `kubectl apply --validate=strict` refuses it. NetworkPolicy \
        objects are decoded strictly.
        """,
      severity: .error,
      triggering: [
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector: {}
          ↓ingres: []
        """
      ],
      nonTriggering: [
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector: {}
          ingress: []
        """
      ]))

  static let invalidType = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidType, title: "value of the wrong type",
      rationale:
        "A list where the API wants a mapping (or the reverse), or a number where it wants a string.",
      severity: .error,
      triggering: [
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector: {}
          ingress: ↓{}
        """
      ],
      nonTriggering: [
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector: {}
          ingress: [{}]
        """
      ]))

  static let missingField = LoaderRule(
    description: RuleDescription(
      id: RuleID.missingField, title: "required field missing",
      rationale:
        "Every object needs `kind` and `metadata.name`; the API server rejects it without them.",
      severity: .error,
      triggering: [
        "↓apiVersion: v1\nmetadata:\n  name: web\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  ↓labels: {app: web}\n",
      ],
      nonTriggering: ["apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"]))

  static let invalidName = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidName, title: "invalid object name, namespace or annotation key",
      rationale: """
        Names are RFC 1123 subdomains (namespaces: labels): lowercase alphanumerics, '-' and '.', \
        starting and ending with an alphanumeric. Annotation keys are qualified names.
        """,
      severity: .error,
      triggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ↓Web_Frontend\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: ↓shop.eu\n",
      ],
      nonTriggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-frontend\n  namespace: shop\n"
      ]))

  static let invalidLabel = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidLabel, title: "invalid label key or value",
      rationale: """
        Label values are strings of at most 63 characters from [-A-Za-z0-9_.]. Unquoted `yes`, `no`, \
        `on`, `off`, `true` and numbers are not strings in YAML 1.1 (which Kubernetes uses): quote them.
        """,
      severity: .error,
      triggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    tls: ↓yes\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    ↓-app: web\n",
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
        spec:
          podSelector:
            matchLabels:
              version: ↓1.0
        """,
      ],
      nonTriggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    tls: \"yes\"\n    version: \"1.0\"\n"
      ]))

  static let invalidAddress = LoaderRule(
    description: RuleDescription(
      id: RuleID.invalidAddress, title: "invalid pod IP address",
      rationale: "`status.podIP` and `status.podIPs` must hold IPv4 or IPv6 addresses.",
      severity: .error,
      triggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nstatus:\n  podIP: ↓10.244.1.300\n"
      ],
      nonTriggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nstatus:\n  podIP: 10.244.1.30\n"
      ]))

  static let duplicateObject = LoaderRule(
    description: RuleDescription(
      id: RuleID.duplicateObject, title: "object defined twice",
      rationale: """
        Two definitions of one namespace or pod: which one wins depends on the order files are \
        applied in, and `policyc compile` refuses the input. NetworkPolicies are reported as \
        duplicate-policy.
        """,
      severity: .error,
      triggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n---\n↓apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
      ],
      nonTriggering: [
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n"
      ]),
    accepts: { diagnostic, context in
      context.index.object(at: diagnostic.location)?.kind != "NetworkPolicy"
    })
}
