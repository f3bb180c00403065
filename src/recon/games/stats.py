"""95% intervals for game metrics: Wilson score intervals for rates, percentile bootstrap for means
and for averages of per-game rates.

Shared by both game suites (self-play in `recon.games.selfplay`, the OpenSpiel arena in
`recon.games.arena`): use these rather than a private copy, so both tables report intervals the same
way. Every function returns an `Interval(estimate, low, high)`; an empty sample gives NaNs.
`derive_seed` gives both suites their stable per-match and per-call seeds.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Callable, Sequence

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


def _percentiles(values: list[float], confidence: float) -> tuple[float, float]:
    values = sorted(values)
    alpha = (1 - confidence) / 2

    def at(q: float) -> float:
        pos = q * (len(values) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    return at(alpha), at(1 - alpha)


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float] = _mean,
    confidence: float = CONFIDENCE,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of `statistic` (default: the mean) over `values`."""
    values = [float(v) for v in values]
    if not values:
        return _NAN
    _z(confidence)
    rng = random.Random(seed)
    stats = [statistic(rng.choices(values, k=len(values))) for _ in range(resamples)]
    low, high = _percentiles(stats, confidence)
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
    _z(confidence)
    rng = random.Random(seed)
    stats = [_mean([_mean(rng.choices(g, k=len(g))) for g in groups]) for _ in range(resamples)]
    low, high = _percentiles(stats, confidence)
    return Interval(_mean([_mean(g) for g in groups]), low, high)
