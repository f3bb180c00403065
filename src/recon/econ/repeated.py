"""Infinitely repeated 2-player games with a common discount factor δ (payoffs Σ δ^t u_t).

Every sustainability answer says which equilibrium notion it checks:
- `spe_nash_reversion`: subgame-perfect equilibrium with Nash-reversion triggers (a deviation is
  punished by playing a stage Nash equilibrium, the one worst for the deviator, forever);
- `nash_minmax`: Nash equilibrium of the repeated game with minmax punishment (a deviator is minmaxed
  forever; not subgame perfect in general)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, Sequence

from recon.econ.normal_form import (
    NormalFormGame,
    Profile,
    mixed_equilibria_2x2,
    pure_nash_equilibria,
    to_fraction,
)

Point = tuple[Fraction, Fraction]
MinmaxKind = Literal["pure", "mixed"]


def _check_two_player(game: NormalFormGame) -> None:
    if game.n_players != 2:
        raise ValueError(f"repeated-game tools need a 2-player game, got {game.n_players} players")


def _delta(delta: Any) -> Fraction:
    d = to_fraction(delta)
    if not 0 <= d < 1:
        raise ValueError(f"the discount factor must be in [0, 1), got {delta!r}")
    return d


def stage_equilibria(game: NormalFormGame) -> list[tuple[tuple[Fraction, ...], tuple[Fraction, ...]]]:
    """Stage-game Nash equilibria as (row mix, column mix): all equilibria (mixed included) of a 2×2
    game, the pure ones otherwise."""
    _check_two_player(game)
    if game.shape == (2, 2):
        return [(tuple(p), tuple(q)) for p, q in mixed_equilibria_2x2(game)]
    out = []
    for r, c in pure_nash_equilibria(game):
        out.append((tuple(Fraction(int(k == r)) for k in range(game.shape[0])),
                    tuple(Fraction(int(k == c)) for k in range(game.shape[1]))))
    return out


def expected_payoffs(game: NormalFormGame, x: Sequence[Fraction], y: Sequence[Fraction]) -> Point:
    """Both players' expected payoffs when row mixes x and column mixes y."""
    u = [Fraction(0), Fraction(0)]
    for r, c in game.profiles():
        w = x[r] * y[c]
        if w:
            pay = game.payoff((r, c))
            u[0] += w * pay[0]
            u[1] += w * pay[1]
    return u[0], u[1]


def _own_payoff_rows(game: NormalFormGame, player: int) -> list[list[Fraction]]:
    """Matrix A with A[s][t] = player's payoff when they play s and the opponent plays t."""
    other = 1 - player
    return [
        [game.utility(player, (s, t) if player == 0 else (t, s)) for t in range(game.shape[other])]
        for s in range(game.shape[player])
    ]


def pure_minmax(game: NormalFormGame, player: int) -> Fraction:
    """min over the opponent's pure strategies of the player's best-response payoff."""
    _check_two_player(game)
    a = _own_payoff_rows(game, player)
    return min(max(row[t] for row in a) for t in range(len(a[0])))


