#!/usr/bin/env bash
# Builds Mailpit (the SMTP server with an HTTP API that catches the app's mail in development and
# tests) from the Go module proxy into .bin/mailpit (git-ignored) and reuses it when it is already
# there. See ../shared/notes/mail.md and README "Development".
set -euo pipefail
cd "$(dirname "$0")/.."
MAILPIT_VERSION=v1.33.1
out=.bin/mailpit
# A plain `go install` leaves Mailpit's version at "dev"; the -X below makes `mailpit version` print
# "<path> v1.33.1 compiled with go… on linux/amd64", which is what is checked here.
if [ -x "$out" ] && "$out" version --no-release-check 2>&1 | grep -q " $MAILPIT_VERSION compiled with"; then
  exit 0
fi
# Go 1.26 or newer: the one on PATH, else fetched from the Go module proxy (scripts/ensure-go.sh).
PATH="$(bash scripts/ensure-go.sh):$PATH"
echo "build-mailpit: building Mailpit $MAILPIT_VERSION (first build takes a few minutes)..." >&2
mkdir -p .bin
# go install writes <GOBIN>/mailpit: build into a scratch folder, then move it into place at once.
tmp="$(mktemp -d .bin/mailpit-build.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$PWD/$tmp" go install \
  -ldflags="-s -w -X github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION" \
  "github.com/axllent/mailpit@$MAILPIT_VERSION"
mv "$tmp/mailpit" "$out"
echo "build-mailpit: built $out ($("$out" version --no-release-check 2>&1 | head -1 | sed 's/^[^ ]* //'))" >&2
