public import YAMLBridge

/// Decodes one object at a time, as a long-running agent receives them from
/// the API server, with exactly the validation and defaulting of `Loader`.
public enum ObjectDecoding {
  /// The object at `node` decoded into an otherwise empty inventory: one
  /// namespace, pod, policy or admin policy, or error diagnostics naming
  /// `file` (a label such as `api:pods/default/web`). `kind` and
  /// `apiVersion` stand in when the object names none, as list items do.
  public static func decode(
    _ node: YAMLNode, file: String, kind: String, apiVersion: String, options: LoadOptions = LoadOptions()
  ) -> Inventory {
    var inventory = Inventory()
    var reader = NodeReader(file: file)
    Loader.decode(node, reader: &reader, into: &inventory, options: options, inherited: (kind, apiVersion))
    inventory.diagnostics += reader.diagnostics
    inventory.documentCount = 1
    return inventory
  }
}
