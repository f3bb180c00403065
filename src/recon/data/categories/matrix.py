"""Matrix-game categories: `pure_nash`, `pte` (ETH payoff matrices) and `bayes_nash` (STEER state tables).

The module has the shape every category family follows: **reading** turns a published item's text into
a game (raising `ParseError`), **solving** re-derives the answer with `recon.econ` and returns an
`AuditResult`, **rendering** draws fresh games and writes the prompt, options and worked solution;
registration at the end ties each category's audit and generator together."""

from __future__ import annotations

import ast
import random
import re
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from recon.data.categories import AuditResult, CategorySpec, register
from recon.data.categories.common import (
    MAX_TRIES,
    ParseError,
    decimals,
    fmt,
    labelled,
    make_option_problem,
    make_pairs_problem,
    max_scan,
    place_options,
    unparsed,
    verdict_for,
)
from recon.data.problem import Problem
from recon.econ.bayesian import expected_game
from recon.econ.normal_form import NormalFormGame, perfectly_transparent_trace, pure_nash_equilibria
from recon.grading.grade import parse_pairs


# ---------------------------------------------------------------------- reading


_MATRIX = re.compile(r"Player\s*([01])'s payoff matrix:\s*(\[\s*\[.*?\]\s*\])", re.S)


def parse_matrix_game(text: str) -> NormalFormGame:
    """The two payoff matrices of an ETH-games item (`Player 0's payoff matrix:\\n[[…], …]`)."""
    found = {int(k): m for k, m in _MATRIX.findall(text)}
    if set(found) != {0, 1}:
        raise ParseError("did not find both payoff matrices")
    try:
        a, b = (ast.literal_eval(found[k]) for k in (0, 1))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ParseError(f"payoff matrix is not a list literal ({exc})") from exc
    try:
        return NormalFormGame([a, b])
    except (ValueError, TypeError) as exc:
        raise ParseError(str(exc)) from exc


_PROB = re.compile(r"probability of state\s*(\d+)\s*is\s*(\d*\.?\d+)", re.I)


_STATE = re.compile(r"State\s*(\d+)\s*:\s*\n", re.I)


_CELL = re.compile(r"\(\s*(-?\d*\.?\d+)\s*,\s*(-?\d*\.?\d+)\s*\)")


def parse_bayes_nash(text: str) -> tuple[list[NormalFormGame], list[Fraction]]:
    """The state tables and the prior of a STEER Bayes-Nash item."""
    prior = {int(k): Fraction(v) for k, v in _PROB.findall(text)}
    starts = list(_STATE.finditer(text))
    if not prior or not starts:
        raise ParseError("no state probabilities or no state tables")
    states: dict[int, NormalFormGame] = {}
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        lines = [l for l in text[m.end():end].splitlines() if l.strip()]
        header, body = lines[0], [l for l in lines[1:] if _CELL.search(l)]
        col_labels = [c.strip() for c in re.split(r"\s{2,}", header.strip()) if c.strip()]
        row_labels = [l[: l.index("(")].strip() for l in body]
        cells = [[(Fraction(a), Fraction(b)) for a, b in _CELL.findall(l)] for l in body]
        if not cells or any(len(r) != len(col_labels) for r in cells):
            raise ParseError(f"state {m.group(1)}: table is not rectangular")
        states[int(m.group(1))] = NormalFormGame(
            [[[c[0] for c in r] for r in cells], [[c[1] for c in r] for r in cells]], [row_labels, col_labels])
    if sorted(states) != sorted(prior):
        raise ParseError(f"states {sorted(states)} but probabilities for {sorted(prior)}")
    if sum(prior.values()) != 1:
        raise ParseError(f"state probabilities sum to {float(sum(prior.values()))}, not 1")
    keys = sorted(states)
    return [states[k] for k in keys], [prior[k] for k in keys]


