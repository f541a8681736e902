#!/usr/bin/env bash
# Bench smoke: runs every dockchat-bench scenario once with tiny sizes and a few seconds each against
# the real MariaDB (and pairs, drawer and group against PostgreSQL too), and checks that each prints its
# JSON line with no failed connections or protocol errors, every acked message stored in Moodle's
# `messages` with its sent row, and every drawer and group message delivered exactly once (a group's to
# every other member and the sender's own copy); every conversations page as seeded, and no people
# search result someone the viewer may not message (nor an answer other than the model's, nor a
# `rate_limited` one). Benchmarks are not tests: nothing
# here looks at timings.
#
# Usage: bash tests/bench/smoke.sh            (builds the debug binaries)
#        BENCH_PROFILE=release bash tests/bench/smoke.sh
set -u
cd "$(dirname "$0")/../.."

profile="${BENCH_PROFILE:-debug}"
if [ "$profile" = release ]; then
    cargo build --release --workspace --bins >&2 || { echo "bench smoke: build failed"; exit 1; }
else
    cargo build --workspace --bins >&2 || { echo "bench smoke: build failed"; exit 1; }
fi
bench="target/$profile/dockchat-bench"
out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

passed=0
failed=0

# check NAME SCENARIO [ARGS...]: runs the scenario (bounded by timeout) and validates its JSON line.
check() {
    local name="$1"
    shift
    local scenario="$1"
    local log="$out_dir/$name.log"
    if timeout 240 "$bench" "$@" --smoke --db-name dockchat_bench_smoke >"$log" 2>&1; then
        local line
        line="$(grep "^{\"scenario\":\"$scenario\"" "$log" | tail -n 1)"
        if [ -n "$line" ] && python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
bad = [k for k, v in r.items()
       if (k.endswith("failed") or k.endswith("errors") or k.endswith("closed_by_server")
           or k.endswith("incomplete_joins") or k.endswith("incomplete_leaves") or k.endswith("incomplete_aways")
           or k.endswith(("acked_not_stored", "messages_without_sent_row", "duplicates", "missing",
                          "misrouted", "unknown_received", "violations", "mismatches", "rate_limited")))
       and isinstance(v, (int, float)) and v != 0]
counts = [k for k in r if k.endswith(("delivered_per_s", "typing_processed_per_s", "held", "welcomed",
                                        "join_fanout_samples", "away_fanout_samples",
                                        "page_first_samples", "search_samples", "_rows_per_s"))]
zero = [k for k in counts if not r[k]]
if bad or zero:
    print("  nonzero failure counters:", bad, " empty results:", zero)
    sys.exit(1)
PY
        then
            echo "ok   $name"
            passed=$((passed + 1))
            return
        fi
    fi
    echo "FAIL $name (output follows)"
    sed 's/^/    /' "$log" | tail -n 40
    failed=$((failed + 1))
}

check idle idle --db mariadb --per-worker 25
check idle-cluster idle --db mariadb --per-worker 25 --nodes 3
check idle-failover idle --db mariadb --per-worker 25 --nodes 3 --failover
check pairs pairs --db mariadb
check pairs-rate pairs --db mariadb --rate 200
check typing typing --db mariadb
check storm storm --db mariadb
check course course --db mariadb
check pairs-postgres pairs --db postgres --target dockchatd
check pairs-cluster pairs --db mariadb --target dockchatd --nodes 2
check drawer drawer --db mariadb
check drawer-postgres drawer --db postgres
check group group --db mariadb
check group-postgres group --db postgres
check group-cluster group --db mariadb --nodes 2
check roster roster --db mariadb
check roster-postgres roster --db postgres
check convlist convlist --db mariadb
check convlist-postgres convlist --db postgres
check search search --db mariadb
check search-postgres search --db postgres
check ceiling ceiling --db mariadb
check ceiling-postgres ceiling --db postgres

echo "bench smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
