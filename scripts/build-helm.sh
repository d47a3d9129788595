#!/usr/bin/env bash
# Builds Helm (the Kubernetes package manager; the chart in deploy/helm/ and its test use it) from the
# Go module proxy into .bin/helm (git-ignored) and reuses it when it is already there. See README
# "Scaling" → "Kubernetes (Helm)".
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_VERSION=v3.22.0
# The Kubernetes version Helm assumes offline (`helm template`, `helm lint`'s deprecation checks):
# Helm's own release build derives it from its k8s.io/client-go (v0.37.x → 1.37); plain `go install`
# would leave it at 1.20.
HELM_K8S_MAJOR=1
HELM_K8S_MINOR=37
out=.bin/helm
# A plain `go install` leaves Helm's version at "v3.22"; the -X below makes `helm version --short`
# print "v3.22.0+gmodule-proxy", which is what is checked here.
if [ -x "$out" ] && "$out" version --short 2>/dev/null | grep -q "^$HELM_VERSION+"; then
  exit 0
fi
# Go 1.26 or newer: the one on PATH, else fetched from the Go module proxy (scripts/ensure-go.sh).
PATH="$(bash scripts/ensure-go.sh):$PATH"
echo "build-helm: building Helm $HELM_VERSION (first build takes a few minutes)..." >&2
mkdir -p .bin
# go install writes <GOBIN>/helm: build into a scratch folder, then move it into place at once.
tmp="$(mktemp -d .bin/helm-build.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
v=helm.sh/helm/v3/internal/version
GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod" GOBIN="$PWD/$tmp" CGO_ENABLED=0 go install -trimpath \
  -ldflags="-s -w -X $v.version=$HELM_VERSION -X $v.metadata=gmodule-proxy -X $v.gitTreeState=clean \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_K8S_MAJOR -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_K8S_MAJOR -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
mv "$tmp/helm" "$out"
echo "build-helm: built $out ($("$out" version --short))" >&2
