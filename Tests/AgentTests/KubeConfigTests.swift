import Foundation
import KubeClient
import Testing

/// A class so that each test's folder goes with it (`deinit`).
@Suite final class KubeConfigTests {
  let directory: String

  init() throws {
    directory = NSTemporaryDirectory() + "policyc-kubeconfig-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: directory) }

  func write(_ name: String, _ text: String) throws -> String {
    let path = directory + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func config(cluster: String, user: String, current: String = "main") -> String {
    """
    apiVersion: v1
    kind: Config
    current-context: \(current)
    contexts:
    - name: other
      context: {cluster: other, user: nobody}
    - name: main
      context:
        cluster: c1
        user: u1
    clusters:
    - name: c1
      cluster:
    \(cluster.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    users:
    - name: u1
      user:
    \(user.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    """
  }

  @Test func tokenAndCAFileRelativeToTheKubeconfig() throws {
    _ = try write("ca.pem", "CA-PEM")
    let path = try write(
      "config", config(cluster: "server: https://10.0.0.1:6443/\ncertificate-authority: ca.pem", user: "token: abc"))
    let config = try KubeConfig.resolve(kubeconfig: path, environment: [:])
    #expect(config.server == "https://10.0.0.1:6443")
    #expect(config.caPEM == Array("CA-PEM".utf8))
    #expect(config.credentials == .token("abc"))
    #expect(!config.insecureSkipTLSVerify)
  }

  @Test func dataFieldsAreBase64() throws {
    let b64 = { (s: String) in Data(s.utf8).base64EncodedString() }
    let path = try write(
      "config",
      config(
        cluster: "server: https://api:443\ncertificate-authority-data: \(b64("CA"))",
        user: "client-certificate-data: \(b64("CERT"))\nclient-key-data: \(b64("KEY"))"))
    let config = try KubeConfig.resolve(kubeconfig: path, environment: [:])
    #expect(config.caPEM == Array("CA".utf8))
    #expect(config.credentials == .clientCertificate(certificatePEM: Array("CERT".utf8), keyPEM: Array("KEY".utf8)))
  }

  @Test func clientCertificateFilesAndInsecure() throws {
    _ = try write("c.crt", "CERT")
    _ = try write("c.key", "KEY")
    let path = try write(
      "config",
      config(
        cluster: "server: https://api:443\ninsecure-skip-tls-verify: true",
        user: "client-certificate: c.crt\nclient-key: \(directory)/c.key"))
    let config = try KubeConfig.resolve(kubeconfig: path, environment: [:])
    #expect(config.insecureSkipTLSVerify)
    #expect(config.caPEM == nil)
    #expect(config.credentials == .clientCertificate(certificatePEM: Array("CERT".utf8), keyPEM: Array("KEY".utf8)))
  }

  @Test func tokenFileIsKeptAsAPathToReread() throws {
    let path = try write("config", config(cluster: "server: https://api:443", user: "tokenFile: tok"))
    let config = try KubeConfig.resolve(kubeconfig: nil, environment: ["KUBECONFIG": path])
    #expect(config.credentials == .tokenFile(directory + "/tok"))
  }

  @Test func severalFilesFirstValueWins() throws {
    let first = try write(
      "one", "current-context: main\nclusters:\n- name: c1\n  cluster: {server: 'https://first:1'}\n")
    let second = try write(
      "two", config(cluster: "server: https://second:2", user: "token: t2", current: "other"))
    let config = try KubeConfig.resolve(
      kubeconfig: nil, environment: ["KUBECONFIG": "\(directory)/missing:\(first):\(second)"])
    #expect(config.server == "https://first:1")
    #expect(config.credentials == .token("t2"))
  }

  @Test func problemsNameTheFile() throws {
    let noContext = try write("bad", "clusters: []\n")
    #expect(throws: KubeConfigError.self) { try KubeConfig.resolve(kubeconfig: noContext, environment: [:]) }
    let unknown = try write("bad2", config(cluster: "server: https://a:1", user: "token: t", current: "nope"))
    #expect(throws: KubeConfigError("\(unknown): current-context \"nope\" is not among the contexts")) {
      try KubeConfig.resolve(kubeconfig: unknown, environment: [:])
    }
    #expect(throws: KubeConfigError.self) { try KubeConfig.resolve(kubeconfig: directory + "/none", environment: [:]) }
    let halfCert = try write("bad3", config(cluster: "server: https://a:1", user: "client-key-data: S0VZ"))
    #expect(throws: KubeConfigError.self) { try KubeConfig.resolve(kubeconfig: halfCert, environment: [:]) }
  }

  @Test func inClusterUsesTheServiceAccount() throws {
    _ = try write("token", "secret\n")
    _ = try write("ca.crt", "CA")
    let environment = ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"]
    let config = try KubeConfig.inCluster(environment: environment, directory: directory)
    #expect(config.server == "https://[fd00::1]:443")
    #expect(config.caPEM == Array("CA".utf8))
    #expect(config.credentials == .tokenFile(directory + "/token"))
    #expect(throws: KubeConfigError.self) { try KubeConfig.resolve(kubeconfig: nil, environment: [:]) }
  }

  @Test func tokenFileIsRereadAfterInvalidation() async throws {
    let path = try write("rotating", "one")
    let source = TokenSource(path: path, maxAge: .seconds(3600))
    #expect(await source.current() == "one")
    _ = try write("rotating", "two\n")
    #expect(await source.current() == "one")
    await source.invalidate()
    #expect(await source.current() == "two")
  }
}
