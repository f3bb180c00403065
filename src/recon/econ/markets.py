"""Textbook market models with linear demand, solved exactly with `Fraction`.

Inverse demand P = a − b·Q for oligopoly; demand Qd = a − b·P and supply Qs = c + d·P for
competitive markets. Constant marginal costs."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

Number = int | Fraction


def _frac(x: Number) -> Fraction:
    return Fraction(x)


def _check_demand(a: Number, b: Number) -> None:
    if a <= 0 or b <= 0:
        raise ValueError(f"need a demand intercept a > 0 and slope b > 0, got a={a}, b={b}")


@dataclass(frozen=True)
class Oligopoly:
    """Equilibrium quantities (per firm), price and profits (per firm)."""

    quantities: tuple[Fraction, ...]
    price: Fraction
    profits: tuple[Fraction, ...]

    @property
    def total_quantity(self) -> Fraction:
        return sum(self.quantities, Fraction(0))


def monopoly(a: Number, b: Number, c: Number) -> Oligopoly:
    """Single firm: Q = (a − c) / 2b."""
    _check_demand(a, b)
    if not 0 <= c < a:
        raise ValueError(f"need 0 ≤ marginal cost < a, got c={c}")
    q = (_frac(a) - c) / (2 * _frac(b))
    p = a - b * q
    return Oligopoly((q,), p, ((p - c) * q,))


def competitive_quantity(a: Number, b: Number, c: Number) -> Fraction:
    """Price equals marginal cost: Q = (a − c) / b."""
    _check_demand(a, b)
    return (_frac(a) - c) / _frac(b)


def cournot(a: Number, b: Number, costs: Sequence[Number]) -> Oligopoly:
    """Nash equilibrium in quantities: q_i = (a − (n+1)c_i + Σc_j) / ((n+1) b). Raises when a firm
    would produce a non-positive quantity (the interior equilibrium does not exist)."""
    _check_demand(a, b)
    n = len(costs)
    if n < 1 or any(c < 0 for c in costs):
        raise ValueError(f"need at least one firm with non-negative cost, got {list(costs)}")
    total_cost = sum(_frac(c) for c in costs)
    qs = tuple((_frac(a) - (n + 1) * _frac(c) + total_cost) / ((n + 1) * _frac(b)) for c in costs)
    if any(q <= 0 for q in qs):
        raise ValueError(f"no interior Cournot equilibrium: quantities {qs}")
    p = a - b * sum(qs)
    return Oligopoly(qs, p, tuple((p - c) * q for q, c in zip(qs, costs)))


def stackelberg(a: Number, b: Number, c_leader: Number, c_follower: Number) -> Oligopoly:
    """Leader commits first, follower best-responds q_f = (a − c_f − b q_l) / 2b; then
    q_l = (a − 2c_l + c_f) / 2b and q_f = (a + 2c_l − 3c_f) / 4b. Quantities (leader, follower)."""
    _check_demand(a, b)
    a, b, cl, cf = _frac(a), _frac(b), _frac(c_leader), _frac(c_follower)
    ql = (a - 2 * cl + cf) / (2 * b)
    qf = (a + 2 * cl - 3 * cf) / (4 * b)
    if ql <= 0 or qf <= 0:
        raise ValueError(f"no interior Stackelberg equilibrium: leader {ql}, follower {qf}")
    p = a - b * (ql + qf)
    return Oligopoly((ql, qf), p, ((p - cl) * ql, (p - cf) * qf))


def best_response_quantity(a: Number, b: Number, c: Number, others: Number) -> Fraction:
    """Cournot best response to the others' total quantity (0 if unprofitable)."""
    return max(Fraction(0), (_frac(a) - c - b * _frac(others)) / (2 * _frac(b)))


def bertrand(a: Number, b: Number, costs: Sequence[Number]) -> Oligopoly:
    """Homogeneous-good price competition, demand Q = (a − P)/b, lowest price serves the market
    (split equally on a tie). Equal lowest costs: P = c, zero profit. A unique lowest-cost firm
    prices at the second-lowest cost (the limit of undercutting it), or at its monopoly price if that
    is lower, and serves everyone."""
    _check_demand(a, b)
    costs_f = [_frac(c) for c in costs]
    if len(costs_f) < 2 or any(c < 0 or c >= a for c in costs_f):
        raise ValueError(f"need two or more firms with 0 ≤ cost < a, got {list(costs)}")
    low = min(costs_f)
    lowest = [i for i, c in enumerate(costs_f) if c == low]
    if len(lowest) > 1:
        price = low
    else:
        second = min(c for i, c in enumerate(costs_f) if i != lowest[0])
        price = min(second, (_frac(a) + low) / 2)
    q_total = (_frac(a) - price) / _frac(b)
    qs = tuple(q_total / len(lowest) if i in lowest else Fraction(0) for i in range(len(costs_f)))
    return Oligopoly(qs, price, tuple((price - c) * q for q, c in zip(qs, costs_f)))


