#!/usr/bin/env bash
# Builds Ory Hydra v2.3.0 from the Go module proxy into .bin/hydra (git-ignored)
# and reuses it when it is already there. See hydra/build/ and README "Hydra".
set -euo pipefail
cd "$(dirname "$0")/.."
HYDRA_VERSION=v2.3.0
out=.bin/hydra
# The version is read first, then matched: `hydra version | grep -q` under pipefail fails at random
# (grep exits at the first match and hydra gets SIGPIPE), which rebuilt Hydra for nothing.
have=""
[ -x "$out" ] && have=$("$out" version 2>&1 || true)
if [[ "$have" =~ Version:\ *$HYDRA_VERSION ]]; then
  exit 0
fi
# Go 1.26 or newer: the one on PATH, else fetched from the Go module proxy (scripts/ensure-go.sh).
PATH="$(bash scripts/ensure-go.sh):$PATH"
echo "build-hydra: building Ory Hydra $HYDRA_VERSION (first build takes a few minutes)..." >&2
mkdir -p .bin
cd hydra/build
# -checklinkname=0: Hydra v2.3.0's dependencies predate Go's linkname restrictions.
go build -trimpath \
  -ldflags="-checklinkname=0 -X github.com/ory/hydra/v2/driver/config.Version=$HYDRA_VERSION -X github.com/ory/hydra/v2/driver/config.Commit=module-proxy" \
  -o "../../$out.tmp" .
mv "../../$out.tmp" "../../$out"
echo "build-hydra: built $out ($("../../$out" version 2>&1 | head -1 | tr -s ' '))" >&2
