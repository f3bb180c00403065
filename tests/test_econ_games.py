"""Game-theory solvers against independent oracles (nashpy, scipy, brute force) and textbook games."""

from __future__ import annotations

import random
from fractions import Fraction

import nashpy
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from recon.econ.bayesian import bayes_nash_pure, expected_game
from recon.econ.extensive import (
    Decision,
    Leaf,
    backward_induction,
    from_nested,
    induced_normal_form,
    nash_outcomes,
    outcome,
    spe_outcomes,
    subgame_perfect_paths,
)
from recon.econ.normal_form import (
    NormalFormGame,
    dominant_strategies,
    dominated_strategies,
    is_pure_nash,
    iterated_elimination,
    mixed_equilibria_2x2,
    pareto_optimal_equilibria,
    perfectly_transparent_equilibrium,
    pure_nash_equilibria,
)
from recon.econ.repeated import (
    feasible_set,
    is_feasible,
    min_delta_grim_trigger,
    mixed_minmax,
    pure_minmax,
    sustainable_minmax,
    sustainable_nash_reversion,
)

F = Fraction
PD = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]])
STAG = NormalFormGame([[[3, 0], [1, 1]], [[3, 1], [0, 1]]])
BOS = NormalFormGame([[[2, 0], [0, 1]], [[1, 0], [0, 2]]])
PENNIES = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])


# ---------------------------------------------------------------- textbook games


def test_textbook_pure_and_mixed_equilibria():
    assert pure_nash_equilibria(PD) == [(1, 1)]
    assert dominant_strategies(PD, 0) == [1] and dominant_strategies(PD, 1) == [1]
    assert pure_nash_equilibria(STAG) == [(0, 0), (1, 1)]
    assert pareto_optimal_equilibria(STAG) == [(0, 0)]
    assert pure_nash_equilibria(BOS) == [(0, 0), (1, 1)]
    assert pareto_optimal_equilibria(BOS) == [(0, 0), (1, 1)]
    assert mixed_equilibria_2x2(PENNIES) == [((F(1, 2), F(1, 2)), (F(1, 2), F(1, 2)))]
    # BoS: row plays 0 with 2/3, column plays 0 with 1/3 in the mixed equilibrium
    assert ((F(2, 3), F(1, 3)), (F(1, 3), F(2, 3))) in mixed_equilibria_2x2(BOS)
    assert len(mixed_equilibria_2x2(BOS)) == 3
    assert iterated_elimination(PD) == ([1], [1])


def test_hua_duopoly_and_three_players():
    rows = [[0] * 6, [9, 7, 5, 3, 1, -1], [14, 10, 6, 2, -2, -2], [15, 9, 3, -3, -3, -3],
            [12, 4, -4, -4, -4, -4], [5, -5, -5, -5, -5, -5]]
    alice = np.array(rows)
    game = NormalFormGame([alice, alice.T])
    assert pure_nash_equilibria(game) == [(2, 2)]
    # a 3-player coordination game: everyone matching is an equilibrium
    pay = np.zeros((2, 2, 2), dtype=int)
    pay[0, 0, 0] = pay[1, 1, 1] = 1
    three = NormalFormGame([pay, pay, pay])
    assert pure_nash_equilibria(three) == [(0, 0, 0), (1, 1, 1)]
    assert all(is_pure_nash(three, p) == (p in pure_nash_equilibria(three)) for p in three.profiles())


def test_weak_dominance_and_elimination():
    game = NormalFormGame([[[1, 1], [1, 0]], [[1, 1], [0, 0]]])
    assert dominant_strategies(game, 0, strict=False) == [0]
    assert dominant_strategies(game, 0, strict=True) == []
    assert dominated_strategies(game, 0, strict=False) == [1]
    assert iterated_elimination(game, strict=False) == ([0], [0, 1])


def test_exact_payoffs_and_bad_input():
    game = NormalFormGame([[[0.1, 0.2]], [[0.3, 0.30000000000000004]]])
    assert game.payoff((0, 0)) == (F(1, 10), F(3, 10))
    with pytest.raises(ValueError):
        NormalFormGame([[[1, 2]], [[1, 2, 3]]])
    with pytest.raises(ValueError):
        NormalFormGame([[1, 2], [3, 4]])  # two players need 2-axis arrays
    with pytest.raises(TypeError):
        NormalFormGame([[[None, 1]], [[1, 2]]])
    with pytest.raises(ValueError):
        NormalFormGame([[["a", 1]], [[1, 2]]])


def test_pte_published_example():
    a = [[7, 0, 4], [6, 2, 1], [3, 8, 5]]
    b = [[8, 2, 6], [0, 5, 7], [4, 3, 1]]
    assert perfectly_transparent_equilibrium(NormalFormGame([a, b])) == [(0, 0)]
    # matching pennies: maximin keeps everything, no single outcome
    assert perfectly_transparent_equilibrium(PENNIES) == sorted(PENNIES.profiles())
    # prisoner's dilemma: maximin (1, 1) keeps all but the sucker payoffs, then (0,0) wins
    assert perfectly_transparent_equilibrium(PD) == [(0, 0)]


