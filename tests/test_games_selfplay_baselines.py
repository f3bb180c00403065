"""Table 4's baselines: exact NE rates of play that reads only the action list (first listed action,
uniform random), checked against hand-counted games and against simulated play through self-play."""

from __future__ import annotations

import random

import pytest

from recon.games.library import SEQUENTIAL, SIMULTANEOUS, Game, Move, select_games
from recon.games.selfplay.metrics import blind_policy_rates, blind_policy_table4


def test_library_games_by_hand():
    games = {g.name: g for g in select_games("all")}
    # PD: the only equilibrium (2,2) is 1 cell of 4, and (1,1) is not it
    assert blind_policy_rates(games["pd"]) == {"first_action": 0.0, "uniform_random": 0.25}
    # stag hunt: (1,1) and (2,2) are equilibria: first action hits one, random 2 of 4 cells
    assert blind_policy_rates(games["stag_hunt"]) == {"first_action": 1.0, "uniform_random": 0.5}
    # duopoly: one equilibrium cell of 6 x 6
    assert blind_policy_rates(games["duopoly"])["uniform_random"] == pytest.approx(1 / 36)


def test_sequential_tree_probabilities_multiply_along_the_path():
    tree = Move("Alice", {
        "choice_1": Move("Bob", {"choice_1": (0.0, 0.0), "choice_2": (1.0, 2.0), "choice_3": (0.0, 1.0)}),
        "choice_2": (0.5, 0.5),
    })
    game = Game(name="t", title="T", kind=SEQUENTIAL, tree=tree)
    assert game.equilibria.nash == frozenset({("choice_1", "choice_2")})  # Bob answers 2, so Alice goes in
    assert blind_policy_rates(game) == {"first_action": 0.0, "uniform_random": pytest.approx(1 / 6)}


def test_uniform_rate_matches_simulated_random_play():
    game = next(g for g in select_games("all") if g.name == "trigame")
    rng, hits, n = random.Random(0), 0, 20000
    for _ in range(n):
        node, path = game.tree, ()
        while isinstance(node, Move):
            label = rng.choice(list(node.children))
            node, path = node.children[label], path + (label,)
        hits += path in game.equilibria.nash
    assert hits / n == pytest.approx(blind_policy_rates(game)["uniform_random"], abs=0.01)


def test_table4_averages_are_unweighted_over_games():
    games = select_games("all")
    table = blind_policy_table4(games)
    simultaneous = [blind_policy_rates(g)["first_action"] for g in games if g.kind == SIMULTANEOUS]
    assert table["first_action"]["simultaneous"] == pytest.approx(sum(simultaneous) / len(simultaneous))
    assert table["uniform_random"]["overall"] == pytest.approx(
        sum(blind_policy_rates(g)["uniform_random"] for g in games) / len(games))