def rubinstein(pie: Number, delta_proposer: Number, delta_responder: Number) -> tuple[Fraction, Fraction]:
    """Subgame-perfect split of alternating-offers bargaining with infinite horizon: the first
    proposer gets (1 − δ_r)/(1 − δ_p δ_r) of the pie, agreed immediately. Returns (proposer, responder)."""
    dp, dr = _frac(delta_proposer), _frac(delta_responder)
    if pie <= 0 or not (0 <= dp < 1 and 0 <= dr < 1):
        raise ValueError(f"need pie > 0 and discount factors in [0, 1), got {pie}, {dp}, {dr}")
    share = (1 - dr) / (1 - dp * dr)
    return share * pie, (1 - share) * pie


def ultimatum_split(pie: Number, rounds: int, delta_proposer: Number, delta_responder: Number) -> tuple[Fraction, Fraction]:
    """Finite-horizon alternating offers (the last proposer takes all), solved backwards.
    Returns the first proposer's and responder's payoffs."""
    if rounds < 1:
        raise ValueError(f"need at least one round, got {rounds}")
    dp, dr = _frac(delta_proposer), _frac(delta_responder)
    # share of the current proposer when `k` rounds remain, in units of the pie at that round
    share = Fraction(1)
    for k in range(2, rounds + 1):
        # the proposer with k rounds left is the responder of the next round: δ of next responder share
        delta_next_responder = dr if (rounds - k) % 2 == 0 else dp
        share = 1 - delta_next_responder * share
    return share * pie, (1 - share) * pie


@dataclass(frozen=True)
class MarketEquilibrium:
    price: Fraction
    quantity: Fraction


def market_clearing(a: Number, b: Number, c: Number, d: Number) -> MarketEquilibrium:
    """Qd = a − bP = Qs = c + dP: P* = (a − c)/(b + d). Raises if P* or Q* is not positive."""
    if b <= 0 or d <= 0:
        raise ValueError(f"need demand slope b > 0 and supply slope d > 0, got b={b}, d={d}")
    p = (_frac(a) - c) / (_frac(b) + d)
    q = a - b * p
    if p <= 0 or q <= 0:
        raise ValueError(f"no positive equilibrium: P={p}, Q={q}")
    return MarketEquilibrium(p, q)


@dataclass(frozen=True)
class TaxIncidence:
    """A per-unit tax t on sellers in the market Qd = a − bP, Qs = c + d(P − t)."""

    buyer_price: Fraction
    seller_price: Fraction
    quantity: Fraction
    buyer_burden: Fraction  # rise in the buyers' price
    seller_burden: Fraction  # fall in the sellers' net price
    revenue: Fraction
    deadweight_loss: Fraction

    @property
    def buyer_share(self) -> Fraction:
        return self.buyer_burden / (self.buyer_burden + self.seller_burden)


def tax_incidence(a: Number, b: Number, c: Number, d: Number, t: Number) -> TaxIncidence:
    """Buyers bear d/(b+d) of the tax and sellers b/(b+d); DWL = ½·t·ΔQ = t²bd / 2(b+d).
    (The statutory side does not matter.)"""
    if t <= 0:
        raise ValueError(f"need a positive per-unit tax, got {t}")
    before = market_clearing(a, b, c, d)
    b_, d_, t_ = _frac(b), _frac(d), _frac(t)
    pb = (_frac(a) - c + d_ * t_) / (b_ + d_)
    q = a - b_ * pb
    if q <= 0 or pb - t_ <= 0:
        raise ValueError(f"the tax {t} closes the market (Q={q}, seller price {pb - t_})")
    return TaxIncidence(
        buyer_price=pb,
        seller_price=pb - t_,
        quantity=q,
        buyer_burden=pb - before.price,
        seller_burden=before.price - (pb - t_),
        revenue=t_ * q,
        deadweight_loss=t_ * (before.quantity - q) / 2,
    )