def _profile_of_option(option: str, game: NormalFormGame) -> tuple[int, int] | None:
    try:
        pair = ast.literal_eval(option.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not (isinstance(pair, tuple) and len(pair) == 2):
        return None
    try:
        return game.labels[0].index(pair[0]), game.labels[1].index(pair[1])
    except ValueError:
        return None


# ---------------------------------------------------------------------- solving


def format_pairs(cells: Sequence[Sequence[int]]) -> str:
    """`[[0, 1], [2, 2]]`, or `[]` for none."""
    return "[" + ", ".join(f"[{r}, {c}]" for r, c in cells) + "]"


def audit_pure_nash(problem: Problem) -> AuditResult:
    try:
        game = parse_matrix_game(problem.messages[-1]["content"])
    except ParseError as exc:
        return unparsed(str(exc))
    eqs = pure_nash_equilibria(game)
    answer = format_pairs(eqs)
    gold = parse_pairs(problem.gold)
    if gold is None:
        return AuditResult("unparsed", answer, f"gold {problem.gold!r} is not a list of cells")
    verdict = "agree" if gold == frozenset(eqs) else "disagree"
    return AuditResult(verdict, answer, f"pure Nash equilibria by best-response check: {answer}")


def audit_pte(problem: Problem) -> AuditResult:
    try:
        game = parse_matrix_game(problem.messages[-1]["content"])
    except ParseError as exc:
        return unparsed(str(exc))
    trace = perfectly_transparent_trace(game)
    pte = sorted(trace[-1][0])
    gold = parse_pairs(problem.gold)
    if gold is None:
        return AuditResult("unparsed", format_pairs(pte), f"gold {problem.gold!r} is not a list of cells")
    if len(pte) > 1:
        return AuditResult("ill_posed", format_pairs(pte), f"the iteration stops at {len(pte)} outcomes, not one",
                           {"rounds": len(trace)})
    verdict = "agree" if gold == frozenset(pte) else "disagree"
    return AuditResult(verdict, format_pairs(pte), f"maximin filtering over {len(trace)} rounds leaves {format_pairs(pte)}",
                       {"rounds": len(trace)})


def audit_bayes_nash(problem: Problem) -> AuditResult:
    try:
        states, prior = parse_bayes_nash(problem.messages[-1]["content"])
    except (ParseError, ValueError, IndexError) as exc:
        return unparsed(str(exc))
    game = expected_game(states, prior)
    eqs = pure_nash_equilibria(game)
    options = problem.choices or []
    profiles = [_profile_of_option(o, game) for o in options]
    if any(p is None for p in profiles):
        return unparsed("an option is not a (row, column) action pair of the tables")
    correct = [k for k, p in enumerate(profiles) if p in eqs]
    names = ", ".join(f"({game.labels[0][r]}, {game.labels[1][c]})" for r, c in eqs) or "none"
    return verdict_for(problem, options, correct, names, f"pure equilibria of the expected game: {names}")


# ---------------------------------------------------------------------- rendering


PURE_NASH_PROMPT = (
    "You are given a reasoning problem in Economics. Please reason step by step to solve it. Enclose your reasoning in "
    "<think> and </think>. You are given a 2-player normal-form game.\n\n"
    "The game is represented using two separate matrices:\n"
    "- The first matrix gives Player 0's payoffs.\n"
    "- The second matrix gives Player 1's payoffs.\n\n"
    "Both matrices have the same dimensions. Each corresponding cell (i, j) defines the outcome when Player 0 plays "
    "strategy i and Player 1 plays strategy j.\n"
    "- Player 0's payoff for (i, j) is found in the first matrix.\n"
    "- Player 1's payoff for (i, j) is found in the second matrix.\n\n"
    "Your task is to find all pure strategy Nash equilibria (PSNE) in this game.\n"
    "A pure strategy Nash equilibrium is a strategy pair [i, j] such that:\n"
    "- Player 0 cannot improve their payoff by switching to a different row, if Player 1 sticks with column j.\n"
    "- Player 1 cannot improve their payoff by switching to a different column, if Player 0 sticks with row i.\n\n"
    "Output the list of all [i, j] pairs that form pure Nash equilibria.\n"
    "Format your final answer strictly as \\boxed{[[i, j], [k, l], ...]} with no additional text.\n"
    "If there is no pure strategy Nash equilibrium, return \\boxed{[]}.\n\n"
)


PTE_PROMPT = (
    "You are given a reasoning problem in Economics. Please reason step by step to solve it. Enclose your reasoning in "
    "<think> and </think>. You are given a 2-player normal-form game.\n\n"
    "The game is represented by two payoff matrices:\n"
    "- First matrix: Player 0's payoffs.\n"
    "- Second matrix: Player 1's payoffs.\n\n"
    "Each cell (i, j) gives the outcome when Player 0 plays i and Player 1 plays j.\n"
    "Player 0's payoff is the entry at [i][j] in the first matrix, and\n"
    "Player 1's payoff is the entry at [i][j] in the second matrix.\n\n"
    "Your task is to compute the **Perfectly Transparent Equilibrium (PTE)**:\n"
    "1. Find each player's **maximin guarantee** (the worst-case payoff) across all outcomes.\n"
    "2. Eliminate any outcome that does *not* Pareto-dominate those guarantees.\n"
    "3. Recompute the maximin on the remaining outcomes and repeat until only one outcome is left.\n\n"
    "Output exactly the coordinate [i, j] of that remaining outcome.  If no PTE exists, output `[]`.\n\n"
    "Format your answer strictly as:\n"
    "\\boxed{[i, j]}\n"
    "or\n"
    "\\boxed{[]}\n\n"
)


def _random_permutation_game(rng: random.Random, rows: int, cols: int) -> NormalFormGame:
    """Each player's payoffs a permutation of 0..rows·cols-1 (general position, as the ETH games)."""
    a = rng.sample(range(rows * cols), rows * cols)
    b = rng.sample(range(rows * cols), rows * cols)
    return NormalFormGame([np.array(a).reshape(rows, cols), np.array(b).reshape(rows, cols)])


def _draw_game(rng: random.Random, difficulty: int, has_answer: Callable[[NormalFormGame], bool]) -> NormalFormGame:
    """A permutation game of `_shape(difficulty)` whose answer is `[]` with probability 1/(cells + 1), as if
    `[]` were one more cell: the empty answer is then no likelier than any one cell, so guessing `[]` is no
    shortcut. Draws are repeated until the game has (or lacks) an answer as decided."""
    rows, cols = _shape(rng, difficulty)
    want_empty = rng.randrange(rows * cols + 1) == 0
    for _ in range(MAX_TRIES):
        game = _random_permutation_game(rng, rows, cols)
        if has_answer(game) != want_empty:
            return game
    raise RuntimeError(f"no {rows}×{cols} game {'without' if want_empty else 'with'} an answer in {MAX_TRIES} draws")


def _matrix_text(game: NormalFormGame) -> str:
    a, b = game.payoff_arrays()
    as_list = lambda m: "[" + ", ".join("[" + ", ".join(fmt(x) for x in row) + "]" for row in m) + "]"  # noqa: E731
    return f"Player 0's payoff matrix:\n{as_list(a)}\n\nPlayer 1's payoff matrix:\n{as_list(b)}"


def _shape(rng: random.Random, difficulty: int) -> tuple[int, int]:
    """Game size for a difficulty: n×n, n×(n-1) or (n-1)×n with n = difficulty + 2 (1 → 3×3 like the
    published items, or 3×2 / 2×3)."""
    if difficulty < 1:
        raise ValueError(f"difficulty must be >= 1, got {difficulty}")
    n = difficulty + 2
    return rng.choice([(n, n), (n, n), (n, n - 1), (n - 1, n)])


def _best(values: Sequence, label: str) -> tuple[str, list[int]]:
    """`c0=1 c1=8 c2=3 → max 8 → c0=1 no c1=8 yes c2=3 no → column 1`: `max_scan` over the labelled
    values, then the label(s) of the cells marked yes."""
    line, best = max_scan([(f"{label[0]}{k}", v) for k, v in enumerate(values)])
    index = [int(k[1:]) for k in best]
    name = f"{label} {index[0]}" if len(index) == 1 else f"{label}s {', '.join(map(str, index))}"
    return f"{line} → {name}", index


def pure_nash_steps(game: NormalFormGame) -> list[str]:
    """The local trace: one line per row (Player 1's best column, from the second matrix); the first
    matrix copied row by row with each value labelled by its column, so that each column's values are
    then looked up by (row, column) labels instead of pulled out of a nested list; one line per column
    (Player 0's best row); one check per (row, best column) that looks up the column's best rows and
    carries the equilibria found so far; the last line is the answer the box copies. Every step is a
    copy, a max over the short numbers of one line, a comparison with it, or a lookup."""
    rows, cols = game.shape
    steps = ["Player 1's best column in each row (second matrix):"]
    br1: dict[int, list[int]] = {}
    for r in range(rows):
        line, br1[r] = _best([game.utility(1, (r, c)) for c in range(cols)], "column")
        steps.append(f"row {r}: {line}")
    steps.append("Player 0's payoffs by row (first matrix):")
    steps += [f"payoffs row {r}: " + labelled([(f"c{c}", game.utility(0, (r, c))) for c in range(cols)]) for r in range(rows)]
    steps.append("Player 0's best row in each column (first matrix):")
    br0: dict[int, list[int]] = {}
    for c in range(cols):
        line, br0[c] = _best([game.utility(0, (r, c)) for r in range(rows)], "row")
        steps.append(f"column {c}: {line}")
    steps.append("Check each row's best column:")
    found: list[tuple[int, int]] = []
    for r in range(rows):
        for c in br1[r]:
            ok = r in br0[c]
            if ok:
                found.append((r, c))
            where = f"row {r}" if len(br1[r]) == 1 else f"row {r} column {c}"
            best_rows = ", ".join(map(str, br0[c]))
            steps.append(f"check {where}: column {c} → best row {best_rows} → {'yes' if ok else 'no'} → found {format_pairs(found)}")
    steps.append(f"Equilibria: {format_pairs(found)}")
    return steps


def generate_pure_nash(rng: random.Random, difficulty: int = 1) -> Problem:
    """A fresh game of `_shape(difficulty)` with each player's payoffs a permutation; all pure equilibria
    (none with probability 1/(cells + 1), see `_draw_game`)."""
    game = _draw_game(rng, difficulty, lambda g: bool(pure_nash_equilibria(g)))
    eqs = pure_nash_equilibria(game)
    return make_pairs_problem("pure_nash", PURE_NASH_PROMPT, _matrix_text(game), format_pairs(eqs), pure_nash_steps(game),
                              meta={"difficulty": difficulty})


def pte_steps(game: NormalFormGame, trace: Sequence[tuple[list, list]] | None = None) -> list[str]:
    """The worked PTE iteration, round by round (pass `perfectly_transparent_trace(game)` to reuse it)."""
    if trace is None:
        trace = perfectly_transparent_trace(game)
    steps = []
    for k, (alive, guarantees) in enumerate(trace, 1):
        if not alive:
            steps.append(f"Round {k}: no outcome is left, so there is no PTE.")
            break
        steps.append(f"Round {k}: {len(alive)} outcome(s) remain: {format_pairs(alive)}.")
        for i, g in enumerate(guarantees):
            worst: dict[int, Fraction] = {}
            for p in alive:
                worst[p[i]] = min(worst.get(p[i], game.utility(i, p)), game.utility(i, p))
            parts = ", ".join(f"{'row' if i == 0 else 'column'} {s}: {fmt(w)}" for s, w in sorted(worst.items()))
            steps.append(f"  Player {i}'s worst payoffs ({parts}) → maximin guarantee {fmt(g)}.")
        kept = trace[k][0] if k < len(trace) else alive  # the round's survivors: the next round, or the fixpoint
        steps.append(f"  Outcomes giving both players at least their guarantee: {format_pairs(kept)}.")
    final = trace[-1][0]
    steps.append(f"Nothing more is eliminated: the PTE is {format_pairs(final)}." if len(final) == 1
                 else "No single outcome survives, so there is no PTE.")
    return steps


def generate_pte(rng: random.Random, difficulty: int = 1) -> Problem:
    """A fresh permutation game of `_shape(difficulty)` and its perfectly transparent equilibrium (or [] with
    probability 1/(cells + 1), see `_draw_game`)."""
    game = _draw_game(rng, difficulty, lambda g: len(perfectly_transparent_trace(g)[-1][0]) == 1)
    trace = perfectly_transparent_trace(game)
    final = sorted(trace[-1][0])
    gold = format_pairs(final) if len(final) == 1 else "[]"
    boxed = f"[{final[0][0]}, {final[0][1]}]" if len(final) == 1 else "[]"
    return make_pairs_problem("pte", PTE_PROMPT, _matrix_text(game), gold, pte_steps(game, trace),
                              meta={"difficulty": difficulty}, boxed=boxed)


BAYES_TEMPLATES = [
    "Consider the following game with {n} states: {states}. {probs}. Suppose no player has any information about the state "
    "of the game but common knowledge of the states. What is the Bayes-Nash Equilibrium of the game?",
    "Suppose a game has {n} states: {states}. {probs}. Suppose no player has any information about the state of the game "
    "but common knowledge of the states. What is the Bayes-Nash Equilibrium of the game?",
    "Two players play a game whose payoffs depend on one of {n} states: {states}. {probs}. Neither player observes the "
    "state; the prior is common knowledge. Which action profile is the pure Bayes-Nash Equilibrium of the game?",
]


ROW_LABELS = [("Action R", "Action S"), ("Action U", "Action D"), ("Action A", "Action B")]


COL_LABELS = [("Action K", "Action L"), ("Action X", "Action Y"), ("Action C", "Action E")]


def _table_text(game: NormalFormGame) -> str:
    cells = [[f"({decimals(game.utility(0, (r, c)))}, {decimals(game.utility(1, (r, c)))})" for c in range(2)] for r in range(2)]
    width = max(len(x) for row in cells for x in row + game.labels[1]) + 2
    lw = max(len(l) for l in game.labels[0])
    lines = [" " * lw + "".join(l.rjust(width) for l in game.labels[1])]
    lines += [game.labels[0][r].ljust(lw) + "".join(x.rjust(width) for x in cells[r]) for r in range(2)]
    return "\n".join(lines)


def _random_prior(rng: random.Random, n: int) -> list[Fraction]:
    cuts = sorted(rng.sample(range(5, 96), n - 1))
    edges = [0, *cuts, 100]
    return [Fraction(edges[k + 1] - edges[k], 100) for k in range(n)]


def generate_bayes_nash(rng: random.Random, difficulty: int = 1) -> Problem:
    """2×2 payoff tables in difficulty + 1 states (2 decimals), a common prior; exactly one pure equilibrium
    of the expected game among the four profiles offered."""
    if difficulty < 1:
        raise ValueError(f"difficulty must be >= 1, got {difficulty}")
    n = difficulty + 1
    rows, cols = rng.choice(ROW_LABELS), rng.choice(COL_LABELS)
    for _ in range(MAX_TRIES):
        prior = _random_prior(rng, n)
        states = [
            NormalFormGame([[[Fraction(rng.randint(0, 2000), 100) for _ in range(2)] for _ in range(2)] for _ in range(2)],
                           [list(rows), list(cols)])
            for _ in range(n)
        ]
        game = expected_game(states, prior)
        eqs = pure_nash_equilibria(game)
        if len(eqs) == 1:
            break
    else:
        raise RuntimeError("bayes_nash: no game with a unique pure equilibrium found")
    profiles = [(r, c) for r in range(2) for c in range(2)]
    text = lambda p: str((rows[p[0]], cols[p[1]]))  # noqa: E731
    options, gold = place_options(rng, text(eqs[0]), [text(p) for p in profiles if p != eqs[0]])
    probs = " and ".join(f"the probability of state {k + 1} is {fmt(p)}" for k, p in enumerate(prior))
    probs = probs[0].upper() + probs[1:]
    state_names = ", ".join(f"State {k + 1}" for k in range(n))
    question = rng.choice(BAYES_TEMPLATES).format(n=n, states=state_names, probs=probs)
    question += "\n" + "\n".join(f"State {k + 1}:\n{_table_text(g)}" for k, g in enumerate(states))
    steps = ["No player has private information, so each player maximises expected payoff under the common prior."]
    for r, c in profiles:
        terms = " + ".join(f"{fmt(p)}×{decimals(g.utility(0, (r, c)))}" for p, g in zip(prior, states))
        steps.append(f"({rows[r]}, {cols[c]}): expected payoffs ({fmt(game.utility(0, (r, c)))}, {fmt(game.utility(1, (r, c)))}) "
                     f"[row player: {terms}].")
    for r, c in profiles:
        dev_r = game.utility(0, (1 - r, c))
        dev_c = game.utility(1, (r, 1 - c))
        ok = game.utility(0, (r, c)) >= dev_r and game.utility(1, (r, c)) >= dev_c
        steps.append(f"({rows[r]}, {cols[c]}): row deviation gives {fmt(dev_r)}, column deviation gives {fmt(dev_c)} → "
                     + ("no profitable deviation, an equilibrium." if ok else "a profitable deviation exists."))
    return make_option_problem("bayes_nash", question, options, gold, steps,
                               meta={"difficulty": difficulty, "states": n}, template="bayes")


# ---------------------------------------------------------------------- registration

for _spec in (
    CategorySpec("pure_nash", "pairs", audit_pure_nash, generate_pure_nash, "all pure Nash equilibria of an n×m game"),
    CategorySpec("pte", "pairs", audit_pte, generate_pte, "perfectly transparent equilibrium (Fourny 2020)"),
    CategorySpec("bayes_nash", "option", audit_bayes_nash, generate_bayes_nash, "pure Bayes-Nash with a common prior, no private information"),
):
    register(_spec)
