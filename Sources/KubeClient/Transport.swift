import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// A response's status and, for a plain GET or a refused stream, its body.
public struct KubeResponse: Sendable {
  public var status: Int
  public var body: [UInt8]

  public init(status: Int, body: [UInt8]) {
    self.status = status
    self.body = body
  }
}

/// The two requests the agent makes of the API server. The agent's real
/// transport is `HTTPTransport`; tests stand a fake in its place to drive
/// the list and watch logic without sockets.
public protocol KubeTransport: Sendable {
  /// `GET path?query`, the whole body.
  func get(_ path: String, query: [(String, String)], timeout: Duration) async throws -> KubeResponse
  /// `GET path?query` whose body is newline-delimited JSON: `opened` runs
  /// once the server answers 200, then `line` gets every line as it
  /// arrives. Returns when the server ends the body (a watch timeout); for
  /// a status other than 200, the body is returned and neither runs.
  func stream(
    _ path: String, query: [(String, String)], timeout: Duration, opened: @Sendable () async -> Void,
    line: @Sendable ([UInt8]) async throws -> Void
  ) async throws -> KubeResponse
}

/// Why a request failed below HTTP (connection refused, TLS, timeout).
public struct TransportError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Reads a bearer token file, again after `maxAge` and after every 401
/// (bound service account tokens rotate hourly). The token is never logged.
public actor TokenSource {
  let path: String
  let maxAge: Duration
  var token: String?
  var readAt: ContinuousClock.Instant?

  public init(path: String, maxAge: Duration = .seconds(60)) {
    self.path = path
    self.maxAge = maxAge
  }

  /// The token, re-read when older than `maxAge` or invalidated.
  public func current() -> String? {
    let now = ContinuousClock.now
    if let readAt, now - readAt < maxAge, token != nil { return token }
    if let data = FileManager.default.contents(atPath: path) {
      let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      if !text.isEmpty { token = text }
    }
    readAt = now
    return token
  }

  /// After a 401: the next request reads the file again.
  public func invalidate() { readAt = nil }
}

/// The real transport: AsyncHTTPClient over NIOSSL, with certificate
/// verification on unless the kubeconfig says `insecure-skip-tls-verify`.
public final class HTTPTransport: KubeTransport {
  let client: HTTPClient
  let server: String
  let staticToken: String?
  let tokenSource: TokenSource?

  public init(config: ClusterConfig) throws {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let ca = config.caPEM {
      tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
    }
    if config.insecureSkipTLSVerify { tls.certificateVerification = .none }
    switch config.credentials {
    case .clientCertificate(let certificate, let key):
      tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
      tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
      (staticToken, tokenSource) = (nil, nil)
    case .token(let token): (staticToken, tokenSource) = (token, nil)
    case .tokenFile(let path): (staticToken, tokenSource) = (nil, TokenSource(path: path))
    case .none: (staticToken, tokenSource) = (nil, nil)
    }
    var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
    configuration.timeout = .init(connect: .seconds(10))
    configuration.decompression = .disabled
    configuration.redirectConfiguration = .disallow
    // A refused connection fails the request at once: the list-and-watch
    // loop retries with its own backoff. Left on, the pool would park a
    // watch behind its own growing backoff for as long as the watch's
    // deadline, minutes after the API server came back.
    configuration.connectionPool.retryConnectionEstablishment = false
    client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    server = config.server
  }

  public func shutdown() async {
    try? await client.shutdown()
  }

  /// Percent-encodes a query value (continue tokens hold `=`, `+` and `/`).
  static func encode(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
  }

  static func url(server: String, path: String, query: [(String, String)]) -> String {
    let joined = query.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    return server + path + (joined.isEmpty ? "" : "?" + joined)
  }

  func request(_ path: String, query: [(String, String)]) async -> HTTPClientRequest {
    var request = HTTPClientRequest(url: Self.url(server: server, path: path, query: query))
    request.headers.add(name: "Accept", value: "application/json")
    request.headers.add(name: "User-Agent", value: "policyc-agent")
    let token: String? =
      if let staticToken { staticToken } else if let tokenSource { await tokenSource.current() } else { nil }
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    return request
  }

  func noteStatus(_ status: Int) async {
    if status == 401 { await tokenSource?.invalidate() }
  }

  static func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  }

  public func get(_ path: String, query: [(String, String)], timeout: Duration) async throws -> KubeResponse {
    let request = await request(path, query: query)
    do {
      let response = try await client.execute(request, timeout: Self.timeAmount(timeout))
      let body = try await response.body.collect(upTo: 1 << 30)
      await noteStatus(Int(response.status.code))
      return KubeResponse(status: Int(response.status.code), body: Array(buffer: body))
    } catch let error as HTTPClientError {
      throw TransportError("GET \(path): \(error)")
    }
  }

  public func stream(
    _ path: String, query: [(String, String)], timeout: Duration, opened: @Sendable () async -> Void,
    line: @Sendable ([UInt8]) async throws -> Void
  ) async throws -> KubeResponse {
    let request = await request(path, query: query)
    do {
      let response = try await client.execute(request, timeout: Self.timeAmount(timeout))
      let status = Int(response.status.code)
      await noteStatus(status)
      guard status == 200 else {
        let body = try await response.body.collect(upTo: 1 << 20)
        return KubeResponse(status: status, body: Array(buffer: body))
      }
      await opened()
      var splitter = LineSplitter()
      for try await chunk in response.body {
        for complete in splitter.feed(chunk.readableBytesView) { try await line(complete) }
      }
      if let last = splitter.finish() { try await line(last) }
      return KubeResponse(status: status, body: [])
    } catch let error as HTTPClientError {
      // The deadline is the watch's timeoutSeconds plus a margin: a server
      // that keeps the stream open longer is treated as a silent timeout.
      if error == .deadlineExceeded { return KubeResponse(status: 200, body: []) }
      throw TransportError("GET \(path): \(error)")
    }
  }
}

/// Cuts a byte stream into lines at `\n` (a watch body is one JSON event
/// per line); a `\r` before the `\n` is dropped.
public struct LineSplitter: Sendable {
  var pending: [UInt8] = []

  public init() {}

  public mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    for byte in bytes {
      if byte == UInt8(ascii: "\n") {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        if !pending.isEmpty { lines.append(pending) }
        pending.removeAll(keepingCapacity: true)
      } else {
        pending.append(byte)
      }
    }
    return lines
  }

  /// What is left after the body ends without a final newline.
  public mutating func finish() -> [UInt8]? {
    defer { pending = [] }
    return pending.isEmpty ? nil : pending
  }
}
