"""Exact and near-duplicate detection within and across problem sets.

Matrix, Bayesian and tree items are keyed by their canonical game: the payoffs up to relabelling the
players and their strategies (rows/columns permuted, the game transposed with the players swapped;
the states of a Bayesian game in any order, each with its probability; the actions of a tree in any
order), whatever question is asked about it (a game seen under one category is the same game under
another). For them the exact and the near key are the same: two different games of one shape are not
duplicates. Every other item is keyed by its question text without the options — exactly (case and
whitespace aside) and with every number masked (published items re-posted with new numbers).
The options never enter a key, so reworded options cannot hide a repeated question."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from fractions import Fraction
from itertools import permutations
from typing import Any, Callable, Iterable

from recon.data.problem import Problem

_NUMBER = re.compile(r"[-+]?\$?\d[\d,]*(?:\.\d+)?%?")


def normalize_question(text: str) -> str:
    """Case- and whitespace-insensitive form of a text."""
    return " ".join(text.casefold().split())


def mask_numbers(text: str) -> str:
    """`normalize_question` with every number (money, percentages, decimals) replaced by `#`."""
    return _NUMBER.sub("#", normalize_question(text))


# ------------------------------------------------------------------ canonical games

Cell = tuple[Fraction, ...]
Table = list[list[Cell]]  # rows × columns of per-player payoff tuples


def _orientations(tables: list[Table]) -> list[list[Table]]:
    """The tables as given and transposed with the two players swapped."""
    swapped = [[[tuple(reversed(t[r][c])) for r in range(len(t))] for c in range(len(t[0]))] for t in tables]
    return [tables, swapped]


def canonical_tables(tables: list[Table], weights: list[Fraction] | None = None) -> tuple:
    """The smallest form of one or more same-shaped bimatrix tables (the states of a Bayesian game,
    with their probabilities) over every row permutation, column order and player swap applied to all
    tables at once, and over the order of the tables. For a fixed row order, sorting the columns gives
    the smallest column order, so only row permutations are enumerated."""
    weights = weights or [Fraction(1)] * len(tables)
    best = None
    for oriented in _orientations(tables):
        n_rows, n_cols = len(oriented[0]), len(oriented[0][0])
        for states in permutations(range(len(oriented))):
            for rows in permutations(range(n_rows)):
                columns = sorted(tuple(tuple(oriented[s][r][c] for r in rows) for s in states) for c in range(n_cols))
                form = (n_rows, n_cols, tuple(weights[s] for s in states), tuple(columns))
                if best is None or form < best:
                    best = form
    return best


def _tables_of_game(game) -> Table:
    a, b = game.payoff_arrays()
    return [[(Fraction(a[r, c]), Fraction(b[r, c])) for c in range(a.shape[1])] for r in range(a.shape[0])]


def canonical_tree(node, swap: bool = False) -> tuple:
    """A game tree up to the names and order of the actions (and, with `swap`, the players exchanged)."""
    from recon.econ.extensive import Leaf

    if isinstance(node, Leaf):
        return ("leaf", tuple(reversed(node.payoffs)) if swap else node.payoffs)
    return ("move", 1 - node.player if swap else node.player, tuple(sorted(canonical_tree(c, swap) for c in node.children.values())))


def _matrix_key(text: str) -> Any:
    from recon.data.categories.matrix import parse_matrix_game

    game = parse_matrix_game(text)
    return canonical_tables([_tables_of_game(game)]) if game.n_players == 2 and len(game.shape) == 2 else None


def _bayes_key(text: str) -> Any:
    from recon.data.categories.matrix import parse_bayes_nash

    states, prior = parse_bayes_nash(text)
    return canonical_tables([_tables_of_game(g) for g in states], list(prior))


def _tree_key(text: str) -> Any:
    from recon.data.categories.sequential import parse_tree_listing

    tree = parse_tree_listing(text)
    return None if tree is None else min(canonical_tree(tree), canonical_tree(tree, swap=True))


# The category readers of the game inside an item's text; a text they cannot read is keyed as prose.
GAME_READERS: dict[str, Callable[[str], Any]] = {
    "pure_nash": _matrix_key,
    "pte": _matrix_key,
    "bayes_nash": _bayes_key,
    "backward_induction": _tree_key,
}


def game_key(problem: Problem) -> str | None:
    """The canonical game of a matrix, Bayesian or tree item as text; None for prose items."""
    reader = GAME_READERS.get(problem.category)
    if reader is None:
        return None
    try:
        form = reader(problem.question)
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError):
        return None
    return None if form is None else "game:" + repr(form)


def item_key(problem: Problem, near: bool = False) -> str:
    """The identity of an item for duplicate detection: its canonical game, else its question text
    without options (numbers masked with `near`, except for generated items: their numbers are the
    problem — the solver verified each — so two draws of one template are different items)."""
    game = game_key(problem)
    if game is not None:  # the game, whatever is asked about it: a pure_nash and a pte item of one matrix are one game
        return game
    masked = near and problem.source != "generated"
    return problem.category + "\n" + (mask_numbers(problem.question) if masked else normalize_question(problem.question))


def unlabelled_keys(question: str) -> set[str]:
    """The keys of a question whose category is unknown (a prompt/completion row): its canonical game
    under every reader that reads it, else its exact and numbers-masked text."""
    games = set()
    for reader in set(GAME_READERS.values()):
        try:
            form = reader(question)
        except (ValueError, TypeError, IndexError, KeyError, ArithmeticError):
            continue
        if form is not None:
            games.add("game:" + repr(form))
    return games or {normalize_question(question), mask_numbers(question)}


def item_keys(problems: Iterable[Problem]) -> tuple[set[str], set[str]]:
    """The exact and the near keys of a set of items."""
    problems = list(problems)
    return {item_key(p) for p in problems}, {item_key(p, near=True) for p in problems}


def duplicates_within(problems: list[Problem], near: bool = False) -> int:
    """How many items repeat an earlier item of the same set."""
    counts = Counter(item_key(p, near) for p in problems)
    return sum(c - 1 for c in counts.values())


def overlapping(candidates: Iterable[Problem], reference: Iterable[Problem], near: bool = False) -> list[Problem]:
    """The candidates whose key also occurs in `reference`."""
    keys = {item_key(p, near) for p in reference}
    return [p for p in candidates if item_key(p, near) in keys]


def without_overlap(problems: Iterable[Problem], reference: Iterable[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(kept, removed): the items sharing no exact or near key with `reference`, and the others."""
    exact, near = item_keys(reference)
    kept, removed = [], []
    for p in problems:
        (removed if item_key(p) in exact or item_key(p, near=True) in near else kept).append(p)
    return kept, removed


def contamination_report(sets: dict[str, list[Problem]]) -> dict:
    """Duplicate counts within each set, and for each ordered pair `a in b` the items of `a` that
    also occur in `b`, overall and per category."""
    within = {
        name: {"items": len(ps), "exact": duplicates_within(ps), "near": duplicates_within(ps, near=True)}
        for name, ps in sets.items()
    }
    across = {}
    for (a, pa), (b, pb) in permutations(sets.items(), 2):
        exact, near = overlapping(pa, pb), overlapping(pa, pb, near=True)
        per_category: dict[str, dict[str, int]] = defaultdict(lambda: {"exact": 0, "near": 0})
        for kind, found in (("exact", exact), ("near", near)):
            for p in found:
                per_category[p.category][kind] += 1
        across[f"{a} in {b}"] = {
            "items": len(pa),
            "exact": len(exact),
            "near": len(near),
            "per_category": dict(sorted(per_category.items())),
        }
    return {"within": within, "across": across}
