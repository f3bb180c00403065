"""Intervals shared by the games suites (`recon.stats`)."""

from __future__ import annotations

import math
from dataclasses import astuple

import pytest

from recon.stats import Interval, bootstrap_interval, stratified_bootstrap_interval, wilson_interval


def test_wilson_known_values():
    assert astuple(wilson_interval(0, 10)) == pytest.approx((0.0, 0.0, 0.27753), abs=1e-5)
    assert astuple(wilson_interval(5, 10)) == pytest.approx((0.5, 0.23659, 0.76341), abs=1e-5)
    assert wilson_interval(20, 20).high == 1.0 and 0.83 < wilson_interval(20, 20).low < 0.84
    assert wilson_interval(7, 20, confidence=0.99).low < wilson_interval(7, 20).low


def test_wilson_rejects_bad_counts_and_is_nan_when_empty():
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, confidence=1.5)
    empty = wilson_interval(0, 0)
    assert math.isnan(empty.estimate) and empty.to_dict() == {"estimate": None, "low": None, "high": None}
    assert empty.format() == "n/a"


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1]
    a, b = bootstrap_interval(values, seed=3), bootstrap_interval(values, seed=3)
    assert a == b and a.estimate == pytest.approx(0.7) and a.low < 0.7 < a.high
    assert bootstrap_interval([2.0] * 5) == Interval(2.0, 2.0, 2.0)
    assert math.isnan(bootstrap_interval([]).estimate)


def test_stratified_bootstrap_averages_group_means():
    groups = [[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 1, 0], []]
    interval = stratified_bootstrap_interval(groups)
    assert interval.estimate == pytest.approx(0.5)  # (1 + 0 + 0.5) / 3; the empty group is ignored
    assert 0.3 <= interval.low < 0.5 < interval.high <= 0.7
    assert interval.format() == f"50.0 [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"