def test_bayes_nash_expected_game():
    s1 = NormalFormGame([[[2.07, 2.49], [3.63, 0.38]], [[1.56, 1.16], [2.44, 1.91]]])
    s2 = NormalFormGame([[[8.84, 10.59], [15.45, 1.62]], [[6.63, 4.93], [10.42, 8.15]]])
    eg = expected_game([s1, s2], [0.19, 0.81])
    assert eg.payoff((0, 0)) == (F("0.19") * F("2.07") + F("0.81") * F("8.84"), F("0.19") * F("1.56") + F("0.81") * F("6.63"))
    assert bayes_nash_pure([s1, s2], [0.19, 0.81]) == [(1, 0)]
    with pytest.raises(ValueError):
        expected_game([s1, s2], [0.5, 0.6])


# ---------------------------------------------------------------- random games vs nashpy


def _random_game(rng: random.Random, rows: int, cols: int, distinct: bool) -> tuple[np.ndarray, np.ndarray]:
    if distinct:
        a = np.array(rng.sample(range(rows * cols * 3), rows * cols)).reshape(rows, cols)
        b = np.array(rng.sample(range(rows * cols * 3), rows * cols)).reshape(rows, cols)
    else:
        a = np.array([[rng.randint(0, 3) for _ in range(cols)] for _ in range(rows)])
        b = np.array([[rng.randint(0, 3) for _ in range(cols)] for _ in range(rows)])
    return a, b


