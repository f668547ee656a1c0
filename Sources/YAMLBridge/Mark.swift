/// A position in a YAML source, 1-based, as editors and compilers print it.
///
/// `column` counts characters (libyaml counts code points), not bytes, so a
/// location under a non-ASCII label still lands on the right character.
public struct Mark: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var line: Int
  public var column: Int

  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }

  public static func < (lhs: Mark, rhs: Mark) -> Bool {
    (lhs.line, lhs.column) < (rhs.line, rhs.column)
  }

  public var description: String { "\(line):\(column)" }
}

/// The stretch of source a node was parsed from: its first character and the
/// position just past its last one.
public struct SourceSpan: Sendable, Hashable {
  public var start: Mark
  public var end: Mark

  public init(start: Mark, end: Mark) {
    self.start = start
    self.end = end
  }
}
