"""Bayes-Nash equilibrium when no player has private information: every player faces the same
common prior over payoff states, so the game is the prior-weighted expectation of the state tables."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from recon.econ.normal_form import NormalFormGame, Profile, pure_nash_equilibria, to_fraction


def _prior(prior: Sequence[Any], n_states: int) -> list[Fraction]:
    probs = [to_fraction(p) for p in prior]
    if len(probs) != n_states:
        raise ValueError(f"the prior needs one probability per state ({n_states}), got {len(probs)}")
    if any(p < 0 for p in probs) or sum(probs) != 1:
        raise ValueError(f"the prior must be non-negative and sum to 1, got {[str(p) for p in probs]}")
    return probs


def expected_game(states: Sequence[NormalFormGame], prior: Sequence[Any]) -> NormalFormGame:
    """The ex-ante game: each profile's payoffs averaged over the states with the common prior."""
    if not states:
        raise ValueError("expected_game needs at least one state")
    probs = _prior(prior, len(states))
    shape = states[0].shape
    if any(g.shape != shape for g in states):
        raise ValueError(f"every state needs the same shape, got {[g.shape for g in states]}")
    arrays = states[0].payoff_arrays()
    for prof in states[0].profiles():
        for i in range(len(arrays)):
            arrays[i][prof] = sum((p * g.utility(i, prof) for p, g in zip(probs, states)), Fraction(0))
    return NormalFormGame(arrays, states[0].labels)


def bayes_nash_pure(states: Sequence[NormalFormGame], prior: Sequence[Any]) -> list[Profile]:
    """Pure Bayes-Nash equilibria without private information: pure Nash equilibria of the expected game."""
    return pure_nash_equilibria(expected_game(states, prior))
