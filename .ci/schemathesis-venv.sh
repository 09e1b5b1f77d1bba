#!/usr/bin/env bash
# Installs the pinned Schemathesis into a venv under target/ unless it is
# there already, and prints the venv's path (progress goes to stderr).
# Used by .ci/schemathesis.sh and .ci/run; `$(bash .ci/schemathesis-venv.sh)/bin/st`
# is the `st` the docs' commands mean.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV="${CARGO_TARGET_DIR:-target}/schemathesis-venv"

if [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
cd "$VENV" && pwd
