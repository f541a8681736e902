#!/usr/bin/env bash
# The test command of the README: every suite of dockchat, against the real MariaDB and PostgreSQL.
# Runs each suite even when an earlier one fails, then prints one summary line and exits non-zero
# if any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh || { echo "setup failed"; exit 1; }

passed=0
failed=0
failures=()
suite() {
  local name=$1
  shift
  printf '\n===== %s =====\n' "$name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    printf '===== %s: ok (%ss) =====\n' "$name" $((SECONDS - start))
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '===== %s: FAILED (%ss) =====\n' "$name" $((SECONDS - start))
  fi
}

export CARGO_TERM_COLOR=never
suite "rust: unit + integration tests (MariaDB and PostgreSQL)" cargo test --workspace --all-targets --no-fail-fast
suite "block: php -l, structure, strings, XMLDB" bash tests/block/check.sh
suite "deploy: units, install.sh, block zip" bash tests/deploy/run.sh
suite "client: JS unit tests" npm run --silent test:unit
suite "browser: end-to-end in headless Chromium" npm run --silent test:e2e
suite "bench: smoke of every scenario" bash tests/bench/smoke.sh

printf '\n'
if [ "$failed" -gt 0 ]; then
  printf 'failed suites: %s\n' "${failures[*]}"
fi
printf 'suites: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
