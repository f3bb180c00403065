"""Market solvers against textbook closed forms, plus hypothesis properties."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.econ import markets

# ------------------------------------------------------------------ textbook examples


def test_cournot_duopoly_textbook():
    # P = 100 - Q, c = 10: q_i = 30, P = 40, profit 900 each
    eq = markets.cournot(100, 1, [10, 10])
    assert eq.quantities == (30, 30) and eq.price == 40 and eq.profits == (900, 900)


def test_cournot_asymmetric_costs():
    # q1 = (a - 2c1 + c2)/3b, q2 = (a - 2c2 + c1)/3b
    eq = markets.cournot(120, 2, [20, 30])
    assert eq.quantities == (F(120 - 40 + 30, 6), F(120 - 60 + 20, 6))
    assert eq.price == 120 - 2 * sum(eq.quantities)


def test_cournot_without_interior_equilibrium_raises():
    with pytest.raises(ValueError, match="interior"):
        markets.cournot(50, 1, [10, 45])


def test_monopoly_and_competitive():
    m = markets.monopoly(100, 1, 20)
    assert m.total_quantity == 40 and m.price == 60 and m.profits == (1600,)
    assert markets.competitive_quantity(100, 1, 20) == 80


def test_stackelberg_textbook():
    # P = 100 - Q, c = 10: leader 45, follower 22.5, P = 32.5
    eq = markets.stackelberg(100, 1, 10, 10)
    assert eq.quantities == (45, F(45, 2)) and eq.price == F(65, 2)
    assert eq.profits == (F(2025, 2), F(2025, 4))


def test_stackelberg_follower_best_responds():
    eq = markets.stackelberg(200, 2, 15, 25)
    ql, qf = eq.quantities
    assert qf == markets.best_response_quantity(200, 2, 25, ql)


def test_bertrand_equal_and_unequal_costs():
    eq = markets.bertrand(100, 1, [10, 10])
    assert eq.price == 10 and eq.profits == (0, 0) and eq.quantities == (45, 45)
    eq = markets.bertrand(100, 1, [10, 20])
    assert eq.price == 20 and eq.quantities == (80, 0) and eq.profits == (800, 0)
    # rival cost above the monopoly price: the low-cost firm charges its monopoly price
    eq = markets.bertrand(100, 1, [10, 90])
    assert eq.price == 55


def test_rubinstein_textbook():
    assert markets.rubinstein(1, F(9, 10), F(9, 10)) == (F(10, 19), F(9, 19))
    assert markets.rubinstein(100, 0, F(1, 2)) == (50, 50)


def test_finite_bargaining_backwards():
    assert markets.ultimatum_split(10, 1, F(1, 2), F(1, 2)) == (10, 0)
    assert markets.ultimatum_split(10, 2, F(1, 2), F(1, 2)) == (5, 5)
    p, r = markets.ultimatum_split(1, 3, F(1, 2), F(1, 3))
    assert p == 1 - F(1, 3) * (1 - F(1, 2) * 1) and p + r == 1


def test_market_clearing_and_tax_textbook():
    eq = markets.market_clearing(100, 2, 10, 3)
    assert (eq.price, eq.quantity) == (18, 64)
    tax = markets.tax_incidence(100, 2, 10, 3, 5)
    assert tax.buyer_price == 21 and tax.seller_price == 16 and tax.quantity == 58
    assert (tax.buyer_burden, tax.seller_burden) == (3, 2)
    assert tax.revenue == 290 and tax.deadweight_loss == 15
    assert tax.buyer_share == F(3, 5)


def test_tax_that_closes_the_market_raises():
    with pytest.raises(ValueError, match="closes the market"):
        markets.tax_incidence(60, 4, -30, 5, 9)  # Q falls from 20 to 0


@pytest.mark.parametrize("bad", [dict(a=0, b=1), dict(a=10, b=0)])
def test_bad_demand_rejected(bad):
    with pytest.raises(ValueError):
        markets.cournot(bad["a"], bad["b"], [1])


# ------------------------------------------------------------------ properties
costs = st.integers(0, 40)
slopes = st.integers(1, 5).map(F)


@settings(max_examples=200, deadline=None)
@given(a=st.integers(60, 500), b=slopes, c=costs, n=st.integers(1, 8))
def test_cournot_total_between_monopoly_and_competition(a, b, c, n):
    eq = markets.cournot(a, b, [c] * n)
    mono, comp = markets.monopoly(a, b, c).total_quantity, markets.competitive_quantity(a, b, c)
    assert mono <= eq.total_quantity < comp
    assert (eq.total_quantity == mono) == (n == 1)
    # each quantity is a best response to the others
    for q in eq.quantities:
        assert q == markets.best_response_quantity(a, b, c, eq.total_quantity - q)


@settings(max_examples=200, deadline=None)
@given(a=st.integers(100, 500), b=slopes, c=costs, extra=st.integers(0, 10))
def test_stackelberg_leader_at_least_cournot(a, b, c, extra):
    st_eq = markets.stackelberg(a, b, c, c + extra)
    co_eq = markets.cournot(a, b, [c, c + extra])
    assert st_eq.quantities[0] >= co_eq.quantities[0]
    assert st_eq.quantities[1] <= co_eq.quantities[1]
    assert st_eq.total_quantity >= co_eq.total_quantity and st_eq.price <= co_eq.price
    assert st_eq.profits[0] >= co_eq.profits[0]


@settings(max_examples=200, deadline=None)
@given(q=st.integers(100, 300), p=st.integers(10, 80), b=slopes, d=slopes, t=st.integers(1, 9))
def test_incidence_shares_sum_to_tax(q, p, b, d, t):
    a, c = q + b * p, q - d * p
    tax = markets.tax_incidence(a, b, c, d, t)
    assert tax.buyer_burden + tax.seller_burden == t
    assert tax.buyer_price - tax.seller_price == t
    assert tax.buyer_share == d / (b + d)
    assert tax.deadweight_loss == F(t * t) * b * d / (2 * (b + d))


@settings(max_examples=200, deadline=None)
@given(d1=st.fractions(0, F(9, 10), max_denominator=100), d2=st.fractions(0, F(9, 10), max_denominator=100))
def test_rubinstein_properties(d1, d2):
    first, second = markets.rubinstein(1, d1, d2)
    assert first + second == 1 and 0 <= second <= d2
    # the responder is indifferent between accepting and proposing next period
    next_share = markets.rubinstein(1, d2, d1)[0]
    assert second == d2 * next_share
    # finite horizon converges to Rubinstein's split
    assert abs(markets.ultimatum_split(1, 400, d1, d2)[0] - first) < F(1, 10**6)


@settings(max_examples=100, deadline=None)
@given(q=st.integers(20, 300), p=st.integers(5, 80), b=slopes, d=slopes, shift=st.integers(1, 30))
def test_demand_increase_raises_price_and_quantity(q, p, b, d, shift):
    a, c = q + b * p, q - d * p
    before, after = markets.market_clearing(a, b, c, d), markets.market_clearing(a + shift, b, c, d)
    assert after.price > before.price and after.quantity > before.quantity
    assert after.price - before.price == F(shift) / (b + d)
