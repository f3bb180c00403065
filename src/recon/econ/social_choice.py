"""Voting rules on (possibly partial) ranked ballots, with exact arithmetic.

A ballot group is `(count, ranking)` where `ranking` lists candidates best first. Partial
ballots follow one stated rule: every ranked candidate beats every unranked one, and the
unranked candidates tie for last (no preference among them)."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from typing import Sequence

Ballot = tuple[int, Sequence[str]]


def _check(ballots: Sequence[Ballot], candidates: Sequence[str]) -> None:
    if len(set(candidates)) != len(candidates) or len(candidates) < 2:
        raise ValueError(f"need at least two distinct candidates, got {list(candidates)}")
    for count, ranking in ballots:
        if count < 0:
            raise ValueError(f"negative ballot count {count}")
        if len(set(ranking)) != len(ranking) or not set(ranking) <= set(candidates):
            raise ValueError(f"ballot {list(ranking)} repeats a candidate or names one not in {list(candidates)}")


def _rank_position(ranking: Sequence[str], candidate: str) -> int:
    """Position in the ballot; unranked candidates share the position after the last ranked one."""
    return ranking.index(candidate) if candidate in ranking else len(ranking)


def pairwise_support(ballots: Sequence[Ballot], candidates: Sequence[str]) -> dict[tuple[str, str], int]:
    """`support[(a, b)]`: voters who rank a strictly above b (unranked candidates tie last)."""
    _check(ballots, candidates)
    support = {(a, b): 0 for a in candidates for b in candidates if a != b}
    for count, ranking in ballots:
        for a, b in combinations(candidates, 2):
            pa, pb = _rank_position(ranking, a), _rank_position(ranking, b)
            if pa < pb:
                support[(a, b)] += count
            elif pb < pa:
                support[(b, a)] += count
    return support


def beats(ballots: Sequence[Ballot], candidates: Sequence[str]) -> dict[str, set[str]]:
    """The strict pairwise-majority relation: `beats[a]` holds every b that a defeats."""
    support = pairwise_support(ballots, candidates)
    return {a: {b for b in candidates if b != a and support[(a, b)] > support[(b, a)]} for a in candidates}


def condorcet_winner(ballots: Sequence[Ballot], candidates: Sequence[str]) -> str | None:
    """The candidate who beats every other one by strict pairwise majority, or None."""
    relation = beats(ballots, candidates)
    winners = [a for a in candidates if len(relation[a]) == len(candidates) - 1]
    return winners[0] if winners else None


def majority_cycle(ballots: Sequence[Ballot], candidates: Sequence[str]) -> list[str] | None:
    """A cycle a1 > a2 > … > a1 of strict pairwise majorities (shortest found first), or None."""
    relation = beats(ballots, candidates)
    for length in range(3, len(candidates) + 1):
        for start in candidates:
            stack: list[list[str]] = [[start]]
            while stack:
                path = stack.pop()
                if len(path) == length:
                    if start in relation[path[-1]]:
                        return path
                    continue
                stack.extend(path + [n] for n in sorted(relation[path[-1]]) if n not in path)
    return None


def plurality_scores(ballots: Sequence[Ballot], candidates: Sequence[str]) -> dict[str, int]:
    """First-place votes per candidate (an empty ballot counts for nobody)."""
    _check(ballots, candidates)
    scores = {c: 0 for c in candidates}
    for count, ranking in ballots:
        if ranking:
            scores[ranking[0]] += count
    return scores


def borda_scores(ballots: Sequence[Ballot], candidates: Sequence[str]) -> dict[str, Fraction]:
    """Borda points (m-1 for first … 0 for last); unranked candidates share the remaining
    bottom positions equally (tie last)."""
    _check(ballots, candidates)
    m = len(candidates)
    scores = {c: Fraction(0) for c in candidates}
    for count, ranking in ballots:
        for pos, c in enumerate(ranking):
            scores[c] += count * (m - 1 - pos)
        unranked = [c for c in candidates if c not in ranking]
        if unranked:
            k = len(unranked)
            share = Fraction((k - 1) * k, 2 * k)  # mean of points 0..k-1
            for c in unranked:
                scores[c] += count * share
    return scores


def winners(scores: dict[str, int] | dict[str, Fraction]) -> list[str]:
    """All candidates with the top score (several on a tie)."""
    top = max(scores.values())
    return [c for c, s in scores.items() if s == top]
