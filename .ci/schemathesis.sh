#!/usr/bin/env bash
# Checks the reference server's strict description against a running
# reference server with Schemathesis: installs a pinned Schemathesis in a
# venv under target/ (.ci/schemathesis-venv.sh), applies
# fixtures/openapi-reference.overlay.yaml to the vendor contract
# fixtures/openapi.yaml (.ci/apply-overlay.py), builds and starts the
# `server` binary on a free loopback port with fixtures/server.toml and a
# temporary database, mints a token for alice, runs `st run` with
# fixtures/schemathesis.toml, then the vendor's command
# (fixtures/schemathesis-vendor.toml on fixtures/openapi.yaml: the reference
# server is one conformant implementation), and stops the server.
# Exit code: 0 when both passed, else Schemathesis's.
#
#   bash .ci/schemathesis.sh            # debug build (what CI uses)
#   PROFILE=release bash .ci/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-debug}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
VENV=$(bash .ci/schemathesis-venv.sh)

if [ "$PROFILE" = release ]; then
  cargo build --locked --release -p server
else
  cargo build --locked -p server
fi
SERVER="$TARGET_DIR/$PROFILE/server"

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free loopback port: bind port 0, read it, release it.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
"$SERVER" serve --addr "127.0.0.1:$PORT" --db "$WORK/server.sqlite3" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('$BASE/oauth2/jwks', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server did not start:" >&2
    cat "$WORK/server.log" >&2
    exit 2
  fi
  sleep 0.1
done

# The strict description: the vendor contract with the reference's decisions.
"$VENV/bin/python" .ci/apply-overlay.py fixtures/openapi.yaml \
  fixtures/openapi-reference.overlay.yaml >"$WORK/openapi-reference.yaml"

# An hour-long token for alice; never printed (Schemathesis filters it too).
TOKEN=$("$SERVER" mint-token --sub alice --ttl 3600)
status=0
# The strict description, then the vendor's command: the reference server is
# one conformant implementation, so the contract must pass too.
for run in "fixtures/schemathesis.toml $WORK/openapi-reference.yaml" \
           "fixtures/schemathesis-vendor.toml fixtures/openapi.yaml"; do
  set -- $run
  echo "== st --config-file $1 run $(basename "$2") against $BASE"
  started=$(date +%s)
  this=0
  "$VENV/bin/st" --config-file "$1" run "$2" \
    --url "$BASE" -H "Authorization: Bearer $TOKEN" || this=$?
  echo "== schemathesis: exit $this in $(( $(date +%s) - started )) s"
  if [ "$this" -ne 0 ]; then
    status=$this
  fi
done
if [ "$status" -ne 0 ]; then
  echo "-- server log (tail)" >&2
  tail -n 20 "$WORK/server.log" >&2
fi
exit "$status"
