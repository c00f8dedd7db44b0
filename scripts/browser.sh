#!/usr/bin/env bash
# scripts/browser.sh: make sure Debian's chromium is installed for the browser test of the
# /demo page (test/demo), which drives it with playwright-core. Playwright never downloads a
# browser here: the test launches this one. Safe to run any number of times; when chromium is
# already there it only prints one line.
#
#   1. CHROMIUM_PATH is set and executable, or `chromium` is on the PATH -> use it;
#   2. missing, and root -> apt-get install chromium (Debian's package);
#   3. missing, not root -> print what to install and exit 1.
#
# Output: the browser's path and version on stdout; exit 0 only when it runs.
set -euo pipefail

find_browser() {
  if [[ -n ${CHROMIUM_PATH:-} && -x ${CHROMIUM_PATH} ]]; then
    printf '%s' "$CHROMIUM_PATH"
  else
    command -v chromium 2>/dev/null || true
  fi
}

browser=$(find_browser)
if [[ -z $browser ]]; then
  if [[ $(id -u) != 0 ]]; then
    echo 'browser: chromium is missing; install it with: sudo apt-get install -y chromium' >&2
    exit 1
  fi
  echo 'browser: installing chromium (apt-get)...' >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >&2
  browser=$(find_browser)
  [[ -n $browser ]] || { echo 'browser: apt-get installed chromium, but it is not on the PATH' >&2; exit 1; }
fi
# The Debian wrapper script prints a harmless shell warning on some machines; keep stderr quiet.
version=$("$browser" --version 2>/dev/null | head -n 1)
[[ -n $version ]] || { echo "browser: $browser does not run" >&2; exit 1; }
printf 'browser: %s (%s)\n' "$browser" "$version"
