"""Statistics shared by evaluation, games and the report: one leaf module (numpy only).

- accuracies over items: percentile bootstrap intervals (plain, stratified, any statistic), paired bootstrap
  and exact McNemar tests;
- game metrics: Wilson score intervals for rates, bootstrap intervals for means and for averages of
  per-game rates, Bradley–Terry ratings with bootstrap intervals, each an `Interval(estimate, low, high)`
  (an empty sample gives NaNs); `derive_seed` gives both game suites their stable per-match and per-call seeds.

Every bootstrap here draws its resamples with `resample_indices`."""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
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


# ------------------------------------------------------------------ game metrics

CONFIDENCE = 0.95


def derive_seed(*parts) -> int:
    """A stable 31-bit seed from any printable parts, joined with `|` (independent of Python's hash
    randomisation). Both suites derive their per-match and per-call seeds with it."""
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe: NaN becomes None."""
        return {k: (None if math.isnan(v) else v) for k, v in asdict(self).items()}

    def format(self, percent: bool = True, digits: int = 1) -> str:
        """`62.5 [40.1, 80.2]` (percent) or `0.625 [0.401, 0.802]`; `n/a` when empty."""
        if math.isnan(self.estimate):
            return "n/a"
        scale, digits = (100.0, digits) if percent else (1.0, digits + 2)
        return f"{self.estimate * scale:.{digits}f} [{self.low * scale:.{digits}f}, {self.high * scale:.{digits}f}]"


_NAN = Interval(math.nan, math.nan, math.nan)


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval for a binomial rate `successes / n` (sound at 0/n and n/n)."""
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return _NAN
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def bootstrap_interval(
    values: Sequence,
    statistic: Callable[[Sequence], float] = _mean,
    confidence: float = CONFIDENCE,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of `statistic` (default: the mean) over `values`
    (`bootstrap_statistic`, the one bootstrap)."""
    values = list(values)
    if not values:
        return _NAN
    low, high = bootstrap_statistic(values, statistic, seed=seed, resamples=resamples, level=confidence)
    return Interval(statistic(values), low, high)


def stratified_bootstrap_interval(
    groups: Sequence[Sequence[float]],
    confidence: float = CONFIDENCE,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Interval for the unweighted average of per-group means (e.g. the mean NE rate over games):
    each resample draws every group's observations with replacement inside that group.
    Empty groups are ignored."""
    groups = [[float(v) for v in g] for g in groups if len(g)]
    if not groups:
        return _NAN
    low, high = stratified_bootstrap_ci(groups, seed=seed, resamples=resamples, level=confidence)
    return Interval(_mean([_mean(g) for g in groups]), low, high)


# ------------------------------------------------------------------ Bradley–Terry ratings

BT_SCALE = 400.0 / math.log(10)  # Elo points per unit of log-strength
BT_CENTRE = 1500.0


def bradley_terry(results: Sequence[tuple[str, str, float]], iterations: int = 10_000, tol: float = 1e-10) -> dict[str, float]:
    """Maximum-likelihood Bradley–Terry ratings on the Elo scale (mean 1500) from `(a, b, score of a)`
    results, score 1 win, 0.5 draw, 0 loss (a draw counts as half a win each way).

    Fitted with Hunter's MM iterations. Every pair that met gets one extra virtual draw, a weak prior
    that keeps ratings finite when an agent won or lost every match. The fit depends only on the
    totals per pair, so it does not depend on the order of `results`.
    """
    games: dict[tuple[str, str], float] = {}
    wins: dict[str, float] = {}
    for a, b, score in results:
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"a match score must be in [0, 1], got {score}")
        if a == b:
            raise ValueError(f"{a!r} cannot play itself")
        pair = (a, b) if a < b else (b, a)
        games[pair] = games.get(pair, 0.0) + 1.0
        wins[a] = wins.get(a, 0.0) + score
        wins[b] = wins.get(b, 0.0) + 1.0 - score
    for a, b in games:  # the virtual draw
        games[(a, b)] += 1.0
        wins[a] += 0.5
        wins[b] += 0.5
    names = sorted(wins)
    strength = {n: 1.0 for n in names}
    for _ in range(iterations):
        denom = {n: 0.0 for n in names}
        for (a, b), n_ab in games.items():
            share = n_ab / (strength[a] + strength[b])
            denom[a] += share
            denom[b] += share
        new = {n: wins[n] / denom[n] for n in names}
        centre = math.exp(sum(math.log(v) for v in new.values()) / len(new))
        new = {n: v / centre for n, v in new.items()}
        done = max(abs(math.log(new[n] / strength[n])) for n in names) < tol
        strength = new
        if done:
            break
    return {n: BT_CENTRE + BT_SCALE * math.log(strength[n]) for n in names}


def bradley_terry_intervals(
    results: Sequence[tuple[str, str, float]],
    confidence: float = CONFIDENCE,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Interval]:
    """Bradley–Terry ratings with percentile-bootstrap intervals (matches resampled with replacement).
    Results are put in a canonical order first, so the intervals do not depend on the input order either."""
    results = sorted((a, b, float(s)) for a, b, s in results)
    if not results:
        return {}
    _z(confidence)
    point = bradley_terry(results)
    fits = bootstrap_samples(results, bradley_terry, seed=seed, resamples=resamples)
    draws = {n: [fit.get(n, math.nan) for fit in fits] for n in point}
    out = {}
    for n, values in draws.items():
        values = [v for v in values if not math.isnan(v)]
        low, high = percentile_interval(values, confidence)
        out[n] = Interval(point[n], low, high)
    return out
