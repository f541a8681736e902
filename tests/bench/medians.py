#!/usr/bin/env python3
"""Medians of dockchat-bench JSON lines: groups lines by (variant or scenario, db) and prints, for every
numeric figure, the median and the individual runs. Usage: medians.py results.jsonl [--markdown]"""
import json
import statistics
import sys
from collections import OrderedDict


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    groups: "OrderedDict[tuple, list]" = OrderedDict()
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            key = (r.get("variant", r.get("scenario")), r.get("db"))
            groups.setdefault(key, []).append(r)
    md = "--markdown" in sys.argv
    for (variant, db), rows in groups.items():
        print(f"\n### {variant} ({db}, {len(rows)} runs)\n" if md else f"\n== {variant} ({db}): {len(rows)} runs")
        if md:
            print("| figure | median | runs |")
            print("|---|---|---|")
        keys = []
        for r in rows:
            for k, v in r.items():
                if k not in keys and isinstance(v, (int, float)) and not isinstance(v, bool):
                    keys.append(k)
        for k in keys:
            vals = [r[k] for r in rows if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
            med = statistics.median(vals)
            shown = ", ".join(f"{v:g}" for v in vals)
            if md:
                print(f"| {k} | {med:g} | {shown} |")
            else:
                print(f"  {k:<36} {med:>14g}   [{shown}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
