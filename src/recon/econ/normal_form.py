"""Finite normal-form games with exact (`Fraction`) payoffs: pure Nash equilibria, dominance,
iterated elimination, mixed equilibria of 2×2 games, Pareto-optimal equilibria and the
perfectly transparent equilibrium (Fourny 2020)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction
from numbers import Rational
from typing import Any, Iterator, Sequence

import numpy as np

Profile = tuple[int, ...]


def to_fraction(x: Any) -> Fraction:
    """An exact `Fraction` for an int, Fraction, Decimal, numeric string or float (a float is read
    through its shortest repr, so 0.1 → 1/10)."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"a payoff must be a number, got {x!r}")
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, Rational):
        return Fraction(x.numerator, x.denominator)
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise ValueError(f"a payoff must be finite, got {x!r}")
        return Fraction(repr(float(x)))
    if isinstance(x, (Decimal, str)):
        return Fraction(x)
    raise TypeError(f"a payoff must be a number, got {x!r} ({type(x).__name__})")


class NormalFormGame:
    """A finite game: `payoffs[i][s_1, …, s_k]` is player i's payoff at profile (s_1, …, s_k).

    `payoffs` holds one array-like per player, all of shape (n_1, …, n_k) with k = number of players.
    Payoffs are stored as `Fraction`s. `labels` optionally names each player's strategies.
    """

    def __init__(self, payoffs: Sequence[Any], labels: Sequence[Sequence[str]] | None = None) -> None:
        arrays = [np.asarray(p, dtype=object) for p in payoffs]
        if len(arrays) < 1:
            raise ValueError("a game needs at least one player")
        shape = arrays[0].shape
        if any(a.shape != shape for a in arrays):
            raise ValueError(f"every player's payoff array needs the same shape, got {[a.shape for a in arrays]}")
        if len(shape) != len(arrays):
            raise ValueError(f"{len(arrays)} players need arrays with {len(arrays)} axes, got shape {shape}")
        if any(n < 1 for n in shape):
            raise ValueError(f"every player needs at least one strategy, got shape {shape}")
        self.shape: tuple[int, ...] = tuple(int(n) for n in shape)
        self.n_players = len(arrays)
        self._table: dict[Profile, tuple[Fraction, ...]] = {
            prof: tuple(to_fraction(a[prof]) for a in arrays) for prof in itertools.product(*map(range, self.shape))
        }
        if labels is not None:
            if len(labels) != self.n_players or any(len(l) != n for l, n in zip(labels, self.shape)):
                raise ValueError("labels must give one name per strategy of each player")
            self.labels = [list(l) for l in labels]
        else:
            self.labels = [[str(s) for s in range(n)] for n in self.shape]

    def profiles(self) -> Iterator[Profile]:
        """All pure strategy profiles in lexicographic order."""
        return iter(self._table)

    def payoff(self, profile: Sequence[int]) -> tuple[Fraction, ...]:
        """Every player's payoff at a pure profile."""
        return self._table[tuple(profile)]

    def utility(self, player: int, profile: Sequence[int]) -> Fraction:
        return self._table[tuple(profile)][player]

    def deviate(self, profile: Sequence[int], player: int, strategy: int) -> Profile:
        """`profile` with `player`'s strategy replaced."""
        out = list(profile)
        out[player] = strategy
        return tuple(out)

    def payoff_arrays(self) -> list[np.ndarray]:
        """One object array of Fractions per player (the constructor's input form)."""
        arrays = [np.empty(self.shape, dtype=object) for _ in range(self.n_players)]
        for prof, pay in self._table.items():
            for i in range(self.n_players):
                arrays[i][prof] = pay[i]
        return arrays

    def restrict(self, strategies: Sequence[Sequence[int]]) -> "NormalFormGame":
        """The subgame on the given strategies of each player (indices renumbered from 0)."""
        if len(strategies) != self.n_players or not all(strategies):
            raise ValueError("restrict needs a non-empty strategy list for every player")
        index = np.ix_(*[list(s) for s in strategies])
        arrays = [a[index] for a in self.payoff_arrays()]
        labels = [[self.labels[i][s] for s in strategies[i]] for i in range(self.n_players)]
        return NormalFormGame(arrays, labels)

    def _check_player(self, player: int) -> None:
        if not 0 <= player < self.n_players:
            raise ValueError(f"player must be in 0..{self.n_players - 1}, got {player}")

    def __repr__(self) -> str:
        return f"NormalFormGame(shape={self.shape})"