def _solve(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Exact Gaussian elimination; None when the square system is singular."""
    n = len(matrix)
    m = [row[:] + [b] for row, b in zip(matrix, rhs)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if m[r][col] != 0), None)
        if pivot is None:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col and m[r][col] != 0:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col])]
    return [m[r][n] / m[r][r] for r in range(n)]


def zero_sum_value(a: list[list[Fraction]]) -> tuple[Fraction, list[Fraction], list[Fraction]]:
    """Exact value of the matrix game where the row player maximises a[s][t] and the column player
    minimises it, with optimal mixes (x, y), by enumerating square kernels (Shapley–Snow)."""
    rows, cols = len(a), len(a[0])
    lower = max(range(rows), key=lambda s: min(a[s]))
    upper = min(range(cols), key=lambda t: max(a[s][t] for s in range(rows)))
    if min(a[lower]) == max(a[s][upper] for s in range(rows)):  # a pure saddle point
        x = [Fraction(int(s == lower)) for s in range(rows)]
        y = [Fraction(int(t == upper)) for t in range(cols)]
        return min(a[lower]), x, y
    for k in range(1, min(rows, cols) + 1):
        for rs in itertools.combinations(range(rows), k):
            for cs in itertools.combinations(range(cols), k):
                # x on rs and v: sum_s x_s a[s][t] = v for t in cs, sum x = 1
                mx = [[a[s][t] for s in rs] + [Fraction(-1)] for t in cs] + [[Fraction(1)] * k + [Fraction(0)]]
                sx = _solve(mx, [Fraction(0)] * k + [Fraction(1)])
                my = [[a[s][t] for t in cs] + [Fraction(-1)] for s in rs] + [[Fraction(1)] * k + [Fraction(0)]]
                sy = _solve(my, [Fraction(0)] * k + [Fraction(1)])
                if sx is None or sy is None or sx[-1] != sy[-1]:
                    continue
                v = sx[-1]
                if min(sx[:-1]) < 0 or min(sy[:-1]) < 0:
                    continue
                x = [Fraction(0)] * rows
                y = [Fraction(0)] * cols
                for s, w in zip(rs, sx):
                    x[s] = w
                for t, w in zip(cs, sy):
                    y[t] = w
                if all(sum(x[s] * a[s][t] for s in range(rows)) >= v for t in range(cols)) and all(
                    sum(a[s][t] * y[t] for t in range(cols)) <= v for s in range(rows)
                ):
                    return v, x, y
    raise ArithmeticError("no kernel solved the matrix game (should not happen)")


def mixed_minmax(game: NormalFormGame, player: int) -> tuple[Fraction, list[Fraction]]:
    """min over the opponent's mixed strategies of the player's best-response payoff, with the
    minmaxing mix; exact (by the minimax theorem it is the value of the zero-sum game on the
    player's own payoffs)."""
    _check_two_player(game)
    v, _, y = zero_sum_value(_own_payoff_rows(game, player))
    return v, y


def minmax_values(game: NormalFormGame, kind: MinmaxKind = "mixed") -> Point:
    """Both players' minmax values (pure or mixed)."""
    if kind == "pure":
        return pure_minmax(game, 0), pure_minmax(game, 1)
    if kind == "mixed":
        return mixed_minmax(game, 0)[0], mixed_minmax(game, 1)[0]
    raise ValueError(f"kind must be 'pure' or 'mixed', got {kind!r}")


def _cross(o: Point, a: Point, b: Point) -> Fraction:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def feasible_set(game: NormalFormGame) -> list[Point]:
    """Vertices (counter-clockwise, exact) of the convex hull of the stage payoff pairs: the payoffs
    achievable by (correlated) randomisation over outcomes, per period."""
    _check_two_player(game)
    pts = sorted({(p[0], p[1]) for p in (game.payoff(prof) for prof in game.profiles())})
    if len(pts) <= 2:
        return pts
    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def point_in_hull(hull: Sequence[Point], point: Sequence[Any]) -> bool:
    """Is the pair inside (or on) the convex polygon with counter-clockwise vertices `hull`?"""
    q = (to_fraction(point[0]), to_fraction(point[1]))
    if len(hull) == 1:
        return q == hull[0]
    if len(hull) == 2:
        a, b = hull
        return _cross(a, b, q) == 0 and min(a[0], b[0]) <= q[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= q[1] <= max(a[1], b[1])
    return all(_cross(hull[k], hull[(k + 1) % len(hull)], q) >= 0 for k in range(len(hull)))


def is_feasible(game: NormalFormGame, point: Sequence[Any]) -> bool:
    """Is the payoff pair in the convex hull of the stage payoffs (boundary included)?"""
    return point_in_hull(feasible_set(game), point)


def is_individually_rational(game: NormalFormGame, point: Sequence[Any], kind: MinmaxKind = "mixed", strict: bool = False) -> bool:
    """Does the pair give each player at least (strictly more than, if `strict`) their minmax value?"""
    mm = minmax_values(game, kind)
    q = (to_fraction(point[0]), to_fraction(point[1]))
    return all(q[i] > mm[i] if strict else q[i] >= mm[i] for i in range(2))


def feasible_and_rational(game: NormalFormGame, point: Sequence[Any], minmax: Point | None = None,
                          hull: Sequence[Point] | None = None) -> bool:
    """Folk-theorem test: `is_feasible(game, point) and is_individually_rational(game, point, "mixed",
    strict=True)`. Pass `minmax` (= `minmax_values(game, "mixed")`) and `hull` (= `feasible_set(game)`)
    to reuse them across many points of one game."""
    mm = minmax if minmax is not None else minmax_values(game, "mixed")
    q = (to_fraction(point[0]), to_fraction(point[1]))
    return q[0] > mm[0] and q[1] > mm[1] and point_in_hull(hull if hull is not None else feasible_set(game), q)


@dataclass(frozen=True)
class Sustainability:
    """Whether a cyclic outcome path is an equilibrium path under `notion`, with the binding numbers:
    for each (player, phase) the normalised path value and the best normalised deviation value."""

    sustainable: bool
    notion: str
    delta: Fraction
    path: tuple[Profile, ...]
    punishment: Point
    checks: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


def _path_checks(game: NormalFormGame, path: Sequence[Sequence[int]], delta: Fraction, punishment: Point) -> list[dict[str, Any]]:
    """Per (player, phase): value of following the path from that phase, (1-δ)Σδ^k u, against the best
    one-shot deviation followed by the punishment value forever, (1-δ)·d + δ·w."""
    cycle = [tuple(p) for p in path]
    length = len(cycle)
    checks = []
    for t in range(length):
        for i in range(2):
            seq = [game.utility(i, cycle[(t + k) % length]) for k in range(length)]
            value = (1 - delta) * sum(delta**k * u for k, u in enumerate(seq)) / (1 - delta**length)
            best_dev = max(game.utility(i, game.deviate(cycle[t], i, s)) for s in range(game.shape[i]))
            deviation = (1 - delta) * best_dev + delta * punishment[i]
            checks.append({"player": i, "phase": t, "path_value": value, "deviation_value": deviation,
                           "best_deviation_payoff": best_dev, "ok": value >= deviation})
    return checks


def _validate_path(game: NormalFormGame, path: Sequence[Sequence[int]]) -> tuple[Profile, ...]:
    _check_two_player(game)
    if not path:
        raise ValueError("the outcome path needs at least one profile")
    cycle = tuple(tuple(int(s) for s in p) for p in path)
    for p in cycle:
        if len(p) != 2 or not (0 <= p[0] < game.shape[0] and 0 <= p[1] < game.shape[1]):
            raise ValueError(f"profile {p} is not a profile of a game of shape {game.shape}")
    return cycle


def nash_reversion_values(game: NormalFormGame) -> Point | None:
    """Each player's lowest payoff over the stage Nash equilibria (the harshest Nash reversion), or None
    when the stage game has no equilibrium found (pure ones for games larger than 2×2)."""
    eqs = stage_equilibria(game)
    if not eqs:
        return None
    pays = [expected_payoffs(game, x, y) for x, y in eqs]
    return min(p[0] for p in pays), min(p[1] for p in pays)


def sustainable_nash_reversion(game: NormalFormGame, path: Sequence[Sequence[int]], delta: Any) -> Sustainability:
    """Is the cyclic path (one profile = stationary, two = alternating, …) played in a subgame-perfect
    equilibrium with Nash-reversion triggers? A deviator is punished with the stage equilibrium worst
    for him forever (itself subgame perfect); the path must beat every one-shot deviation at every phase."""
    cycle = _validate_path(game, path)
    d = _delta(delta)
    notion = "spe_nash_reversion"
    punishment = nash_reversion_values(game)
    if punishment is None:
        return Sustainability(False, notion, d, cycle, (Fraction(0), Fraction(0)), [], "the stage game has no pure Nash equilibrium to revert to")
    checks = _path_checks(game, cycle, d, punishment)
    ok = all(c["ok"] for c in checks)
    failing = [c for c in checks if not c["ok"]]
    reason = "every player prefers the path to deviating at every phase" if ok else (
        f"player {failing[0]['player']} gains by deviating at phase {failing[0]['phase']}")
    return Sustainability(ok, notion, d, cycle, punishment, checks, reason)


def sustainable_minmax(game: NormalFormGame, path: Sequence[Sequence[int]], delta: Any, kind: MinmaxKind = "mixed") -> Sustainability:
    """Is the cyclic path played in a Nash equilibrium of the repeated game whose deviators are minmaxed
    (pure or mixed minmax) forever? Not a subgame-perfect notion."""
    cycle = _validate_path(game, path)
    d = _delta(delta)
    punishment = minmax_values(game, kind)
    checks = _path_checks(game, cycle, d, punishment)
    ok = all(c["ok"] for c in checks)
    failing = [c for c in checks if not c["ok"]]
    reason = "every player prefers the path to deviating and being minmaxed" if ok else (
        f"player {failing[0]['player']} gains by deviating at phase {failing[0]['phase']}")
    return Sustainability(ok, f"nash_minmax_{kind}", d, cycle, punishment, checks, reason)


@dataclass(frozen=True)
class GrimTriggerThreshold:
    """The least δ at which grim trigger (cooperate until anyone defects, then defect forever) is a
    subgame-perfect equilibrium, with the conditions that make the usual question well posed."""

    delta: Fraction | None
    conditions: dict[str, bool]
    well_posed: bool
    per_player: tuple[Fraction | None, Fraction | None]
    reason: str


def min_delta_grim_trigger(game: NormalFormGame, cooperate: tuple[int, int] = (0, 0), defect: tuple[int, int] = (1, 1)) -> GrimTriggerThreshold:
    """Minimum δ for grim trigger in a 2×2 game whose strategy `cooperate[i]` / `defect[i]` are player
    i's cooperative and defecting actions. Player i needs R_i ≥ (1-δ) T_i + δ P_i, i.e.
    δ ≥ (T_i − R_i)/(T_i − P_i) when T_i > R_i (any δ when T_i ≤ R_i; none when T_i > R_i ≤ P_i).
    Reported conditions: T>R>P and R>S for each player (a prisoner's dilemma ordering), 2R>T+S,
    symmetric payoffs, mutual defection a stage Nash equilibrium (needed for subgame perfection)."""
    _check_two_player(game)
    if game.shape != (2, 2):
        raise ValueError(f"grim trigger thresholds are defined here for 2x2 games, got {game.shape}")
    cc = (cooperate[0], cooperate[1])
    dd = (defect[0], defect[1])
    per, cond = [], {}
    pd_order, efficiency = True, True
    for i in range(2):
        R = game.utility(i, cc)
        P = game.utility(i, dd)
        T = game.utility(i, game.deviate(cc, i, defect[i]))
        S = game.utility(i, game.deviate(dd, i, cooperate[i]))
        pd_order &= T > R > P > S
        efficiency &= 2 * R > T + S
        if T <= R:
            per.append(Fraction(0))
        elif R <= P:
            per.append(None)
        else:
            per.append((T - R) / (T - P))
    cond["T>R>P>S"] = pd_order
    cond["2R>T+S"] = efficiency
    cond["symmetric"] = all(
        game.utility(0, (r, c)) == game.utility(1, (c, r)) for r in range(2) for c in range(2)
    ) if game.shape[0] == game.shape[1] else False
    cond["mutual_defection_is_stage_nash"] = dd in pure_nash_equilibria(game)
    cond["temptation_exceeds_reward"] = all(
        game.utility(i, game.deviate(cc, i, defect[i])) > game.utility(i, cc) for i in range(2))
    delta = None if any(p is None for p in per) else max(per)
    well_posed = cond["T>R>P>S"] and cond["mutual_defection_is_stage_nash"]
    if delta is None:
        reason = "cooperation pays no more than mutual defection for some player: no δ < 1 works"
    elif not cond["mutual_defection_is_stage_nash"]:
        reason = "mutual defection is not a stage Nash equilibrium, so grim trigger is not subgame perfect"
    elif not cond["temptation_exceeds_reward"]:
        reason = "some player has no temptation to defect; the threshold is that of the other player"
    else:
        reason = "δ* = max_i (T_i − R_i)/(T_i − P_i)"
    return GrimTriggerThreshold(delta, cond, well_posed, (per[0], per[1]), reason)
