import PolicyAnalysis
import PolicyModel
import XCTest

/// Which workload a pod belongs to, table-driven, and what decoding keeps
/// of `metadata.ownerReferences`.
final class WorkloadOwnerTests: XCTestCase {
  static func pod(
    _ name: String, labels: [String: String] = [:], owners: [OwnerReference] = [], kind: String? = nil
  ) -> Pod {
    Pod(
      meta: ObjectMeta(name: name, namespace: "shop", labels: labels, location: Build.here, owners: owners),
      nodeName: nil, phase: "Running", ips: [], ports: [], workloadKind: kind)
  }

  func testOwnerResolution() {
    let hash = ["pod-template-hash": "7d4b9c6f5"]
    let cases: [(String, Pod, String)] = [
      ("a bare pod is its own group", Self.pod("debug"), "shop/debug"),
      (
        "a ReplicaSet named after the template hash is its Deployment",
        Self.pod("web-7d4b9c6f5-x2k9p", labels: hash, owners: [.init(kind: "ReplicaSet", name: "web-7d4b9c6f5")]),
        "shop/Deployment/web"
      ),
      (
        "a Deployment name with dashes keeps them",
        Self.pod(
          "my-web-app-7d4b9c6f5-x2k9p", labels: hash,
          owners: [.init(kind: "ReplicaSet", name: "my-web-app-7d4b9c6f5", controller: true)]),
        "shop/Deployment/my-web-app"
      ),
      (
        "a ReplicaSet whose name does not end in the hash stays a ReplicaSet",
        Self.pod("cache-x", labels: hash, owners: [.init(kind: "ReplicaSet", name: "cache")]), "shop/ReplicaSet/cache"
      ),
      (
        "without the hash label, a ReplicaSet stays a ReplicaSet",
        Self.pod("web-7d4b9c6f5-x2k9p", owners: [.init(kind: "ReplicaSet", name: "web-7d4b9c6f5")]),
        "shop/ReplicaSet/web-7d4b9c6f5"
      ),
      (
        "a ReplicaSet named only the hash has no Deployment name",
        Self.pod("x", labels: hash, owners: [.init(kind: "ReplicaSet", name: "7d4b9c6f5")]),
        "shop/ReplicaSet/7d4b9c6f5"
      ),
      (
        "the controller reference wins over the first",
        Self.pod(
          "db-0",
          owners: [
            .init(kind: "ConfigMap", name: "settings"), .init(kind: "StatefulSet", name: "db", controller: true),
          ]), "shop/StatefulSet/db"
      ),
      (
        "without a controller, the first reference",
        Self.pod("job-x", owners: [.init(kind: "Job", name: "nightly"), .init(kind: "CronJob", name: "n")]),
        "shop/Job/nightly"
      ),
      ("a workload manifest is its own workload", Self.pod("web", kind: "Deployment"), "shop/Deployment/web"),
    ]
    for (what, pod, expected) in cases {
      XCTAssertEqual(WorkloadOwner.name(of: pod), expected, what)
    }
  }

  func testDecodingKeepsKindNameAndController() {
    let yaml = """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web-7d4b9c6f5-x2k9p
        namespace: shop
        labels: {pod-template-hash: 7d4b9c6f5}
        ownerReferences:
        - {apiVersion: v1, kind: ConfigMap, name: settings, uid: u1}
        - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c6f5, uid: u2, controller: true}
        - {kind: 7, name: [not, a, name]}
        - just text
      status: {podIP: 10.0.0.1}
      """
    let inventory = Loader.load([InputSource(path: "p.yaml", bytes: Array(yaml.utf8))])
    // Malformed entries are left out without a word: the API server writes
    // this field, so it is not the author's to fix, and compile prunes it.
    XCTAssertEqual(inventory.diagnostics.map(\.formatted), [])
    XCTAssertEqual(
      inventory.pods[0].meta.owners,
      [.init(kind: "ConfigMap", name: "settings"), .init(kind: "ReplicaSet", name: "web-7d4b9c6f5", controller: true)])
    XCTAssertEqual(WorkloadOwner.name(of: inventory.pods[0]), "shop/Deployment/web")
    // Compile's pruning drops the field: compile never reads it.
    var options = LoadOptions()
    options.pruning = LoadOptions.compilePruning
    XCTAssertEqual(
      Loader.load([InputSource(path: "p.yaml", bytes: Array(yaml.utf8))], options: options).pods[0].meta.owners, [])
  }

  func testGroupsAndDisagreements() {
    let hash = { (h: String) in ["app": "web", "pod-template-hash": h] }
    let pods = [
      Self.pod("web-aaa-1", labels: hash("aaa"), owners: [.init(kind: "ReplicaSet", name: "web-aaa")]),
      Self.pod("debug"),
      Self.pod(
        "web-bbb-1", labels: hash("bbb").merging(["track": "canary"]) { a, _ in a },
        owners: [.init(kind: "ReplicaSet", name: "web-bbb")]),
      Self.pod("web-aaa-2", labels: hash("aaa"), owners: [.init(kind: "ReplicaSet", name: "web-aaa")]),
    ]
    let groups = WorkloadGroups(pods)
    XCTAssertEqual(groups.groups.map(\.name), ["shop/Deployment/web", "shop/debug"])
    XCTAssertEqual(groups.groups.map(\.members), [[0, 2, 3], [1]])
    XCTAssertEqual(groups.groupOf, [0, 1, 0, 0])
    // The hash differs by design and is no disagreement; the track label is.
    XCTAssertEqual(
      WorkloadGroups.disagreements("shop/Deployment/web", [pods[0], pods[2], pods[3]]),
      ["shop/Deployment/web: label track: unset on 2 pods, canary on shop/web-bbb-1"])
    XCTAssertEqual(WorkloadGroups.disagreements("shop/Deployment/web", [pods[0], pods[3]]), [])
  }

  func testStopSummaryNamesTheInvalidObjects() {
    func summary(_ yaml: String) -> String? {
      InvalidObjects.summary(Loader.load([InputSource(path: "f.yaml", bytes: Array(yaml.utf8))]))
    }
    let valid = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
    let invalid = """
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: use_common_labels
        namespace: shop
      spec: {podSelector: {}}

      """
    XCTAssertNil(summary(valid))
    XCTAssertEqual(
      summary(valid + invalid),
      "stopped: 1 invalid object (NetworkPolicy shop/use_common_labels at f.yaml:8:9); the other object is valid")
    XCTAssertEqual(
      summary(invalid),
      "stopped: 1 invalid object (NetworkPolicy shop/use_common_labels at f.yaml:4:9); there are no other objects")
    // A syntax error may hide objects: the rest is not known to be fine.
    XCTAssertNil(summary(valid + invalid + "---\nkind: [\n"))
  }
}
