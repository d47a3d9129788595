#!/usr/bin/env bash
# Makes sure Debian's Chromium (what the browser tests drive through playwright-core; Playwright's
# own browser download is never used: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1) is installed at
# $CHROMIUM_PATH (default /usr/bin/chromium). Installs `chromium` and `fonts-dejavu-core` with
# apt-get when it is missing. See README "Tests".
#   --check   only check; exit 1 with a message saying how to install it
set -euo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
if [ "${1:-}" = "--check" ]; then
  echo "ensure-chromium: $chromium is missing; the browser tests need Debian's Chromium." >&2
  echo "  Install it with: sudo bash scripts/ensure-chromium.sh  (apt-get install chromium fonts-dejavu-core)" >&2
  echo "  or set CHROMIUM_PATH to a Chromium or Chrome binary." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: $chromium is missing and installing it needs root." >&2
  echo "  Run: sudo bash scripts/ensure-chromium.sh  (or: sudo apt-get install -y chromium fonts-dejavu-core)" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "ensure-chromium: $chromium is missing and there is no apt-get here; install Chromium and set CHROMIUM_PATH" >&2; exit 1; }
echo "ensure-chromium: installing Debian's chromium and fonts-dejavu-core with apt-get..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
[ -x "$chromium" ] || { echo "ensure-chromium: apt-get finished but $chromium is still missing (set CHROMIUM_PATH?)" >&2; exit 1; }
echo "ensure-chromium: $("$chromium" --version 2>/dev/null || echo "$chromium") installed" >&2
