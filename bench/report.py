"""The figures table, the machine note, and the median-of-N helper shared by every measure.

Each measure returns ``Figure`` rows; ``__main__`` prints them as one Markdown table so
the output can be pasted into docs/PERFORMANCE.md as is.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Figure:
    """One row: what was measured, its median value, the target, and the naive way."""

    name: str
    value: float
    unit: str
    target: str = "—"          # as written in the issue, e.g. ">= 20,000"
    met: bool | None = None    # None: no target for this row
    naive: str = "—"           # what the naive way was, measured in the same run
    ratio: float | None = None  # value relative to the naive way (higher is better)
    note: str = ""


def median_runs(runs: int, measure: Callable[[], float]) -> float:
    """Median of ``runs`` calls: one slow run (a GC pause, the other core busy) does not count."""
    return statistics.median(measure() for _ in range(max(1, runs)))


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    cores = os.cpu_count() or 0
    return (f"{cores} cores, {cpu_model()}, Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def _fmt(value: float) -> str:
    if value != value:  # NaN: not measured
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(figures: list[Figure]) -> str:
    lines = ["| figure | value | unit | target | met | naive way (same run) | ratio to naive |",
             "|---|---:|---|---|---|---|---:|"]
    for f in figures:
        met = "—" if f.met is None else ("yes" if f.met else "**no**")
        ratio = "—" if f.ratio is None else f"{f.ratio:,.1f}x"
        name = f"{f.name} ({f.note})" if f.note else f.name
        lines.append(f"| {name} | {_fmt(f.value)} | {f.unit} | {f.target} | {met} | {f.naive} | {ratio} |")
    return "\n".join(lines)
