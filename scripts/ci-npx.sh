#!/usr/bin/env bash
# CI check (issue #20): the packed tarball runs through `npx -y` with no TTY, on this machine's npm (11)
# and on npm 10, within a time limit. Needs the npm registry (the dependencies are fetched), so it runs
# from .ci/run, not from the hermetic test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tgz="$(npm pack --silent --pack-destination "$work" </dev/null | tail -n 1)"
tgz="$work/$tgz"
check() {
  local label="$1"
  shift
  local out
  # A fresh cache each time: nothing installed earlier may hide an install script that prompts.
  if ! out="$(cd "$work" && timeout 300 env npm_config_cache="$work/cache-$label" "$@" </dev/null 2>&1)"; then
    echo "ci-npx: $label: failed or timed out:" >&2
    echo "$out" | tail -n 20 >&2
    exit 1
  fi
  local version
  version="$(echo "$out" | tail -n 1)"
  if [[ "$version" != "$(node -p 'require("./package.json").version')" ]]; then
    echo "ci-npx: $label: expected the version, got: $out" >&2
    exit 1
  fi
  echo "ci-npx: $label: npx of the packed tarball printed $version"
}
# npm_config_yes is unset on purpose: -y alone must be enough.
unset npm_config_yes
check "npm-$(npm --version)" npx -y --package="file:$tgz" autonomous-mcp --version
check "npm-10" npx -y npm@10 exec -y --package="file:$tgz" -- autonomous-mcp --version
