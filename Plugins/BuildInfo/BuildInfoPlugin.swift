import Foundation
import PackagePlugin

/// Tells `policyc --version` which git commit it was built from.
///
/// A prebuild command runs on every `swift build`: a short shell script asks
/// git for the commit of the package's own checkout and writes
/// `BuildCommit.swift` into the plugin's work directory under `.build`, so
/// the work tree stays clean. The file is rewritten only when its text
/// changes, so an unchanged commit recompiles nothing. Without git, or
/// outside a checkout of this package (a tarball, or a copy inside some other
/// repository), the commit is `nil` and `--version` says "commit unknown".
@main
struct BuildInfoPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let output = context.pluginWorkDirectoryURL.appending(path: "generated")
    let environment = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME"].contains($0.key) }
    return [
      .prebuildCommand(
        displayName: "Reading the git commit policyc is built from",
        executable: URL(fileURLWithPath: "/bin/sh"),
        arguments: [
          "-c", Self.script, "build-info",
          context.package.directoryURL.path(percentEncoded: false),
          output.appending(path: "BuildCommit.swift").path(percentEncoded: false),
        ],
        environment: environment,
        outputFilesDirectory: output
      )
    ]
  }

  /// $1: the package directory; $2: the Swift file to write.
  /// `--no-optional-locks`: reading the status must not write the index.
  static let script = #"""
    set -u
    dir=$1
    out=$2
    commit=nil
    modified=false
    if command -v git >/dev/null 2>&1; then
      top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) || top=
      if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(cd "$dir" && pwd -P)" ]; then
        if id=$(git -C "$dir" rev-parse --verify --quiet --short=12 HEAD 2>/dev/null); then
          commit="\"$id\""
          if [ -n "$(git -C "$dir" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null)" ]; then
            modified=true
          fi
        fi
      fi
    fi
    mkdir -p "$(dirname "$out")"
    tmp="$out.tmp.$$"
    cat >"$tmp" <<SWIFT
    // Written by the BuildInfo plugin at build time; never checked in.
    enum BuildCommit {
      /// The commit's short hash, or nil when built outside a git checkout.
      static let id: String? = $commit
      /// True when tracked files differed from that commit.
      static let modified = $modified
    }
    SWIFT
    if cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv -f "$tmp" "$out"; fi
    """#
}
