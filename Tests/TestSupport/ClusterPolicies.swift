import PolicyModel

extension Cluster {
  /// This cluster holding exactly `policies` and `adminPolicies`, updated
  /// in place as the agent updates it (`updatePolicies`): the policies it
  /// holds that `policies` lacks are deleted, every one of `policies` is
  /// replaced or added. Nil when the namespaces would change.
  public func withPolicies(_ policies: [NetworkPolicy], adminPolicies: [AdminPolicy]) -> Cluster? {
    let kept = Set(policies.map { [$0.meta.namespace, $0.meta.name] })
    let deleted = self.policies.filter { !kept.contains([$0.meta.namespace, $0.meta.name]) }.map {
      PolicyUpdate(namespace: $0.meta.namespace, name: $0.meta.name, object: nil)
    }
    let upserted = policies.map { PolicyUpdate(namespace: $0.meta.namespace, name: $0.meta.name, object: $0) }
    var updated = self
    return updated.updatePolicies(deleted + upserted, adminPolicies: adminPolicies) ? updated : nil
  }
}
