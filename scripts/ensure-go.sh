#!/usr/bin/env bash
# Prints the directory of a `go` (1.26 or newer: what Mailpit's and Helm's modules declare), for
#   PATH="$(bash scripts/ensure-go.sh):$PATH"
#   - the `go` on PATH when it is new enough;
#   - otherwise Go GO_VERSION, fetched once from the Go module proxy (module golang.org/toolchain,
#     as the go command's own GOTOOLCHAIN switch does, checked against the checksum database) into
#     .bin/go-<version>/ (git-ignored). Needs Node.js and the npm packages (scripts/fetch-go.mjs).
# Progress goes to stderr; stdout is only the directory.
set -euo pipefail
cd "$(dirname "$0")/.."
GO_VERSION="${GO_VERSION:-1.26.8}"
MIN="1.26"

new_enough() { # go version string, e.g. go1.26.8 / go1.27rc1
  local v="${1#go}" major minor
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%[^0-9]*}"
  [ "$major" -gt "${MIN%%.*}" ] || { [ "$major" -eq "${MIN%%.*}" ] && [ "$minor" -ge "${MIN#*.}" ]; }
}
if command -v go >/dev/null 2>&1; then
  have="$(go env GOVERSION 2>/dev/null || true)"
  if [[ "$have" =~ ^go[0-9]+\.[0-9]+ ]] && new_enough "$have"; then
    dirname "$(command -v go)"
    exit 0
  fi
  echo "ensure-go: the go on PATH is ${have:-unknown}; the built modules need Go $MIN or newer" >&2
fi
dest=".bin/go-$GO_VERSION"
if [ ! -x "$dest/bin/go" ]; then
  mkdir -p .bin
  node scripts/fetch-go.mjs "$GO_VERSION" "$dest"
fi
echo "$(pwd)/$dest/bin"
