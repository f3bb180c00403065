"""Revenue ranking of the four standard single-object auctions under independent private values
(IPV), by the bidders' risk attitude.

- Dutch ≡ first-price sealed bid (strategically equivalent); English ≡ second-price (Vickrey) under
  IPV (bidding one's value is dominant in both, whatever the risk attitude).
- Risk neutral: revenue equivalence, all four tie.
- Risk averse: first-price/Dutch > second-price/English (averse bidders shade less).
- Risk seeking: second-price/English > first-price/Dutch.

`expected_revenue` gives the closed form with n bidders, values uniform on [0, 1] and CRRA utility
u(x) = x^ρ (ρ < 1 averse, ρ = 1 neutral, ρ > 1 seeking), where the first-price equilibrium bid
is b(v) = (n-1)/(n-1+ρ)·v."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal

RiskAttitude = Literal["averse", "neutral", "seeking"]
FORMATS: tuple[str, ...] = ("first_price", "dutch", "second_price", "english")
STRATEGIC_CLASS = {"first_price": "pay_your_bid", "dutch": "pay_your_bid", "second_price": "pay_second", "english": "pay_second"}

_FORMAT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("second_price", re.compile(r"second[- ]price|vickrey", re.I)),
    ("first_price", re.compile(r"first[- ]price|pay[- ]as[- ]bid|highest[- ]price sealed", re.I)),
    ("dutch", re.compile(r"\bdutch\b|descending[- ](price|clock|bid)|clock auction with falling", re.I)),
    ("english", re.compile(r"\benglish\b|ascending[- ](price|bid|clock)|open[- ]outcry|open[- ]ascending", re.I)),
]


def canonical_format(text: str) -> str | None:
    """Map an auction name to one of FORMATS; None for anything else (all-pay, lottery, reverse…)."""
    if re.search(r"all[- ]pay|lottery|reverse|walrasian|double|combinatorial|japanese", text, re.I):
        return None
    for name, pattern in _FORMAT_PATTERNS:
        if pattern.search(text):
            return name
    return None


def revenue_ranking(risk: RiskAttitude) -> list[set[str]]:
    """Tiers of formats from highest to lowest expected revenue."""
    if risk == "neutral":
        return [set(FORMATS)]
    if risk == "averse":
        return [{"first_price", "dutch"}, {"second_price", "english"}]
    if risk == "seeking":
        return [{"second_price", "english"}, {"first_price", "dutch"}]
    raise ValueError(f"risk attitude must be averse, neutral or seeking, got {risk!r}")


def highest_revenue_formats(risk: RiskAttitude) -> set[str]:
    """The formats that maximise expected revenue for this risk attitude."""
    return revenue_ranking(risk)[0]


def risk_attitude_of_rho(rho: Fraction) -> RiskAttitude:
    """CRRA exponent → attitude."""
    if rho <= 0:
        raise ValueError(f"CRRA exponent must be positive, got {rho}")
    return "averse" if rho < 1 else "seeking" if rho > 1 else "neutral"


def first_price_bid(value: Fraction, n: int, rho: Fraction) -> Fraction:
    """Symmetric equilibrium bid in a first-price (or Dutch) auction, U[0,1] values, CRRA ρ."""
    if n < 2:
        raise ValueError(f"need at least two bidders, got {n}")
    return Fraction(n - 1) / (n - 1 + Fraction(rho)) * Fraction(value)


def expected_revenue(fmt: str, n: int, rho: Fraction) -> Fraction:
    """Seller's expected revenue with n bidders, U[0,1] private values, CRRA exponent ρ."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown auction format {fmt!r}; one of {FORMATS}")
    if n < 2:
        raise ValueError(f"need at least two bidders, got {n}")
    if STRATEGIC_CLASS[fmt] == "pay_second":
        return Fraction(n - 1, n + 1)  # E[second-highest value]
    return Fraction(n - 1) / (n - 1 + Fraction(rho)) * Fraction(n, n + 1)  # bid factor × E[max value]
