"""Confidence intervals and paired tests for accuracies over items."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """`resamples` × `n` indices drawn with replacement: the one resampling every bootstrap here uses
    (the same draws as `scipy.stats.bootstrap` with `rng=np.random.default_rng(seed)`)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def percentile_interval(stats: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """The percentile-method interval of bootstrap statistics (linear interpolation, as numpy and scipy)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    alpha = (1 - level) / 2
    low, high = np.quantile(np.asarray(stats, dtype=float), [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_ci(scores: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = 0.95):
    """Percentile bootstrap interval of the mean of per-item scores; (None, None) without items."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return None, None
    return percentile_interval(values[resample_indices(values.size, resamples, seed)].mean(axis=1), level)


def bootstrap_samples(items: Sequence, statistic: Callable[[list], Any], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> list:
    """`statistic` of each of `resamples` resamples of `items` (for a statistic with several outputs,
    such as ratings of every player; take `percentile_interval` of each)."""
    items = list(items)
    return [statistic([items[i] for i in row]) for row in resample_indices(len(items), resamples, seed)]


def bootstrap_statistic(
    items: Sequence, statistic: Callable[[list], float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of any `statistic` of a list of items (resampled with replacement)."""
    return percentile_interval(bootstrap_samples(items, statistic, seed, resamples), level)


def stratified_bootstrap_ci(
    groups: Sequence[Sequence[float]], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = 0.95
) -> tuple[float, float]:
    """Interval of the unweighted mean of group means, each group resampled within itself."""
    means = np.mean(
        [np.asarray(g, dtype=float)[resample_indices(len(g), resamples, seed + k)].mean(axis=1) for k, g in enumerate(groups)],
        axis=0,
    )
    return percentile_interval(means, level)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> dict:
    """Mean difference b − a over paired items, its 95% interval, and a two-sided bootstrap p-value
    (twice the share of resampled differences on the other side of zero)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError("paired samples must have the same length")
    if x.size == 0:
        return {"delta": None, "ci95": [None, None], "p_value": None}
    diff = y - x
    means = diff[resample_indices(diff.size, resamples, seed)].mean(axis=1)
    delta = float(diff.mean())
    if delta == 0 and not diff.any():
        p = 1.0
    else:
        other_side = (means <= 0).mean() if delta > 0 else (means >= 0).mean()
        p = float(min(1.0, 2 * other_side))
    return {"delta": delta, "ci95": list(percentile_interval(means)), "p_value": p}


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
