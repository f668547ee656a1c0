import YAMLBridge

extension LoadOptions {
  /// What a compile never reads of a Pod: most of a kubectl dump (managed
  /// fields, volumes, env, probes, status conditions). Skipping it at the
  /// event level saves building those nodes; libyaml still checks the
  /// syntax. Only Pods whose `kind` comes before the skipped keys (as
  /// kubectl prints them) are pruned; everything else is read whole.
  public static let compilePruning = Pruning(maxDepth: 3) { kind, path, key in
    guard kind == "Pod" else { return false }
    switch path.count {
    case 1:
      switch path.first! {
      case "metadata": return key == "managedFields" || key == "ownerReferences" || key == "annotations"
      case "spec": return !(key == "nodeName" || key == "hostNetwork" || key == "containers" || key == "initContainers")
      case "status": return !(key == "phase" || key == "podIP" || key == "podIPs")
      default: return false
      }
    case 3:
      // spec.containers[*].<key>, spec.initContainers[*].<key>
      guard path[path.startIndex] == "spec", path[path.startIndex + 2] == "-" else { return false }
      return !(key == "name" || key == "ports" || key == "restartPolicy")
    default:
      return false
    }
  }
}
