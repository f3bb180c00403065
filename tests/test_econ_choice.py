"""Social choice, decision-theory and auction solvers: textbook cases and properties."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.econ import auctions, decision, social_choice as sc

# ------------------------------------------------------------------ social choice


def test_condorcet_paradox_has_cycle_and_no_winner():
    ballots = [(1, "ABC"), (1, "BCA"), (1, "CAB")]
    assert sc.condorcet_winner(ballots, "ABC") is None
    cycle = sc.majority_cycle(ballots, "ABC")
    assert cycle is not None and sorted(cycle) == ["A", "B", "C"]


def test_condorcet_winner_differs_from_plurality_winner():
    # A has the most first places, but C beats A and B head to head
    ballots = [(40, "ACB"), (35, "BCA"), (25, "CBA")]
    assert sc.plurality_scores(ballots, "ABC") == {"A": 40, "B": 35, "C": 25}
    assert sc.winners(sc.plurality_scores(ballots, "ABC")) == ["A"]
    support = sc.pairwise_support(ballots, "ABC")
    assert support[("B", "A")] == 60 and support[("C", "A")] == 60 and support[("C", "B")] == 65
    assert sc.condorcet_winner(ballots, "ABC") == "C"


def test_borda_with_partial_ballots_ties_last():
    # 4 candidates; unranked C and D share points 0 and 1 equally
    scores = sc.borda_scores([(2, "AB")], "ABCD")
    assert scores == {"A": 6, "B": 4, "C": 1, "D": 1}


def test_partial_ballot_rule_ranked_beats_unranked():
    support = sc.pairwise_support([(5, "A"), (3, "BC")], "ABC")
    assert support[("A", "B")] == 5 and support[("B", "A")] == 3
    assert support[("B", "C")] == 3 and support[("C", "B")] == 0  # unranked B, C tie on the first ballot


def test_bad_ballots_rejected():
    with pytest.raises(ValueError):
        sc.pairwise_support([(1, "AAB")], "AB")
    with pytest.raises(ValueError):
        sc.pairwise_support([(1, "AZ")], "AB")


rankings = st.permutations("ABCD").map(lambda p: "".join(p))
ballots_strategy = st.lists(st.tuples(st.integers(1, 30), rankings), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(ballots=ballots_strategy)
def test_condorcet_winner_wins_two_candidate_plurality(ballots):
    winner = sc.condorcet_winner(ballots, "ABCD")
    if winner is None:
        return
    for rival in "ABCD":
        if rival == winner:
            continue
        restricted = [(n, tuple(c for c in r if c in (winner, rival))) for n, r in ballots]
        assert sc.winners(sc.plurality_scores(restricted, (winner, rival))) == [winner]


@settings(max_examples=300, deadline=None)
@given(ballots=ballots_strategy)
def test_winner_or_cycle_or_tie(ballots):
    winner = sc.condorcet_winner(ballots, "ABCD")
    cycle = sc.majority_cycle(ballots, "ABCD")
    assert not (winner and cycle and winner in cycle)
    total = sum(n for n, _ in ballots)
    assert sum(sc.borda_scores(ballots, "ABCD").values()) == total * 6


# ------------------------------------------------------------------ decision theory


def test_exponential_discounting_is_stationary():
    for delta in (F(9, 10), F(99, 100), F(999, 1000)):
        for start in (0, 30, 365):
            now = decision.exponential_choice(272, 281, 0, 1, delta)
            later = decision.exponential_choice(272, 281, start, 1, delta)
            assert now == later == decision.time_consistent_choice(now)
    assert decision.discount_threshold(F(272), F(281)) == F(272, 281)


def test_common_ratio_and_dominance():
    # Allais/Kahneman-Tversky: sure 3000 vs 4000@80%; scaled by r = 1/4
    safe, risky = decision.Lottery(F(3000), F(1, 4)), decision.Lottery(F(4000), F(1, 5))
    pick, _ = decision.eu_consistent_choice(F(3000), decision.Lottery(F(4000), F(4, 5)), True, safe, risky)
    assert pick == "a"
    pick, _ = decision.eu_consistent_choice(F(3000), decision.Lottery(F(4000), F(4, 5)), False, safe, risky)
    assert pick == "b"
    # a lottery paying more with higher probability dominates whatever came before
    pick, why = decision.eu_consistent_choice(F(1), decision.Lottery(F(2), F(1, 2)), True, decision.Lottery(F(1), F(1, 10)), decision.Lottery(F(21), F(3, 5)))
    assert pick == "b" and "dominates" in why
    # not a common-ratio pair: EU is silent
    pick, _ = decision.eu_consistent_choice(F(1), decision.Lottery(F(2), F(1, 2)), True, decision.Lottery(F(1), F(7, 10)), decision.Lottery(F(26), F(1, 4)))
    assert pick is None


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 100), extra=st.integers(1, 100), p=st.fractions(F(1, 100), F(99, 100)), r=st.fractions(F(1, 100), 1),
       rho=st.fractions(F(1, 10), 3))
def test_common_ratio_choice_matches_any_power_utility(c, extra, p, r, rho):
    """For u(x) = x^rho (checked numerically), if sure c ≥ (x, p) then (c, r) ≥ (x, rp) and vice versa."""
    x = c + extra
    u = lambda v: float(v) ** float(rho)  # noqa: E731
    chose_certain = u(c) >= float(p) * u(x)
    pick, _ = decision.eu_consistent_choice(F(c), decision.Lottery(F(x), p), chose_certain, decision.Lottery(F(c), r), decision.Lottery(F(x), r * p))
    assert pick == ("a" if chose_certain else "b")


def test_reference_independence():
    assert decision.reference_independent_trade(kept_a_over_b=True) is True
    assert decision.reference_independent_trade(kept_a_over_b=False) is False


# ------------------------------------------------------------------ auctions


def test_revenue_ranking_tiers():
    assert auctions.highest_revenue_formats("averse") == {"first_price", "dutch"}
    assert auctions.highest_revenue_formats("seeking") == {"second_price", "english"}
    assert auctions.highest_revenue_formats("neutral") == set(auctions.FORMATS)
    assert auctions.canonical_format("Vickrey auction") == "second_price"
    assert auctions.canonical_format("Open outcry auction") == "english"
    assert auctions.canonical_format("All-pay auction") is None


def test_revenue_equivalence_under_risk_neutrality():
    for n in range(2, 8):
        values = {auctions.expected_revenue(f, n, F(1)) for f in auctions.FORMATS}
        assert values == {F(n - 1, n + 1)}


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 20), rho=st.fractions(F(1, 20), 5))
def test_closed_form_revenue_follows_the_ranking(n, rho):
    attitude = auctions.risk_attitude_of_rho(rho)
    revenue = {f: auctions.expected_revenue(f, n, rho) for f in auctions.FORMATS}
    top = auctions.highest_revenue_formats(attitude)
    best = max(revenue.values())
    assert {f for f, v in revenue.items() if v == best} == top
    assert revenue["dutch"] == revenue["first_price"] and revenue["english"] == revenue["second_price"]
    assert auctions.first_price_bid(1, n, rho) <= 1
