import ArgumentParser

/// `--by`: what one endpoint of matrix, diff and explain stands for.
enum Grouping: String, ExpressibleByArgument, CaseIterable {
  case pod, workload

  /// The paragraph the three commands' help share.
  static let help = """
    With --by workload, the pods of one workload are one endpoint named
    NAMESPACE/KIND/NAME: the pod's owner (ownerReferences: the controller,
    else the first), a ReplicaSet named <deployment>-<pod-template-hash>
    counting as its Deployment; a bare pod stays NAMESPACE/NAME. So
    shop/web-7d4b9c6f5-x2k9p and shop/web-7d4b9c6f5-q8f7z are both
    shop/Deployment/web, and shop/db-0 is shop/StatefulSet/db. Where replicas
    differ in labels, named ports or answers, a "replicas disagree" line
    (a field in JSON) says how.
    """
}
