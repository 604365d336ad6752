"""Fault suite, crash safety: the kill -9 experiment (bench/killtest.py) in small.

The full run (100 kills over 1,000 alerts, 3 seeds) is ``python -m bench.killtest``;
its figures are in docs/RELIABILITY.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ is a folder, not an installed package

from bench.killtest import experiment  # noqa: E402
from conftest import PG_URL, postgres_missing  # noqa: E402

pytestmark = [pytest.mark.faults, pytest.mark.backends("sqlite", "postgresql")]


def test_sigkill_at_random_points_loses_nothing_and_doubles_nothing(tmp_path, backend):
    if backend == "postgresql" and postgres_missing():
        pytest.skip(f"no PostgreSQL at {PG_URL.split('@')[-1]} ({postgres_missing()})")
    result = experiment(kills=6, alerts=60, seed=7, feeds=4, work=tmp_path,
                        postgres=PG_URL if backend == "postgresql" else None)
    assert result.alerts == 60 and result.deliveries == 60
    assert (result.lost, result.duplicates) == (0, 0), result
    assert result.integrity == ("ok" if backend == "sqlite" else "n/a (PostgreSQL)")
    assert result.inflight_repeats <= result.kills
    assert result.final_stop_s < 15  # SIGTERM: exit 0 within the grace period
