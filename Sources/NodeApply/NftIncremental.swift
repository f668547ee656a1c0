import NftEmitter

extension NodeApplier {
  /// Loads `delta` (see `NftDelta`) in one `nft -f` transaction: all of it
  /// or nothing, so a failure leaves the table that was in force. The
  /// caller then loads the whole table (`prepare(nft:)`, `commit`), which
  /// does not depend on what it believed the kernel held.
  public func load(_ delta: NftDelta) async throws(ApplyError) -> ApplyReport {
    let clock = ContinuousClock()
    let started = clock.now
    if !delta.isEmpty {
      do {
        _ = try await runner.run([tools.nft, "-f", "-"], input: delta.text)
      } catch {
        throw ApplyError(
          "cannot load the incremental update: \(error); nft loads all or nothing: the table in force is unchanged")
      }
    }
    return ApplyReport(nftDelta: delta, took: clock.now - started)
  }
}

extension ApplyReport {
  init(nftDelta delta: NftDelta, took: Duration) {
    changed = !delta.isEmpty
    summary = delta.isEmpty ? "nft: no change" : delta.summary
    details = "\(summary); kernel load \(Self.milliseconds(took)) ms"
  }
}
