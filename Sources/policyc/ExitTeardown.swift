import Synchronization

/// The large values of a command that ends the process when it returns.
///
/// Freeing a cluster's model object by object (every pod's strings,
/// dictionaries and arrays, then the compiled rules) is a visible part of a
/// compile: about 0.3 s of W3's 6 s on one thread. The process ends right
/// after, and the kernel takes its memory back at once, so `compile` and
/// `apply` hand those values here as they return and nothing frees them.
/// Never for anything that lives on (the agent): what is kept here is kept
/// until the process exits.
enum ExitTeardown {
  private static let kept = Mutex<[any Sendable]>([])

  /// Keeps `values` until the process exits.
  static func skip(_ values: any Sendable...) {
    kept.withLock { $0.append(contentsOf: values) }
  }
}