def is_pure_nash(game: NormalFormGame, profile: Sequence[int]) -> bool:
    """True when no player gains by a unilateral pure deviation from `profile`."""
    profile = tuple(profile)
    for i in range(game.n_players):
        own = game.utility(i, profile)
        if any(game.utility(i, game.deviate(profile, i, s)) > own for s in range(game.shape[i])):
            return False
    return True


def pure_nash_equilibria(game: NormalFormGame) -> list[Profile]:
    """All pure-strategy Nash equilibria, sorted."""
    return sorted(p for p in game.profiles() if is_pure_nash(game, p))


def pareto_optimal_equilibria(game: NormalFormGame) -> list[Profile]:
    """The pure Nash equilibria not Pareto-dominated by another pure Nash equilibrium."""
    eqs = pure_nash_equilibria(game)
    pays = {e: game.payoff(e) for e in eqs}

    def dominated(e: Profile) -> bool:
        return any(
            all(a >= b for a, b in zip(pays[f], pays[e])) and pays[f] != pays[e] for f in eqs if f != e
        )

    return [e for e in eqs if not dominated(e)]


def _opponent_profiles(game: NormalFormGame, player: int) -> list[Profile]:
    ranges = [range(n) for k, n in enumerate(game.shape) if k != player]
    return list(itertools.product(*ranges))


def _with(player: int, own: int, others: Profile) -> Profile:
    return others[:player] + (own,) + others[player:]


def dominates(game: NormalFormGame, player: int, s: int, t: int, strict: bool = True) -> bool:
    """Does pure strategy s dominate t for `player`? Strict: better against every opponent profile.
    Weak: never worse and better against at least one."""
    game._check_player(player)
    diffs = [
        game.utility(player, _with(player, s, o)) - game.utility(player, _with(player, t, o))
        for o in _opponent_profiles(game, player)
    ]
    if strict:
        return all(d > 0 for d in diffs)
    return all(d >= 0 for d in diffs) and any(d > 0 for d in diffs)


def dominant_strategies(game: NormalFormGame, player: int, strict: bool = True) -> list[int]:
    """Strategies that (strictly or weakly) dominate every other strategy of `player`."""
    game._check_player(player)
    n = game.shape[player]
    return [s for s in range(n) if all(dominates(game, player, s, t, strict) for t in range(n) if t != s)]


def dominated_strategies(game: NormalFormGame, player: int, strict: bool = True) -> list[int]:
    """Strategies of `player` dominated (strictly or weakly) by another pure strategy."""
    game._check_player(player)
    n = game.shape[player]
    return [t for t in range(n) if any(dominates(game, player, s, t, strict) for s in range(n) if s != t)]


def iterated_elimination(game: NormalFormGame, strict: bool = True) -> tuple[list[int], ...]:
    """Surviving strategies (original indices) of each player after iterated elimination of pure
    strategies dominated by pure strategies. Each round removes, for every player at once, all
    strategies dominated in the current subgame (the order matters only for weak dominance)."""
    alive = [list(range(n)) for n in game.shape]
    while True:
        sub = game.restrict(alive)
        removed = [set(dominated_strategies(sub, i, strict)) for i in range(game.n_players)]
        if not any(removed):
            return tuple(alive)
        alive = [[s for k, s in enumerate(alive[i]) if k not in removed[i]] for i in range(game.n_players)]


MixedProfile2x2 = tuple[tuple[Fraction, Fraction], tuple[Fraction, Fraction]]


