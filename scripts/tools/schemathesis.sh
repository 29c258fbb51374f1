#!/usr/bin/env bash
# Installs Schemathesis (pinned, from PyPI) into .data/venv when missing; prints the binary's path.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION=4.32.5
VENV="$ROOT/.data/venv"
BIN="$VENV/bin/schemathesis"
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "$VERSION"; then
  echo "$BIN"
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 is required for Schemathesis (apt-get install python3 python3-venv)" >&2; exit 1; }
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
echo "$BIN"
