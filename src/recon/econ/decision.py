"""Consistency checks from decision theory, used to derive the rational answer of the behavioural
categories: exponential discounting (time inconsistency), expected utility under a common ratio
(certainty effect) and reference independence (endowment effect)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal


# ----------------------------------------------------------------- exponential discounting
def discounted_value(amount: Fraction, delay: int, delta: Fraction) -> Fraction:
    """Present value `amount · δ^delay` under exponential discounting."""
    if not 0 < delta <= 1:
        raise ValueError(f"discount factor must be in (0, 1], got {delta}")
    return Fraction(amount) * Fraction(delta) ** delay


def discount_threshold(sooner: Fraction, later: Fraction) -> Fraction:
    """Waiting for `later` instead of `sooner` is preferred iff δ^gap ≥ sooner / later."""
    if not 0 < sooner < later:
        raise ValueError(f"need 0 < sooner amount < later amount, got {sooner} and {later}")
    return Fraction(sooner) / Fraction(later)


def exponential_choice(
    sooner: Fraction, later: Fraction, start: int, gap: int, delta: Fraction
) -> Literal["sooner", "later", "indifferent"]:
    """Choice between `sooner` at `start` and `later` at `start + gap` for an exponential discounter."""
    a = discounted_value(sooner, start, delta)
    b = discounted_value(later, start + gap, delta)
    return "sooner" if a > b else "later" if b > a else "indifferent"


def time_consistent_choice(earlier_choice: Literal["sooner", "later"]) -> Literal["sooner", "later"]:
    """Stationarity: shifting both payments by the same delay multiplies both values by δ^t, so an
    exponential discounter repeats the earlier choice at any horizon."""
    if earlier_choice not in ("sooner", "later"):
        raise ValueError(f"earlier choice must be 'sooner' or 'later', got {earlier_choice!r}")
    return earlier_choice


# ----------------------------------------------------------------- expected utility
@dataclass(frozen=True)
class Lottery:
    """A two-outcome lottery: `payoff` with probability `prob`, otherwise 0."""

    payoff: Fraction
    prob: Fraction

    def __post_init__(self) -> None:
        if not 0 <= self.prob <= 1:
            raise ValueError(f"probability must be in [0, 1], got {self.prob}")
        if self.payoff < 0:
            raise ValueError(f"payoff must be non-negative, got {self.payoff}")


def dominates(a: Lottery, b: Lottery) -> bool:
    """First-order stochastic dominance of a over b (both pay 0 otherwise): every increasing
    utility prefers a."""
    a_zero, b_zero = a.payoff == 0 or a.prob == 0, b.payoff == 0 or b.prob == 0
    if a_zero:
        return False
    if b_zero:
        return True
    return a.payoff >= b.payoff and a.prob >= b.prob and (a.payoff, a.prob) != (b.payoff, b.prob)


def eu_consistent_choice(
    certain: Fraction, risky: Lottery, chose_certain: bool, option_a: Lottery, option_b: Lottery, tolerance: Fraction = Fraction(0)
) -> tuple[Literal["a", "b"] | None, str]:
    """The option an expected-utility maximiser with increasing utility must pick, given that it
    preferred `certain` (or `risky`) before, with the reason; None when EU does not decide.

    Order of arguments: first-order dominance decides alone; otherwise the pair must be the
    common-ratio scaling of the earlier choice (probabilities equal up to `tolerance`, for
    rounded percentages), and then independence repeats the earlier choice."""
    if dominates(option_a, option_b):
        return "a", "the first lottery first-order stochastically dominates the second"
    if dominates(option_b, option_a):
        return "b", "the second lottery first-order stochastically dominates the first"
    for safe, other, name_safe, name_other in ((option_a, option_b, "a", "b"), (option_b, option_a, "b", "a")):
        if safe.payoff == certain and other.payoff == risky.payoff and safe.prob > 0:
            r = safe.prob
            if abs(other.prob - r * risky.prob) <= tolerance:
                pick = name_safe if chose_certain else name_other
                return pick, f"common ratio r={float(r):.4g}: independence repeats the earlier choice"
    return None, "the new lotteries are not a common-ratio scaling of the earlier pair and none dominates"


# ----------------------------------------------------------------- reference independence
def reference_independent_trade(kept_a_over_b: bool) -> bool:
    """Holding A and refusing B reveals A ≿ B (strictly, when the choice is taken as strict), so
    holding B and offered A a reference-independent agent accepts; the converse for an accepted
    trade. Returns whether the agent trades in the mirrored situation."""
    return kept_a_over_b
