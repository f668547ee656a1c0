import Dispatch

/// Work split into independent parts, done on up to `jobs` threads, with
/// the results in the parts' order: the output is the one-thread output
/// whatever the threads' timing.
public enum ParallelMap {
  /// `(0..<count).map(body)`, the parts shared out among `jobs` threads
  /// (in turn: part i to thread i % jobs). With `jobs` 1, or one part, it
  /// runs on the caller's thread.
  public static func map<T>(_ count: Int, jobs: Int, _ body: (Int) -> T) -> [T] {
    let workers = min(jobs, count)
    guard workers > 1 else { return (0..<count).map(body) }
    // Each thread writes the slots of its own parts only, and the array is
    // read after concurrentPerform returned, when every thread has ended.
    var results = [T?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { buffer in
      nonisolated(unsafe) let slots = buffer
      withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
          for part in stride(from: worker, to: count, by: workers) { slots[part] = body(part) }
        }
      }
    }
    return results.map { $0! }
  }
}
