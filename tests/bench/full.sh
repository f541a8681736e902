#!/usr/bin/env bash
# Full benchmark: every scenario at full size, RUNS times (default 3), against DB (default mariadb);
# appends each run's JSON line to OUT (default bench-results.jsonl) and prints the median of every
# numeric figure per scenario variant (tests/bench/medians.py). Takes about 8 minutes per database on 2 cores.
#
# Usage: bash tests/bench/full.sh            RUNS=5 DB=postgres OUT=pg.jsonl bash tests/bench/full.sh
# Not a test: it asserts nothing; a scenario that fails is reported and the others still run.
set -u
cd "$(dirname "$0")/../.."
runs="${RUNS:-3}"
db="${DB:-mariadb}"
out="${OUT:-bench-results.jsonl}"
cargo build --release --workspace --bins >&2 || exit 1
bench=target/release/dockchat-bench

variants=(
    "pairs"
    "pairs --rate 5000"
    "typing"
    "storm"
    "course"
    "idle --target both"
    "drawer"
    "roster"
)
for i in $(seq 1 "$runs"); do
    for v in "${variants[@]}"; do
        echo "== run $i/$runs: $v (--db $db)" >&2
        # shellcheck disable=SC2086
        line="$(timeout 900 $bench $v --db "$db" 2>>"$out.log" | grep '^{"scenario"' | tail -n 1)"
        if [ -n "$line" ]; then
            printf '%s\n' "$line" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r["variant"]=sys.argv[1]; print(json.dumps(r))' "$v" >>"$out"
        else
            echo "   failed: $v (see $out.log)" >&2
        fi
    done
done
python3 tests/bench/medians.py "$out"
