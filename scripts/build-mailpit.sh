#!/usr/bin/env bash
# Builds Mailpit (the SMTP server with an HTTP API and a web inbox that catches the app's mail in
# development and tests) from the Go module proxy, web UI included, into .bin/mailpit (git-ignored)
# and reuses it when it is already there. See README "Tests".
#
# The module (github.com/axllent/mailpit@v1.33.1) ships the web UI's sources (server/ui-src,
# package.json, package-lock.json, esbuild.config.mjs) but not the built server/ui/dist that its
# `go:embed ui` picks up: a plain `go install` gives a Mailpit whose inbox page stays blank
# (/dist/app.js answers 404). So, as Mailpit's own Dockerfile does: a copy of the module's source in
# a scratch folder under .bin/, `npm ci` from Mailpit's package-lock.json, `npm run build` (esbuild
# writes server/ui/dist), then `go build` of that folder. A first build (empty Go and npm caches) took
# about two minutes on 2 cores, most of it Go compiling Mailpit's dependencies; with warm caches
# about half a minute, most of it npm.
set -euo pipefail
cd "$(dirname "$0")/.."
MAILPIT_VERSION=v1.33.1
MODULE=github.com/axllent/mailpit
# Mailpit's package-lock.json pins rapidoc (the web component of its API docs page /api/v1/, bundled
# from server/ui-src/docs.js) at 12.1.0, which the npm registry reached here answers 404 for (its
# newest there is 9.3.8). Where the locked version is not served, this one is installed instead; the
# docs page works with it (same <rapi-doc> element and attributes). Everything else is as locked.
RAPIDOC_FALLBACK=9.3.8
out=.bin/mailpit

# Reused when it is Mailpit $MAILPIT_VERSION and has the web UI: a plain `go install` leaves the
# version at "dev" (the -X below makes `mailpit version` print "<path> v1.33.1 compiled with go…"),
# and a binary built without the UI (as this script did before) has no embedded ui/dist/app.js.
if [ -x "$out" ] && "$out" version --no-release-check 2>&1 | grep -q " $MAILPIT_VERSION compiled with" \
  && grep -qaF "ui/dist/app.js" "$out"; then
  exit 0
fi
[ ! -e "$out" ] || echo "build-mailpit: $out is not Mailpit $MAILPIT_VERSION with its web UI: rebuilding it" >&2
start=$SECONDS
# Go 1.26 or newer (Mailpit's go.mod says 1.26.0): the one on PATH, else fetched from the Go module
# proxy (scripts/ensure-go.sh). Node.js 24 and its npm for the web UI (scripts/ensure-node.sh).
PATH="$(bash scripts/ensure-go.sh):$PATH"
PATH="$(bash scripts/ensure-node.sh):$PATH"
echo "build-mailpit: building Mailpit $MAILPIT_VERSION with its web UI (a first build takes about two minutes)..." >&2
mkdir -p .bin
tmp="$(mktemp -d .bin/mailpit-build.XXXXXX)"
cleanup() { chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# The module's source from the Go module cache (read-only there): copied, then made writable.
moddir="$(go mod download -json "$MODULE@$MAILPIT_VERSION" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const m = JSON.parse(s);
    if (m.Error || !m.Dir) { console.error(`build-mailpit: go mod download: ${m.Error ?? "no Dir"}`); process.exit(1); }
    process.stdout.write(m.Dir);
  });')"
src="$tmp/src"
cp -R "$moddir" "$src"
chmod -R u+w "$src"

(
  cd "$src"
  # The npm of an `npm run` that started this script would hand down its own project's folder.
  unset npm_config_local_prefix npm_config_prefix
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 # @playwright/test is one of Mailpit's devDependencies
  # --ignore-scripts: none of the packages needs its install script for the build. esbuild finds its
  #   binary in the optional package @esbuild/linux-x64 (or the one for this platform) by itself; its
  #   install.js only checks that binary and copies it over bin/esbuild to save a node start per call.
  #   @parcel/watcher (sass's file watching) is not used by a one-off build.
  # --omit=peer: sass-embedded (and its platform binary packages) is only a peer dependency of
  #   esbuild-sass-plugin, which compiles with the plain `sass` package unless told `embedded: true`
  #   (esbuild.config.mjs does not); the registry reached here has no sass-embedded 1.108.1 either.
  npm_flags=(--ignore-scripts --omit=peer --no-audit --no-fund)
  rapidoc="$(node -p 'require("./package-lock.json").packages["node_modules/rapidoc"]?.version ?? ""')"
  if [ -n "$rapidoc" ] && [ -z "$(npm view "rapidoc@$rapidoc" version 2>/dev/null)" ]; then
    echo "build-mailpit: the npm registry has no rapidoc $rapidoc (locked by Mailpit): rapidoc $RAPIDOC_FALLBACK instead" >&2
    node -e '
      const fs = require("node:fs");
      const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
      const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
      delete pkg.dependencies.rapidoc;
      delete lock.packages[""].dependencies.rapidoc;
      delete lock.packages["node_modules/rapidoc"];
      fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
      fs.writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");'
    npm ci "${npm_flags[@]}" >&2
    npm install --no-save "${npm_flags[@]}" "rapidoc@$RAPIDOC_FALLBACK" >&2
  else
    npm ci "${npm_flags[@]}" >&2
  fi
  npm run build >&2 # MINIFY=true node esbuild.config.mjs: server/ui/dist/{app,docs}.{js,css} and fonts
  [ -s server/ui/dist/app.js ] && [ -s server/ui/dist/app.css ] && [ -s server/ui/dist/docs.js ] \
    || { echo "build-mailpit: npm run build left no server/ui/dist/app.js, app.css or docs.js" >&2; exit 1; }
  # -buildvcs=false: the scratch folder lies inside this project's git checkout, whose commit is not
  # Mailpit's. -trimpath: no scratch-folder paths in the binary.
  go build -buildvcs=false -trimpath \
    -ldflags="-s -w -X $MODULE/config.Version=$MAILPIT_VERSION" -o ../mailpit .
)
grep -qaF "ui/dist/app.js" "$tmp/mailpit" || { echo "build-mailpit: the built binary has no embedded ui/dist/app.js" >&2; exit 1; }
# Into place at once: tests or a dev stack may be running the old binary right now.
mv -f "$tmp/mailpit" "$out"
echo "build-mailpit: built $out ($("$out" version --no-release-check 2>&1 | head -1 | sed 's/^[^ ]* //'), web UI included) in $((SECONDS - start)) s" >&2
