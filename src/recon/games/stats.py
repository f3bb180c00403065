"""95% intervals for game metrics: Wilson score intervals for rates, percentile bootstrap for means
and for averages of per-game rates; Bradley–Terry ratings with bootstrap intervals.

Shared by both game suites (self-play in `recon.games.selfplay`, the OpenSpiel arena in
`recon.games.arena`): use these rather than a private copy, so both tables report intervals the same
way. Every function returns an `Interval(estimate, low, high)`; an empty sample gives NaNs.
`derive_seed` gives both suites their stable per-match and per-call seeds.
"""

from __future__ import annotations

import hashlib
import math
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
    from recon.evaluation.stats import percentile_interval

    return percentile_interval(values, confidence)


def bootstrap_interval(
    values: Sequence,
    statistic: Callable[[Sequence], float] = _mean,
    confidence: float = CONFIDENCE,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of `statistic` (default: the mean) over `values`
    (`recon.evaluation.stats`, the one bootstrap)."""
    from recon.evaluation.stats import bootstrap_statistic

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
    from recon.evaluation.stats import stratified_bootstrap_ci

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
    from recon.evaluation.stats import bootstrap_samples

    _z(confidence)
    point = bradley_terry(results)
    fits = bootstrap_samples(results, bradley_terry, seed=seed, resamples=resamples)
    draws = {n: [fit.get(n, math.nan) for fit in fits] for n in point}
    out = {}
    for n, values in draws.items():
        values = [v for v in values if not math.isnan(v)]
        low, high = _percentiles(values, confidence)
        out[n] = Interval(point[n], low, high)
    return out