def mixed_equilibria_2x2(game: NormalFormGame) -> list[MixedProfile2x2]:
    """All Nash equilibria of a 2-player 2×2 game as ((p, 1-p), (q, 1-q)), p = P(row 0),
    q = P(column 0); pure equilibria appear as degenerate mixes. Sorted. In a degenerate game with
    a continuum of equilibria the list holds the extreme points of each component."""
    if game.shape != (2, 2):
        raise ValueError(f"mixed_equilibria_2x2 needs a 2-player 2x2 game, got shape {game.shape}")
    u0 = lambda r, c: game.utility(0, (r, c))  # noqa: E731
    u1 = lambda r, c: game.utility(1, (r, c))  # noqa: E731

    def d0(q: Fraction) -> Fraction:  # row 0 minus row 1 for player 0 when column 0 has prob q
        return q * (u0(0, 0) - u0(1, 0)) + (1 - q) * (u0(0, 1) - u0(1, 1))

    def d1(p: Fraction) -> Fraction:  # column 0 minus column 1 for player 1 when row 0 has prob p
        return p * (u1(0, 0) - u1(0, 1)) + (1 - p) * (u1(1, 0) - u1(1, 1))

    def indifference(a: Fraction, b: Fraction) -> list[Fraction]:  # x*a + (1-x)*b = 0
        if a == b:
            return []
        x = b / (b - a)
        return [x] if 0 < x < 1 else []

    q_star = indifference(u0(0, 0) - u0(1, 0), u0(0, 1) - u0(1, 1))
    p_star = indifference(u1(0, 0) - u1(0, 1), u1(1, 0) - u1(1, 1))
    found = []
    for p in sorted({Fraction(0), Fraction(1), *p_star}):
        for q in sorted({Fraction(0), Fraction(1), *q_star}):
            row_ok = (p == 1 and d0(q) >= 0) or (p == 0 and d0(q) <= 0) or d0(q) == 0
            col_ok = (q == 1 and d1(p) >= 0) or (q == 0 and d1(p) <= 0) or d1(p) == 0
            if row_ok and col_ok:
                found.append(((p, 1 - p), (q, 1 - q)))
    return sorted(found)


def maximin_filter_step(game: NormalFormGame, alive: Sequence[Profile]) -> tuple[list[Profile], list[Fraction]]:
    """One round of Fourny's elimination: each player's maximin over the surviving profiles
    (max over own strategies of the minimum payoff among surviving profiles using it), then the
    profiles giving every player at least that. Returns (survivors, maximin per player)."""
    guarantees = []
    for i in range(game.n_players):
        worst: dict[int, Fraction] = {}
        for prof in alive:
            u = game.utility(i, prof)
            worst[prof[i]] = min(worst.get(prof[i], u), u)
        guarantees.append(max(worst.values()))
    survivors = [p for p in alive if all(game.utility(i, p) >= guarantees[i] for i in range(game.n_players))]
    return survivors, guarantees


def perfectly_transparent_trace(game: NormalFormGame) -> list[tuple[list[Profile], list[Fraction]]]:
    """The rounds of the PTE iteration: (profiles before the round, maximin guarantees of the round),
    until a round removes nothing or nothing is left. The last entry's profiles are the fixpoint."""
    alive = sorted(game.profiles())
    trace = []
    while alive:
        survivors, guarantees = maximin_filter_step(game, alive)
        trace.append((alive, guarantees))
        if survivors == alive:
            return trace
        alive = survivors
    trace.append(([], []))
    return trace


def perfectly_transparent_equilibrium(game: NormalFormGame) -> list[Profile]:
    """The perfectly transparent equilibrium (Fourny 2020): start from all profiles and repeatedly keep
    those giving every player at least their maximin over the surviving profiles, until nothing
    changes. Returns the surviving profiles (the PTE), or [] when the iteration empties the set."""
    return sorted(perfectly_transparent_trace(game)[-1][0])
