"""Confidence intervals and paired tests for accuracies over items."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


def bootstrap_ci(scores: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = 0.95):
    """Percentile bootstrap interval of the mean of per-item scores; (None, None) without items."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return None, None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_bootstrap(a: Sequence[float], b: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> dict:
    """Mean difference b − a over paired items, its 95% interval, and a two-sided bootstrap p-value
    (twice the share of resampled differences on the other side of zero)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError("paired samples must have the same length")
    if x.size == 0:
        return {"delta": None, "ci95": [None, None], "p_value": None}
    diff = y - x
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(resamples, diff.size))].mean(axis=1)
    delta = float(diff.mean())
    if delta == 0 and not diff.any():
        p = 1.0
    else:
        other_side = (means <= 0).mean() if delta > 0 else (means >= 0).mean()
        p = float(min(1.0, 2 * other_side))
    return {"delta": delta, "ci95": [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))], "p_value": p}


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> dict:
    """Exact (binomial) McNemar test on paired binary outcomes: b01 = only B right, b10 = only A right."""
    if len(a_correct) != len(b_correct):
        raise ValueError("paired samples must have the same length")
    only_b = sum(1 for x, y in zip(a_correct, b_correct) if y and not x)
    only_a = sum(1 for x, y in zip(a_correct, b_correct) if x and not y)
    n = only_a + only_b
    if n == 0:
        return {"only_a": 0, "only_b": 0, "p_value": 1.0}
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return {"only_a": only_a, "only_b": only_b, "p_value": float(min(1.0, 2 * tail))}
