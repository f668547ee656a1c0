import Foundation
import YAMLBridge

/// How to reach one API server, resolved from a kubeconfig or from the
/// pod's service account: the address, what to trust, and who we are.
public struct ClusterConfig: Sendable, Equatable {
  /// `https://host:port`, without a trailing slash.
  public var server: String
  /// PEM bytes of the CA bundle to trust; nil trusts the system's roots.
  public var caPEM: [UInt8]?
  /// `insecure-skip-tls-verify: true`: no certificate check at all.
  public var insecureSkipTLSVerify: Bool
  public var credentials: Credentials

  public enum Credentials: Sendable, Equatable {
    case none
    /// A token written in the kubeconfig: used as is, never re-read.
    case token(String)
    /// A token file (`tokenFile`, or the service account's): re-read
    /// periodically and after every 401, because bound tokens rotate.
    case tokenFile(String)
    /// A client certificate and key, PEM.
    case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
  }

  public init(server: String, caPEM: [UInt8]?, insecureSkipTLSVerify: Bool, credentials: Credentials) {
    self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
    self.caPEM = caPEM
    self.insecureSkipTLSVerify = insecureSkipTLSVerify
    self.credentials = credentials
  }
}

/// Why no configuration could be built; the message names the file and field.
public struct KubeConfigError: Error, Sendable, CustomStringConvertible, Equatable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Reads a kubeconfig as kubectl does: `$KUBECONFIG` may name several files
/// (joined by `:`), and for every map (contexts, clusters, users) and for
/// `current-context` the first file that sets a value wins. Relative paths
/// are relative to the file that names them.
public enum KubeConfig {
  public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

