"""Problems per second of `recon data generate`, per category (generation + solver re-check).

Usage: python bench/generate_throughput.py [--n 200] [--seed 0] [--difficulty 0] [--no-verify] [--json]"""

from __future__ import annotations

import argparse
import json
import time

from recon.data.generate import generatable_categories, generate_category


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="problems per category")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--difficulty", type=int, default=0, help="0 mixes 1..3")
    parser.add_argument("--no-verify", action="store_true", help="skip the audit re-derivation of each item")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    rows = {}
    for category in generatable_categories():
        start = time.perf_counter()
        problems = generate_category(category, args.n, args.seed, args.difficulty, verify=not args.no_verify)
        seconds = time.perf_counter() - start
        rows[category] = {"n": len(problems), "seconds": round(seconds, 3), "per_second": round(len(problems) / seconds, 1)}
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"| category | problems | seconds | problems/s |  (n={args.n}, difficulty={args.difficulty}, verify={not args.no_verify})")
    print("|---|---:|---:|---:|")
    for category, row in rows.items():
        print(f"| {category} | {row['n']} | {row['seconds']} | {row['per_second']} |")


if __name__ == "__main__":
    main()
