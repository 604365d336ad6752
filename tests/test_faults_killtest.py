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

pytestmark = pytest.mark.faults


def test_sigkill_at_random_points_loses_nothing_and_doubles_nothing(tmp_path):
    result = experiment(kills=6, alerts=60, seed=7, feeds=4, work=tmp_path)
    assert result.alerts == 60 and result.deliveries == 60
    assert (result.lost, result.duplicates, result.integrity) == (0, 0, "ok"), result
    assert result.inflight_repeats <= result.kills
    assert result.final_stop_s < 15  # SIGTERM: exit 0 within the grace period