  /// The configuration of `--kubeconfig`, else `$KUBECONFIG`, else the
  /// in-cluster one.
  public static func resolve(kubeconfig: String?, environment: [String: String]) throws(KubeConfigError)
    -> ClusterConfig
  {
    let list = kubeconfig ?? environment["KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    guard let list else { return try inCluster(environment: environment) }
    let paths = list.split(separator: ":").map(String.init)
    var files: [(path: String, bytes: [UInt8])] = []
    for path in paths {
      guard let data = FileManager.default.contents(atPath: path) else {
        // kubectl skips missing files of $KUBECONFIG, but not a --kubeconfig it was given.
        if kubeconfig != nil { throw KubeConfigError("\(path): cannot read the kubeconfig") }
        continue
      }
      files.append((path, Array(data)))
    }
    guard !files.isEmpty else { throw KubeConfigError("\(list): no kubeconfig file can be read") }
    return try parse(files)
  }

  /// The configuration inside a pod: `KUBERNETES_SERVICE_HOST` and `_PORT`
  /// and the service account's token and CA.
  public static func inCluster(environment: [String: String], directory: String = serviceAccountDirectory)
    throws(KubeConfigError) -> ClusterConfig
  {
    guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
      let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
    else {
      throw KubeConfigError(
        "no --kubeconfig, no $KUBECONFIG, and not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset)"
      )
    }
    let tokenPath = directory + "/token"
    guard FileManager.default.isReadableFile(atPath: tokenPath) else {
      throw KubeConfigError("\(tokenPath): cannot read the service account token")
    }
    let caPath = directory + "/ca.crt"
    guard let ca = FileManager.default.contents(atPath: caPath) else {
      throw KubeConfigError("\(caPath): cannot read the service account CA")
    }
    let hostPart = host.contains(":") ? "[\(host)]" : host
    return ClusterConfig(
      server: "https://\(hostPart):\(port)", caPEM: Array(ca), insecureSkipTLSVerify: false,
      credentials: .tokenFile(tokenPath))
  }

  /// One kubeconfig file, or several merged (see the type's comment).
  public static func parse(_ files: [(path: String, bytes: [UInt8])]) throws(KubeConfigError) -> ClusterConfig {
    var current: String?
    var contexts: [String: (node: YAMLNode, file: String)] = [:]
    var clusters: [String: (node: YAMLNode, file: String)] = [:]
    var users: [String: (node: YAMLNode, file: String)] = [:]
    for (path, bytes) in files {
      let stream = YAMLParser.parse(bytes)
      if let error = stream.errors.first { throw KubeConfigError("\(path):\(error.mark): \(error.message)") }
      guard let root = stream.documents.first?.root, root.mappingPairs != nil else { continue }
      if current == nil, let name = root["current-context"]?.scalarText, !name.isEmpty { current = name }
      func collect(_ key: String, _ inner: String, into map: inout [String: (node: YAMLNode, file: String)]) {
        for entry in root[key]?.sequenceItems ?? [] {
          guard let name = entry["name"]?.scalarText, map[name] == nil, let value = entry[inner] else { continue }
          map[name] = (value, path)
        }
      }
      collect("contexts", "context", into: &contexts)
      collect("clusters", "cluster", into: &clusters)
      collect("users", "user", into: &users)
    }
    let origin = files.map(\.path).joined(separator: ":")
    guard let current else { throw KubeConfigError("\(origin): no current-context") }
    guard let context = contexts[current] else {
      throw KubeConfigError("\(origin): current-context \"\(current)\" is not among the contexts")
    }
    guard let clusterName = context.node["cluster"]?.scalarText, let cluster = clusters[clusterName] else {
      throw KubeConfigError("\(context.file): context \"\(current)\" names no known cluster")
    }
    guard let server = cluster.node["server"]?.scalarText, !server.isEmpty else {
      throw KubeConfigError("\(cluster.file): cluster \"\(clusterName)\" has no server")
    }
    let insecure = cluster.node["insecure-skip-tls-verify"]?.resolved == .bool(true)
    let ca = try material(
      cluster.node, file: cluster.file, field: "certificate-authority", what: "cluster \"\(clusterName)\"")
    var credentials = ClusterConfig.Credentials.none
    if let userName = context.node["user"]?.scalarText, !userName.isEmpty {
      guard let user = users[userName] else {
        throw KubeConfigError(
          "\(context.file): context \"\(current)\" names user \"\(userName)\", which is not defined")
      }
      credentials = try self.credentials(user.node, file: user.file, name: userName)
    }
    return ClusterConfig(server: server, caPEM: ca, insecureSkipTLSVerify: insecure, credentials: credentials)
  }

  static func credentials(_ user: YAMLNode, file: String, name: String) throws(KubeConfigError)
    -> ClusterConfig.Credentials
  {
    let what = "user \"\(name)\""
    let certificate = try material(user, file: file, field: "client-certificate", what: what)
    let key = try material(user, file: file, field: "client-key", what: what)
    // kubectl prefers a token to a client certificate when both are given.
    if let token = user["token"]?.scalarText, !token.isEmpty { return .token(token) }
    if let tokenFile = user["tokenFile"]?.scalarText, !tokenFile.isEmpty {
      return .tokenFile(relative(tokenFile, to: file))
    }
    switch (certificate, key) {
    case (let certificate?, let key?): return .clientCertificate(certificatePEM: certificate, keyPEM: key)
    case (nil, nil): return .none
    default: throw KubeConfigError("\(file): \(what) has a client certificate without a key, or a key without one")
    }
  }

  /// `field-data` (base64) or `field` (a file), as bytes; nil when neither.
  static func material(_ node: YAMLNode, file: String, field: String, what: String) throws(KubeConfigError)
    -> [UInt8]?
  {
    if let data = node[field + "-data"]?.scalarText, !data.isEmpty {
      guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
        throw KubeConfigError("\(file): \(what): \(field)-data is not base64")
      }
      return Array(decoded)
    }
    guard let path = node[field]?.scalarText, !path.isEmpty else { return nil }
    let full = relative(path, to: file)
    guard let contents = FileManager.default.contents(atPath: full) else {
      throw KubeConfigError("\(file): \(what): cannot read \(field) \(full)")
    }
    return Array(contents)
  }

  static func relative(_ path: String, to file: String) -> String {
    if path.hasPrefix("/") { return path }
    let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
    return directory + "/" + path
  }
}
