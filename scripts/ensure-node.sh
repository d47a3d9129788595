#!/usr/bin/env bash
# Prints the directory of a Node.js 24 `node` binary, for `PATH="$(bash scripts/ensure-node.sh):$PATH"`.
#
# The project runs on Node.js 24 (the LTS line; Node 20 reached its end of life on 2026-04-30 and is
# measurably slower for this app: bench/README.md "The runtime"). `npm start`, `npm run dev`,
# `npm test`, `npm run bench` and the admin commands go through scripts/node.sh, which uses this:
#   - the `node` on PATH when it is 24 or newer (the Docker image: node:24-bookworm-slim);
#   - otherwise the official Node.js build of NODE_VERSION, fetched once from the npm registry (the
#     package node-<platform>-<arch>, the same binaries nodejs.org publishes; `npm pack` checks the
#     registry's sha512 integrity) into .bin/node-v<version>/ (git-ignored).
# Progress goes to stderr; stdout is only the directory.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION="${NODE_VERSION:-24.22.3}"
MIN_MAJOR=24

if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -ge "$MIN_MAJOR" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

dest=".bin/node-v${NODE_VERSION}"
if [ ! -x "$dest/bin/node" ]; then
  command -v npm >/dev/null 2>&1 || { echo "ensure-node: needs npm (any Node.js) to fetch Node.js ${NODE_VERSION}" >&2; exit 1; }
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "ensure-node: no Node.js ${NODE_VERSION} package for $(uname -s); install Node.js ${MIN_MAJOR}+ yourself" >&2; exit 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "ensure-node: no Node.js ${NODE_VERSION} package for $(uname -m); install Node.js ${MIN_MAJOR}+ yourself" >&2; exit 1 ;;
  esac
  pkg="node-${os}-${arch}@${NODE_VERSION}"
  echo "ensure-node: the system's node is $(node -v 2>/dev/null || echo missing); fetching Node.js ${NODE_VERSION} ($pkg) into $dest" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/node-"${os}-${arch}"-*.tgz -C "$tmp"
  [ -x "$tmp/package/bin/node" ] || { echo "ensure-node: $pkg has no bin/node" >&2; exit 1; }
  got="$("$tmp/package/bin/node" -v)"
  [ "$got" = "v${NODE_VERSION}" ] || { echo "ensure-node: $pkg runs as $got, expected v${NODE_VERSION}" >&2; exit 1; }
  mkdir -p .bin
  rm -rf "$dest"
  mv "$tmp/package" "$dest"
fi
echo "$(pwd)/$dest/bin"
