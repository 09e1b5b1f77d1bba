#!/usr/bin/env bash
# Checks fixtures/openapi.yaml against a running reference server with
# Schemathesis: installs a pinned Schemathesis in a venv under target/, builds
# and starts the `server` binary on a free loopback port with
# fixtures/server.toml and a temporary database, mints a token for alice,
# runs `st run` with fixtures/schemathesis.toml, and stops the server.
# Exit code: Schemathesis's (0 when every check passed).
#
#   bash .ci/schemathesis.sh            # debug build (what CI uses)
#   PROFILE=release bash .ci/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
PROFILE=${PROFILE:-debug}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
VENV="$TARGET_DIR/schemathesis-venv"

if [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

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

# An hour-long token for alice; never printed (Schemathesis filters it too).
TOKEN=$("$SERVER" mint-token --sub alice --ttl 3600)
echo "== st run fixtures/openapi.yaml against $BASE"
started=$(date +%s)
status=0
"$VENV/bin/st" --config-file fixtures/schemathesis.toml run fixtures/openapi.yaml \
  --url "$BASE" -H "Authorization: Bearer $TOKEN" || status=$?
echo "== schemathesis: exit $status in $(( $(date +%s) - started )) s"
if [ "$status" -ne 0 ]; then
  echo "-- server log (tail)" >&2
  tail -n 20 "$WORK/server.log" >&2
fi
exit "$status"
