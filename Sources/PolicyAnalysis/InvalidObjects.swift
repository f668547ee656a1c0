public import PolicyModel

/// What an analysis says when it stops because of invalid objects: which
/// objects, and that the rest of the input is fine, so the reader knows one
/// fix lets the question be asked.
public enum InvalidObjects {
  /// `stopped: 1 invalid object (NetworkPolicy shop/use_common_labels at
  /// f.yaml:3:9); the other 41 objects are valid`, each object at its first
  /// error. nil without errors, and when an error belongs to no object (a
  /// YAML syntax error, an unreadable file, an object defined twice): then
  /// the rest of the input is not known to be fine.
  public static func summary(_ inventory: Inventory) -> String? {
    let errors = inventory.errors
    guard !errors.isEmpty, errors.allSatisfy({ $0.object != nil }) else { return nil }
    var first: [ObjectRef: SourceLocation] = [:]
    for error in errors {
      let object = error.object!
      if first[object].map({ error.location < $0 }) ?? true { first[object] = error.location }
    }
    let invalid = first.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map { object, at in
      "\(object.kind) \(object) at \(at.file):\(at.line):\(at.column)"
    }
    let others = LintEngine.objectCount(inventory) - first.count
    let rest: String
    switch others {
    case ...0: rest = "there are no other objects"
    case 1: rest = "the other object is valid"
    default: rest = "the other \(others) objects are valid"
    }
    return "stopped: \(Wording.count(first.count, "invalid object")) (\(Wording.list(invalid, limit: 5))); \(rest)"
  }
}