def _brute_pure(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    return sorted((r, c) for r in range(a.shape[0]) for c in range(a.shape[1])
                  if a[r, c] == a[:, c].max() and b[r, c] == b[r, :].max())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pure_nash_matches_nashpy_support_enumeration():
    rng = random.Random(0)
    for _ in range(1500):
        rows, cols = rng.randint(1, 4), rng.randint(1, 4)
        a, b = _random_game(rng, rows, cols, distinct=True)
        ours = pure_nash_equilibria(NormalFormGame([a, b]))
        theirs = sorted(
            (int(np.argmax(x)), int(np.argmax(y)))
            for x, y in nashpy.Game(a, b).support_enumeration()
            if np.count_nonzero(x) == 1 and np.count_nonzero(y) == 1
        )
        assert ours == theirs


def test_pure_nash_with_ties_matches_brute_force():
    rng = random.Random(1)
    for _ in range(2000):
        a, b = _random_game(rng, rng.randint(1, 4), rng.randint(1, 4), distinct=False)
        assert pure_nash_equilibria(NormalFormGame([a, b])) == _brute_pure(a, b)


def test_mixed_2x2_matches_nashpy():
    rng = random.Random(2)
    for _ in range(600):
        a, b = _random_game(rng, 2, 2, distinct=True)
        ours = mixed_equilibria_2x2(NormalFormGame([a, b]))
        theirs = list(nashpy.Game(a, b).support_enumeration())
        assert len(ours) == len(theirs)
        for x, y in theirs:
            assert any(np.allclose([float(v) for v in p + q], list(x) + list(y)) for p, q in ours)


def test_mixed_2x2_degenerate_equilibria_are_equilibria():
    rng = random.Random(3)
    for _ in range(500):
        a, b = _random_game(rng, 2, 2, distinct=False)
        game = NormalFormGame([a, b])
        eqs = mixed_equilibria_2x2(game)
        assert eqs, "every finite game has an equilibrium"
        for (p0, p1), (q0, q1) in eqs:
            row = [q0 * a[r, 0] + q1 * a[r, 1] for r in range(2)]
            col = [p0 * b[0, c] + p1 * b[1, c] for c in range(2)]
            assert p0 * row[0] + p1 * row[1] == max(row)
            assert q0 * col[0] + q1 * col[1] == max(col)
        pure = [(r, c) for (p0, _), (q0, _) in eqs if p0 in (0, 1) and q0 in (0, 1)
                for r, c in [(0 if p0 == 1 else 1, 0 if q0 == 1 else 1)]]
        assert set(pure) >= set(pure_nash_equilibria(game))


def test_mixed_minmax_matches_linear_programming():
    rng = random.Random(4)
    for _ in range(300):
        a, b = _random_game(rng, rng.randint(1, 4), rng.randint(1, 4), distinct=False)
        game = NormalFormGame([a, b])
        for player, own in ((0, a), (1, b.T)):
            value, mix = mixed_minmax(game, player)
            # min v s.t. own @ y <= v, sum y = 1, y >= 0
            n = own.shape[1]
            res = linprog(c=[0] * n + [1], A_ub=np.hstack([own, -np.ones((own.shape[0], 1))]),
                          b_ub=np.zeros(own.shape[0]), A_eq=[[1] * n + [0]], b_eq=[1],
                          bounds=[(0, None)] * n + [(None, None)])
            assert abs(float(value) - res.fun) < 1e-7
            assert max(sum(own[s, t] * mix[t] for t in range(n)) for s in range(own.shape[0])) == value
            assert value <= pure_minmax(game, player)


# ---------------------------------------------------------------- properties


payoff_tables = st.integers(1, 3).flatmap(
    lambda r: st.integers(1, 3).flatmap(
        lambda c: st.tuples(
            st.lists(st.lists(st.integers(-5, 5), min_size=c, max_size=c), min_size=r, max_size=r),
            st.lists(st.lists(st.integers(-5, 5), min_size=c, max_size=c), min_size=r, max_size=r),
        )
    )
)


@settings(max_examples=300, deadline=None)
@given(payoff_tables)
def test_strictly_dominant_strategy_is_played_in_every_equilibrium(tables):
    game = NormalFormGame(list(tables))
    eqs = pure_nash_equilibria(game)
    for player in range(2):
        for s in dominant_strategies(game, player, strict=True):
            assert all(e[player] == s for e in eqs)
    survivors = iterated_elimination(game, strict=True)
    assert all(e[0] in survivors[0] and e[1] in survivors[1] for e in eqs)
    assert set(pareto_optimal_equilibria(game)) <= set(eqs)
    assert bool(pareto_optimal_equilibria(game)) == bool(eqs)


@settings(max_examples=300, deadline=None)
@given(payoff_tables)
def test_pte_is_a_fixpoint_subset_of_profiles(tables):
    game = NormalFormGame(list(tables))
    pte = perfectly_transparent_equilibrium(game)
    assert set(pte) <= set(game.profiles())
    for i in range(2):  # at the fixpoint every survivor meets the player's maximin over survivors
        if pte:
            worst = {}
            for p in pte:
                worst[p[i]] = min(worst.get(p[i], game.utility(i, p)), game.utility(i, p))
            assert all(game.utility(i, p) >= max(worst.values()) for p in pte)


def test_pte_is_unique_in_general_position():
    rng = random.Random(5)
    for _ in range(500):
        a = np.array(rng.sample(range(9), 9)).reshape(3, 3)
        b = np.array(rng.sample(range(9), 9)).reshape(3, 3)
        assert len(perfectly_transparent_equilibrium(NormalFormGame([a, b]))) <= 1


# ---------------------------------------------------------------- trees


def _random_tree(rng: random.Random, depth: int, players: int = 2, history: int = 0) -> Leaf | Decision:
    if depth == 0 or (history and rng.random() < 0.25):
        return Leaf(tuple(rng.randint(-3, 3) for _ in range(players)))
    return Decision(rng.randrange(players), {f"a{k}": _random_tree(rng, depth - 1, players, 1)
                                              for k in range(rng.randint(1, 3))})


def _brute_nash_paths(tree) -> set:
    game, strategies = induced_normal_form(tree)
    paths = set()
    for prof in pure_nash_equilibria(game):
        merged = {}
        for i, s in enumerate(prof):
            merged.update(strategies[i][s])
        paths.add(outcome(tree, merged)[0])
    return paths


def test_tree_equilibria_match_induced_normal_form():
    rng = random.Random(6)
    checked = 0
    for _ in range(400):
        tree = _random_tree(rng, rng.randint(1, 3), players=rng.choice([2, 2, 3]))
        game, _ = induced_normal_form(tree)
        if np.prod(game.shape) > 3000:
            continue
        checked += 1
        spe = backward_induction(tree)
        assert {e.path for e in spe} == set(subgame_perfect_paths(tree))
        assert {(e.path, e.payoffs) for e in spe} == set(spe_outcomes(tree))
        assert set(nash_outcomes(tree)) == _brute_nash_paths(tree)
        assert set(subgame_perfect_paths(tree)) <= set(nash_outcomes(tree))
        for e in spe:  # an SPE is a Nash equilibrium of the induced normal form
            assert outcome(tree, e.strategy) == (e.path, e.payoffs)
    assert checked > 300


def test_hua_sequential_games():
    esc = from_nested({"A1": [0, 0], "A2": {"B1": [1, -2], "B2": {"A1": [-2, 1], "A2": [-1, -1]}}})
    assert subgame_perfect_paths(esc) == [("A1",)]
    mono = from_nested({"A1": [0, 2], "A2": {"B1": [2, 1], "B2": [-1, -1]}})
    assert subgame_perfect_paths(mono) == [("A2", "B1")]
    assert nash_outcomes(mono) == [("A1",), ("A2", "B1")]
    tri = from_nested({"A1": {"B1": {"A1": [20, 3], "A2": [0, 4]}, "B2": {"A1": [2, 5], "A2": [3, 4]}},
                       "A2": {"B1": {"A1": [1, 5], "A2": [4, 10]}, "B2": {"A1": [2, 1], "A2": [3, 2]}}})
    assert subgame_perfect_paths(tri) == [("A2", "B1", "A2")]
    explicit = from_nested({"player": 1, "moves": {"x": [1, 2], "y": [3, 1]}})
    assert subgame_perfect_paths(explicit) == [("x",)]
    with pytest.raises(ValueError):
        from_nested({"a": [1, 2], "b": [1, 2, 3]})


def test_centipede_unravels():
    def centipede(n: int, k: int = 0):
        if k == n:
            return [n + 1, n + 1]
        take = [k + 3, k] if k % 2 == 0 else [k, k + 3]
        return {"take": take, "pass": centipede(n, k + 1)}

    tree = from_nested(centipede(6))
    assert subgame_perfect_paths(tree) == [("take",)]
    assert nash_outcomes(tree) == [("take",)]


def test_ties_give_several_spe_paths():
    tree = from_nested({"L": [1, 0], "R": {"l": [2, 1], "r": [0, 1]}})
    assert subgame_perfect_paths(tree) == [("L",), ("R", "l")]
    assert len(backward_induction(tree)) == 2


# ---------------------------------------------------------------- repeated games


def test_grim_trigger_threshold_and_conditions():
    res = min_delta_grim_trigger(PD)
    assert res.delta == F(1, 2) and res.well_posed
    assert sustainable_nash_reversion(PD, [(0, 0)], F(1, 2)).sustainable
    assert not sustainable_nash_reversion(PD, [(0, 0)], F(49, 100)).sustainable
    # stag hunt: no temptation, mutual defection a stage NE, but not a prisoner's dilemma
    stag = min_delta_grim_trigger(STAG)
    assert stag.delta == 0 and not stag.conditions["T>R>P>S"] and not stag.well_posed
    # cooperation worse than defection: no threshold
    bad = NormalFormGame([[[1, 0], [5, 3]], [[1, 5], [0, 3]]])
    assert min_delta_grim_trigger(bad).delta is None


def test_alternating_paths_and_minmax_notion():
    res = sustainable_nash_reversion(PD, [(0, 1), (1, 0)], F(9, 10))
    assert res.sustainable and res.notion == "spe_nash_reversion"
    # the sucker at phase 0 gets 0 now, 5 next: value (0 + 5δ)/(1+δ) vs 1 from defecting
    assert not sustainable_nash_reversion(PD, [(0, 1), (1, 0)], F(1, 5)).sustainable
    mm = sustainable_minmax(PD, [(0, 0)], F(1, 2))
    assert mm.sustainable and mm.notion == "nash_minmax_mixed"
    assert sustainable_nash_reversion(PD, [(1, 1)], F(0)).sustainable


def test_feasible_set():
    hull = feasible_set(PD)
    assert set(hull) == {(F(0), F(5)), (F(5), F(0)), (F(3), F(3)), (F(1), F(1))}
    assert is_feasible(PD, (2, 2)) and is_feasible(PD, (F(5, 2), F(5, 2))) and not is_feasible(PD, (4, 4))
    assert mixed_minmax(PENNIES, 0)[0] == 0 and pure_minmax(PENNIES, 0) == 1


def _trees(depth: int):
    leaf = st.tuples(st.integers(-3, 3), st.integers(-3, 3)).map(Leaf)
    if depth == 0:
        return leaf
    node = st.builds(
        lambda player, kids: Decision(player, {f"m{k}": c for k, c in enumerate(kids)}),
        st.integers(0, 1), st.lists(_trees(depth - 1), min_size=1, max_size=3))
    return st.one_of(leaf, node) if depth < 3 else node


def _profiles(tree) -> int:
    """How many pure-strategy profiles the induced normal form has: the product of every decision node's
    action count (a player's strategy picks an action at each of their nodes)."""
    if isinstance(tree, Leaf):
        return 1
    n = len(tree.children)
    for child in tree.children.values():
        n *= _profiles(child)
    return n


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_trees(3))
def test_spe_strategies_are_nash_equilibria_of_the_induced_normal_form(tree):
    assume(_profiles(tree) <= 4096)  # up to 13 nodes of 3 actions: 3^13 profiles would take hours to enumerate
    game, strategies = induced_normal_form(tree)
    nash = set(pure_nash_equilibria(game))
    for eq in backward_induction(tree):
        profile = tuple(strategies[i].index({h: a for h, a in eq.strategy.items() if h in strategies[i][0]})
                        for i in range(2))
        assert profile in nash
    assert set(subgame_perfect_paths(tree)) <= set(nash_outcomes(tree))
