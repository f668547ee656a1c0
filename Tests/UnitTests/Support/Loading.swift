import PolicyModel
import XCTest
import YAMLBridge

/// Runs the loader on in-memory files, as `policyc` does on the files it reads.
enum Load {
  static func inventory(
    _ files: [(path: String, text: String)], options: LoadOptions = LoadOptions()
  ) -> Inventory {
    Loader.load(
      files.map { InputSource(path: $0.path, bytes: Array($0.text.utf8)) }, options: options)
  }

  /// The documents as one stream in `test.yaml`.
  static func inventory(_ documents: [String], options: LoadOptions = LoadOptions()) -> Inventory {
    inventory([("test.yaml", Manifest.stream(documents))], options: options)
  }

  /// A cluster from documents that must load without errors.
  static func cluster(_ documents: [String], file: StaticString = #filePath, line: UInt = #line)
    -> Cluster
  {
    let inventory = inventory(documents)
    XCTAssertEqual(
      inventory.errors.map(\.formatted), [], "the test's manifests do not load", file: file,
      line: line)
    return Cluster(inventory)
  }
}

/// Text with `↓` markers, as the lint rule examples write them: each marker
/// names the position of the character after it.
struct Marked {
  var text: String
  var marks: [Mark]

  init(_ marked: String) {
    var text = ""
    var marks: [Mark] = []
    var line = 1
    var column = 1
    for scalar in marked.unicodeScalars {
      if scalar == "↓" {
        marks.append(Mark(line: line, column: column))
        continue
      }
      text.unicodeScalars.append(scalar)
      if scalar == "\n" {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    self.text = text
    self.marks = marks
  }
}
