#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH (scripts/ensure-node.sh: the system's node when it is
# 24 or newer, else the pinned official build in .bin/). The npm scripts go through it, e.g.
#   bash scripts/node.sh tsx bench/run.ts
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bindir="$(bash "$here/ensure-node.sh")"
export PATH="$bindir:$PATH"
exec "$@"
