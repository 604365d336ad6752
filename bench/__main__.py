"""``python -m bench [MEASURE ...] [--quick] [--runs N]``: the benchmark suite.

Measures (all by default, in this order): rules, fetch, per-item, poll, latency, memory.
Each one is a module of this package; this prints their figures as one Markdown
table with the machine they ran on. Everything talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from bench import fetch_cpu, latency, memory, per_item, poll_cycle, rules_speed
from bench.load import corpus_available
from bench.report import Figure, machine, table

MEASURES: dict[str, Callable[..., list[Figure]]] = {
    "rules": rules_speed.run, "fetch": fetch_cpu.run, "per-item": per_item.run, "poll": poll_cycle.run,
    "latency": latency.run, "memory": memory.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("measures", nargs="*", choices=[[], *MEASURES], metavar="MEASURE",
                        help=f"any of {', '.join(MEASURES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run of a few minutes")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure, median reported (default 5)")
    parser.add_argument("--sizes", type=int, nargs="+", help="per-item: stored articles (default 1k 100k 1M)")
    parser.add_argument("--cold-feeds", type=int, default=50,
                        help="poll: feeds in the cold cycle (default 50, a stand-in; 1000 for the full figure)")
    parser.add_argument("--cold-mix", nargs="+", choices=["news", "dense"], default=["news", "dense"],
                        help="poll: cold-cycle text, general news and/or conflict-dense (default both)")
    args = parser.parse_args(argv)
    chosen = args.measures or list(MEASURES)
    print(f"machine: {machine()}; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    if not corpus_available():
        print("note: ../shared/corpus not found: synthetic text, figures not comparable", flush=True)
    figures: list[Figure] = []
    for name in chosen:
        started = time.perf_counter()
        kwargs: dict[str, object] = {"runs": args.runs, "quick": args.quick}
        if name == "per-item" and args.sizes:
            kwargs["sizes"] = args.sizes
        if name == "poll":
            kwargs["cold_mixes"] = tuple(args.cold_mix)
            if not args.quick:
                kwargs["cold_feeds"] = args.cold_feeds
        found = MEASURES[name](**kwargs)
        figures += found
        print(f"[{name}: {time.perf_counter() - started:.0f} s]\n{table(found)}\n", file=sys.stderr, flush=True)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}\n")
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
