#!/usr/bin/env bash
# ensure_chromium: Debian's Chromium for the console's browser test (Playwright drives it through
# playwright-core; no browser download, which this network would refuse anyway). Installs the
# `chromium` package with apt-get when missing and running as root; otherwise fails, saying what to
# install. Idempotent: an installed browser is used as it is. CHROMIUM_PATH overrides the binary.
# Prints nothing on success beyond one line naming the browser.

ensure_chromium() {
  local root="${1:-$(pwd)}"
  local bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
  if [[ ! -x $bin ]]; then
    if [[ -n ${CHROMIUM_PATH:-} ]]; then
      echo "chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
      return 1
    fi
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
      echo "chromium: $bin not found. Install it (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH; the console's browser test needs it." >&2
      return 1
    fi
    local log="$root/.data/logs/chromium-install.log"
    mkdir -p "$(dirname "$log")"
    echo "chromium: installing Debian's chromium with apt-get (one-time; log: $log)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } >"$log" 2>&1; then
      echo "chromium: apt-get install chromium failed; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    [[ -x $bin ]] || { echo "chromium: installed, but $bin is still missing" >&2; return 1; }
  fi
  # The Debian wrapper script prints a harmless shell warning on some machines: keep only the version.
  echo "chromium: $("$bin" --version 2>/dev/null | tail -n 1)"
}
