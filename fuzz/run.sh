#!/usr/bin/env bash
# Fuzzes the request-to-response path: copies the committed seeds into the
# working corpus and runs libFuzzer (stable toolchain, no sanitizer).
#
#   fuzz/run.sh [SECONDS] [extra libFuzzer flags...]     (default 600 s)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in
# fuzz/artifacts/http_request/; see fuzz/README.md to replay one.
set -euo pipefail
cd "$(dirname "$0")"

target=http_request
secs=${1:-${SECS:-600}}
shift || true

mkdir -p "corpus/$target"
cp seeds/"$target"/* "corpus/$target/"

exec cargo fuzz run -s none "$target" "corpus/$target" -- \
    -max_total_time="$secs" \
    -dict=http_request.dict \
    -timeout=60 \
    -print_final_stats=1 \
    "$@"
