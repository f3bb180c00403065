"""Game-theory categories: audit parsers and verified generators for `pure_nash`, `pte`, `bayes_nash`,
`backward_induction`, `trigger`, `enforceability` and `feasibility`. Importing the module registers them.

Every answer is re-derived with `recon.econ`; every generated item is rejection-sampled until the
solver finds exactly one correct option, and carries a worked solution written from the solver's steps."""

from __future__ import annotations

import ast
import itertools
import random
import re
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from recon.data.categories import AuditResult, CategorySpec, register
from recon.data.categories.common import (
    fmt,
    make_option_problem,
    make_pairs_problem,
    place_options,
    unparsed,
    verdict_for,
)
from recon.data.problem import Problem
from recon.econ.bayesian import expected_game
from recon.econ.extensive import Decision, Leaf, backward_induction, from_nested, subgame_perfect_paths
from recon.econ.normal_form import (
    NormalFormGame,
    perfectly_transparent_trace,
    pure_nash_equilibria,
)
from recon.econ.repeated import (
    feasible_and_rational,
    feasible_set,
    min_delta_grim_trigger,
    minmax_values,
    point_in_hull,
    sustainable_minmax,
    sustainable_nash_reversion,
)
from recon.grading.grade import parse_pairs

# Generators retry until the solver confirms a well-formed item; this many tries is plenty.
MAX_TRIES = 500


class ParseError(ValueError):
    """A published item whose numbers the parser cannot read."""


def _num(x: Fraction, places: int = 2) -> str:
    """A payoff with a fixed number of decimals (exact numbers are drawn on that grid)."""
    return f"{float(x):.{places}f}"


# ====================================================================== pure_nash and pte (3×3 matrices)

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


def _random_permutation_game(rng: random.Random, rows: int, cols: int) -> NormalFormGame:
    """Each player's payoffs a permutation of 0..rows·cols-1 (general position, as the ETH games)."""
    a = rng.sample(range(rows * cols), rows * cols)
    b = rng.sample(range(rows * cols), rows * cols)
    return NormalFormGame([np.array(a).reshape(rows, cols), np.array(b).reshape(rows, cols)])


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


def pure_nash_steps(game: NormalFormGame) -> list[str]:
    rows, cols = game.shape
    steps = ["For each column j, find Player 0's best rows; for each row i, Player 1's best columns."]
    br0, br1 = {}, {}
    for c in range(cols):
        col = [game.utility(0, (r, c)) for r in range(rows)]
        br0[c] = [r for r in range(rows) if col[r] == max(col)]
        steps.append(f"Column {c}: Player 0 gets {', '.join(fmt(x) for x in col)} → best row(s) {br0[c]}.")
    for r in range(rows):
        row = [game.utility(1, (r, c)) for c in range(cols)]
        br1[r] = [c for c in range(cols) if row[c] == max(row)]
        steps.append(f"Row {r}: Player 1 gets {', '.join(fmt(x) for x in row)} → best column(s) {br1[r]}.")
    eqs = pure_nash_equilibria(game)
    steps.append("A cell is an equilibrium when its row is a best response to its column and vice versa: "
                 + (", ".join(f"[{r}, {c}]" for r, c in eqs) if eqs else "no cell qualifies") + ".")
    return steps


def generate_pure_nash(rng: random.Random, difficulty: int = 1) -> Problem:
    """A fresh game of `_shape(difficulty)` with each player's payoffs a permutation; all pure equilibria."""
    game = _random_permutation_game(rng, *_shape(rng, difficulty))
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
    """A fresh permutation game of `_shape(difficulty)` and its perfectly transparent equilibrium (or [])."""
    game = _random_permutation_game(rng, *_shape(rng, difficulty))
    trace = perfectly_transparent_trace(game)
    final = sorted(trace[-1][0])
    gold = format_pairs(final) if len(final) == 1 else "[]"
    boxed = f"[{final[0][0]}, {final[0][1]}]" if len(final) == 1 else "[]"
    return make_pairs_problem("pte", PTE_PROMPT, _matrix_text(game), gold, pte_steps(game, trace),
                              meta={"difficulty": difficulty}, boxed=boxed)


# ====================================================================== bayes_nash

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
    cells = [[f"({_num(game.utility(0, (r, c)))}, {_num(game.utility(1, (r, c)))})" for c in range(2)] for r in range(2)]
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
        terms = " + ".join(f"{fmt(p)}×{_num(g.utility(0, (r, c)))}" for p, g in zip(prior, states))
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


# ====================================================================== repeated prisoner's-dilemma prose

# Word stems naming the defecting / cooperating action in STEER's repeated-game stories.
DEFECT_STEMS = (
    "defect", "reneg", "breach", "undercut", "price war", "pricing war", "compet", "aggress", "pollut", "overfish",
    "cheat", "deviat", "betray", "barrier", "exploit", "risk", "patent", "unrestrict", "gamble", "opportunis",
    "divert", "solo", "lower price", "cut price", "option b", "violat", "break", "fish freely", "pollute",
    "escalat", "attack", "shirk", "free-rid", "free rid", "overproduc", "increase production", "dump", "steal",
    "fail", "gambl", "cut cost", "cuts cost", "cost cutter", "low price", "lowers price", "lower their price",
    "independen", "low-pric", "low pric", "roll", "secret", "frantic", "neglect", "own project", "selfish", "leave",
    "self-interest", "prioritiz", "forgo", "corner", "withh", "relax", "conflict", "instigat", "individual", "guard", "heavy",
)
COOPERATE_STEMS = (
    "cooperat", "collud", "collusi", "collaborat", "honor", "honour", "fulfil", "adhere", "comply", "complies",
    "commit", "maintain", "abide", "shar", "invest", "safe", "passive", "limit", "lock", "keep", "high price",
    "dutiful", "cautious", "stick", "option a", "uphold", "restrain", "trust", "treaty", "pact", "stable", "steady",
    "secur", "preserv", "loyal", "fix price", "set higher", "set high", "sustainabl", "hold", "claim", "certain",
    "guarantee", "conserv", "high-pric", "sustain", "elevat", "integrity", "follow", "positiv", "reliabl", "pocket", "avoid", "joint", "respect", "partner", "true to", "by the rules", "contribut", "together", "careful", "moderat", "complian",
)
_MONEY = re.compile(r"(?<![\w.])(-\s?)?\$?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+)(?![\w])")
_DELTA = re.compile(r"discount(?:ed)?(?: factor| rate)?[^.\d]{0,60}?(0?\.\d+|1\.0+)", re.I)
_NEGATORS = re.compile(r"\b(?:loss|lose|loses|losing|cost|costs|deficit|penalty)\b[^.;,\d]{0,25}$", re.I)


def _negated_at(low: str, start: int) -> bool:
    """Is the action word at `start` negated ('non-undercutting', 'decide not to contribute')?"""
    return bool(re.search(r"(?:non-?|not |not to |n't |n't to |never |no longer |refuse to |refuses to )$", low[max(0, start - 14): start]))


def _sym_role(ctx: str) -> str | None:
    """The action of a 'both …' cell: the first action named in the clause holding the payoff."""
    clause = re.split(r"[.;:]\s", ctx)[-1]
    roles = _roles_in_order(clause)
    return roles[0] if roles else _role(ctx)


def _lower_for_roles(text: str) -> str:
    """Lower-cased text with words that contain an action stem by accident ('respectively') blanked."""
    return re.sub(r"respectiv\w*|irrespective", lambda m: " " * len(m.group()), text.lower())


def _role(text: str) -> str | None:
    """'D' or 'C' for the action named last in `text` (negations like `non-undercutting` flip it)."""
    low = _lower_for_roles(text)
    best, role = -1, None
    for stems, r in ((DEFECT_STEMS, "D"), (COOPERATE_STEMS, "C")):
        for stem in stems:
            for m in re.finditer(re.escape(stem), low):
                if m.start() > best:
                    flip = _negated_at(low, m.start())
                    best, role = m.start(), ({"C": "D", "D": "C"}[r] if flip else r)
    return role


def _roles_in_order(text: str) -> list[str]:
    """Every action role named in `text`, in order of appearance."""
    low, hits = _lower_for_roles(text), []
    for stems, r in ((DEFECT_STEMS, "D"), (COOPERATE_STEMS, "C")):
        for stem in stems:
            for m in re.finditer(re.escape(stem), low):
                flip = _negated_at(low, m.start())
                hits.append((m.start(), {"C": "D", "D": "C"}[r] if flip else r))
    hits.sort()
    out: list[str] = []
    last_end = -10
    for pos, r in hits:  # stems overlapping the same word count once
        if pos - last_end > 3:
            out.append(r)
        last_end = pos
    return out


def parse_delta(text: str) -> Fraction | None:
    m = _DELTA.search(text)
    if not m:
        m = re.search(r"(0?\.\d+)[^.]{0,40}discount", text, re.I)
    return Fraction(m.group(1)) if m else None


def _payoff_numbers(text: str, delta: Fraction | None) -> list[tuple[Fraction, int, int]]:
    """(value, start, end) of every payoff number; the discount factor, '0 and 1' and numbers inside
    names are skipped; a number after 'loss'/'cost' is negated."""
    out = []
    for m in _MONEY.finditer(text):
        raw = m.group(2).replace(",", "")
        value = Fraction(raw)
        has_money = "$" in m.group(0) or "." in raw
        if not has_money:
            continue  # bare integers are years, counts, '0 and 1'
        if delta is not None and value == delta and value < 1:
            continue
        if value < 1 and re.search(r"discount", text[max(0, m.start() - 80): m.end() + 40], re.I):
            continue
        if m.group(1) or _NEGATORS.search(text[: m.start()]):
            value = -value
        out.append((value, m.start(), m.end()))
    return out


_AGENT = r"(?:firm|company|companies|country|nation|player|corporation|party|business|side|state|bank|store|supplier)"
_MIXED_CUE = re.compile(
    r"\b(?:one|only one|a single|either)\b[^.;]*\b(?:other|another)\b|\bthe other\b|\bwhile the\b|\bwhereas\b"
    r"|\bonly one\b|\bone of them\b|\b(?:if|should|when) one\b"
    r"|\b(?:a|the) (?:deviating|defecting|cheating|reneging|breaching|deviator|defector)\b"
    rf"|\b{_AGENT}\s+A\b[^.;]*\b{_AGENT}\s+B\b", re.I)
_SYMMETRIC_CUE = re.compile(r"\bboth\b|\beach\b(?! other)|\bmutual|\bneither\b|\bthey all\b", re.I)
_CASE_OPENER = re.compile(r"\bif\b|\bwhen\b|\bshould\b|\bin case\b|\bscenario\b", re.I)
_RESPECTIVE = re.compile(r"respective|accordingly|in that order", re.I)
_LABEL = re.compile(rf"\b{_AGENT}\s+([AB])\b|\bthe (one|other)\b", re.I)


def _condition_roles(ctx: str) -> dict[str, str]:
    """In 'if Firm A undercuts while Firm B keeps prices high' (or 'one … the other'), the action of each
    named side: {'A': 'D', 'B': 'C'} / {'one': …, 'other': …}."""
    labels = list(_LABEL.finditer(ctx))
    out: dict[str, str] = {}
    for k, m in enumerate(labels[:2]):
        key = (m.group(1) or m.group(2)).lower()
        end = labels[k + 1].start() if k + 1 < len(labels) else len(ctx)
        role = _roles_in_order(ctx[m.end(): end])
        if role and key not in out:
            out[key] = role[0]
    if re.search(r"\bone\b", ctx, re.I) and "one" not in out:
        m = re.search(r"\bone\b([^,;]*?)\b(?:while|and|but|whereas)\b", ctx, re.I)
        if m and _roles_in_order(m.group(1)):
            out["one"] = _roles_in_order(m.group(1))[0]
    return out


def _owner_role(tail: str, condition: dict[str, str]) -> str | None:
    """The role of the side a payoff goes to, read from the words just before it."""
    labels = list(_LABEL.finditer(tail))
    if labels:
        own_words = _role(tail[labels[-1].end():])  # 'the one who chose to share' describes itself
        if own_words is not None:
            return own_words
        key = (labels[-1].group(1) or labels[-1].group(2)).lower()
        if key in condition:
            return condition[key]
    return _role(tail)


def parse_symmetric_pd(text: str) -> dict[str, Fraction]:
    """R (both cooperate), T (defect against a cooperator), S (cooperate against a defector) and P (both
    defect) from STEER prose with four payoffs. The words between one payoff and the previous one say
    whether a new case starts ('both'/'each' → a symmetric cell, 'one … the other' or 'Firm A … Firm B'
    → the asymmetric pair) and which actions it names (collude, renege, …); 'respectively' takes the
    roles in the order named. Raises ParseError when a cell cannot be told."""
    delta = parse_delta(text)
    nums = _payoff_numbers(text, delta)
    if len(nums) != 4:
        raise ParseError(f"expected 4 payoffs, found {len(nums)}")
    contexts: list[str] = []
    groups: list[tuple[str, list[int]]] = []
    for k, (_, start, _end) in enumerate(nums):
        ctx = text[nums[k - 1][2] if k else max(0, start - 300): start]
        contexts.append(ctx)
        open_pair = bool(groups) and groups[-1][0] == "mixed" and len(groups[-1][1]) == 1
        if open_pair and not _CASE_OPENER.search(ctx) and not re.search(r"\bboth\b", ctx, re.I):
            kind = "cont"
        elif _SYMMETRIC_CUE.search(ctx) and not (open_pair and _MIXED_CUE.search(ctx)):
            kind = "mixed" if _MIXED_CUE.search(ctx) and not re.search(r"\bboth\b|\bmutual", ctx, re.I) else "sym"
        elif _MIXED_CUE.search(ctx):
            kind = "mixed"
        else:
            kind = "cont"
        if kind == "cont" and groups:
            groups[-1][1].append(k)
        elif kind == "cont":
            raise ParseError("the first payoff names no case")
        else:
            groups.append((kind, [k]))
    shape = sorted((kind, len(ks)) for kind, ks in groups)
    if shape != [("mixed", 2), ("sym", 1), ("sym", 1)]:
        raise ParseError(f"payoff cases read as {shape}, expected two symmetric cells and one mixed pair")
    cells: dict[str, Fraction] = {}
    for kind, ks in groups:
        if kind == "sym":
            role = _sym_role(contexts[ks[0]])
            if role is None:
                raise ParseError("cannot tell which symmetric cell a payoff belongs to")
            key = "R" if role == "C" else "P"
            if key in cells:
                raise ParseError(f"two payoffs read as {key}")
            cells[key] = nums[ks[0]][0]
            continue
        a, b = ks
        after_b = text[nums[b][2]: nums[b][2] + 40]
        condition_text = re.split(r",(?=[^,]*$)", contexts[a])[0] if "," in contexts[a] else contexts[a]
        if not _roles_in_order(condition_text):
            condition_text = contexts[a]
        condition_text = re.split(r"\b(?:their|the) respective\b", condition_text, flags=re.I)[0]
        condition = _condition_roles(condition_text)
        tail_a = contexts[a][len(condition_text):]
        order = _roles_in_order(condition_text)
        order = [r for i, r in enumerate(order) if i == 0 or r != order[i - 1]]
        bare_pair = not re.search(r"[A-Za-z]", contexts[b].replace("and", ""))
        former = [re.search(r"\b(former|latter)\b", c, re.I) for c in (tail_a, contexts[b])]
        if all(former) and len(order) >= 2:
            pick = {"former": order[-2], "latter": order[-1]}
            ra, rb = (pick[m.group(1).lower()] for m in former if m)
        elif _RESPECTIVE.search(contexts[a] + contexts[b] + after_b) or bare_pair:
            if len(order) < 2 or order[-2] == order[-1]:
                raise ParseError("'respectively' without two named actions")
            ra, rb = order[-2], order[-1]
        else:
            ra, rb = _owner_role(tail_a, condition), _owner_role(contexts[b], condition)
            if rb is None and ra is not None:
                rb = "C" if ra == "D" else "D"
            if ra is None and rb is not None:
                ra = "C" if rb == "D" else "D"
        if {ra, rb} != {"C", "D"}:
            raise ParseError("cannot tell the defector's payoff from the cooperator's")
        cells["T" if ra == "D" else "S"] = nums[a][0]
        cells["T" if rb == "D" else "S"] = nums[b][0]
    return cells


def pd_game(cells: dict[str, Fraction]) -> NormalFormGame:
    """The symmetric 2×2 game with strategy 0 = cooperate, 1 = defect."""
    R, T, S, P = cells["R"], cells["T"], cells["S"], cells["P"]
    return NormalFormGame([[[R, S], [T, P]], [[R, T], [S, P]]], [["cooperate", "defect"], ["cooperate", "defect"]])


def _negated(question: str) -> bool:
    """Does the question ask for the option that is NOT sustainable/feasible?"""
    last = re.split(r"(?<=[.!])\s+", question.strip())[-1]
    return bool(re.search(r"\b(?:not|cannot|can't|can not|never|unenforceable|infeasible|unsustainable)\b", last, re.I))


def _pd_conditions(cells: dict[str, Fraction]) -> list[str]:
    """What keeps a grim-trigger question from being well posed (empty when it is)."""
    R, T, S, P = cells["R"], cells["T"], cells["S"], cells["P"]
    problems = []
    if not T > R:
        problems.append("no temptation (T <= R)")
    if not R > P:
        problems.append("cooperation pays no more than mutual defection (R <= P)")
    if not P >= S:
        problems.append("mutual defection is not a stage equilibrium (S > P)")
    return problems


def _option_value(option: str) -> Fraction | None:
    m = re.fullmatch(r"\s*\$?\s*(-?\d*\.?\d+)\s*", option)
    return Fraction(m.group(1)) if m else None


def audit_trigger(problem: Problem) -> AuditResult:
    try:
        cells = parse_symmetric_pd(problem.question)
    except ParseError as exc:
        return unparsed(str(exc))
    values = [_option_value(o) for o in problem.choices or []]
    if any(v is None for v in values):
        return unparsed("an option is not a number")
    shown = {k: fmt(v) for k, v in cells.items()}
    issues = _pd_conditions(cells)
    if issues:
        return AuditResult("ill_posed", None, "; ".join(issues), {"cells": shown})
    res = min_delta_grim_trigger(pd_game(cells))
    delta = res.delta
    correct = []
    for k, (text, v) in enumerate(zip(problem.choices or [], values)):
        decimals = len(text.strip().split(".")[1]) if "." in text else 0
        if abs(v - delta) <= Fraction(1, 2 * 10**decimals):
            correct.append(k)
    reason = f"δ* = (T−R)/(T−P) = ({fmt(cells['T'])}−{fmt(cells['R'])})/({fmt(cells['T'])}−{fmt(cells['P'])}) = {float(delta):.4f}"
    return verdict_for(problem, problem.choices or [], correct, f"{float(delta):.4f}", reason, cells=shown)


# The outcome paths an enforceability option can name (row = firm A, column = firm B; 0 = cooperate).
PATHS: dict[str, list[tuple[int, int]]] = {
    "both_cooperate": [(0, 0)],
    "both_defect": [(1, 1)],
    "one_defects": [(0, 1)],
    "take_turns": [(0, 1), (1, 0)],
    "cooperate_then_defect": [(0, 0), (1, 1)],
}


def classify_path(option: str) -> str | None:
    """Which outcome path an enforceability option describes, or None ('random' mixes are not paths)."""
    low = option.lower()
    if re.search(r"random", low):
        return None
    if re.search(r"\bboth\b[^.]*\b(?:odd|even)\b|\bboth\b[^.]*\bthen both\b", low):
        return "cooperate_then_defect"
    if re.search(r"alternat|takes? turns|taking turns|switch(?:ing)? roles|in turn|odd|rotate|turn-taking", low):
        return "take_turns"
    if re.search(r"\bone\b[^.]*\bother\b|\bwhile\b|\bwhereas\b|\bfirm a\b[^.]*\bfirm b\b|\ba\b[^.]*\bb\b", low) and not re.search(r"\bboth\b", low):
        return "one_defects"
    roles = _roles_in_order(option)  # the first action named is what both do ('break the non-compete …')
    if not roles:
        return None
    return "both_cooperate" if roles[0] == "C" else "both_defect"


def _notion_of(question: str) -> str:
    return "spe" if re.search(r"subgame", question, re.I) else "nash"


def path_sustainable(game: NormalFormGame, path: Sequence[tuple[int, int]], delta: Fraction, notion: str):
    return (sustainable_nash_reversion(game, path, delta) if notion == "spe"
            else sustainable_minmax(game, path, delta, kind="mixed"))


def audit_enforceability(problem: Problem) -> AuditResult:
    text = problem.question
    try:
        cells = parse_symmetric_pd(text)
    except ParseError as exc:
        return unparsed(str(exc))
    delta = parse_delta(text)
    if delta is None or not 0 <= delta < 1:
        return unparsed("no discount factor in [0, 1)")
    options = problem.choices or []
    kinds = [classify_path(o) for o in options]
    if sum(k is not None for k in kinds) < len(options) - 1:
        return unparsed("options do not name outcome paths")
    game, notion, negated = pd_game(cells), _notion_of(text), _negated(text)
    ok = {k: path_sustainable(game, PATHS[k], delta, notion).sustainable for k in set(kinds) if k}
    correct = [i for i, k in enumerate(kinds) if k is not None and ok[k] != negated]
    if negated:
        correct += [i for i, k in enumerate(kinds) if k is None]  # a random mix is no outcome path to enforce
    notion_name = "SPE with Nash reversion" if notion == "spe" else "Nash equilibrium with minmax punishment"
    sustained = ", ".join(k for k in sorted(ok) if ok[k]) or "none"
    return verdict_for(problem, options, correct, sustained,
                       f"{notion_name} at δ={fmt(delta)}: sustainable paths {sustained}",
                       cells={k: fmt(v) for k, v in cells.items()}, notion=notion, negated=negated)


def _option_point(option: str) -> tuple[Fraction, Fraction] | None:
    vals = re.findall(r"-?\$?-?\d[\d,]*\.?\d*", option)
    vals = [("-" if "-" in v else "") + v.replace("-", "").replace("$", "") for v in vals]
    try:
        nums = [Fraction(v.replace(",", "")) for v in vals]
    except ValueError:
        return None
    if len(nums) == 1:
        return nums[0], nums[0]
    if len(nums) == 2:
        return nums[0], nums[1]
    return None


def audit_feasibility(problem: Problem) -> AuditResult:
    text = problem.question
    try:
        cells = parse_symmetric_pd(text)
    except ParseError as exc:
        return unparsed(str(exc))
    options = problem.choices or []
    points = [_option_point(o) for o in options]
    if any(p is None for p in points):
        return unparsed("an option is not a payoff or payoff pair")
    game, negated = pd_game(cells), _negated(text)
    mm, hull = minmax_values(game, "mixed"), feasible_set(game)
    good = [feasible_and_rational(game, p, mm, hull) for p in points]
    correct = [i for i, g in enumerate(good) if g != negated]
    return verdict_for(problem, options, correct, ", ".join(o for o, g in zip(options, good) if g) or "none",
                       f"folk theorem: feasible per-period payoffs above minmax ({fmt(mm[0])}, {fmt(mm[1])})",
                       cells={k: fmt(v) for k, v in cells.items()}, negated=negated)


# ---------------------------------------------------------------------- repeated-game generators

# Narrative contexts: (setting, agents, cooperative action, defecting action, period, A, B).
REPEATED_CONTEXTS = [
    ("Two firms sell a homogeneous product in a duopoly and each period choose their pricing.", "firms",
     "keep prices high", "start a price war", "year", "Firm A", "Firm B"),
    ("Two neighbouring countries share a fishing ground and each season decide how much to catch.", "countries",
     "respect the fishing quota", "overfish", "season", "Country A", "Country B"),
    ("Two companies have a long-term supply contract and each quarter decide whether to keep their side of it.", "companies",
     "honor the contract", "breach the contract", "quarter", "Company A", "Company B"),
    ("Two tech firms run a joint research programme and each year decide whether to share their results.", "firms",
     "share their research", "hide their results and patent them aggressively", "year", "Firm A", "Firm B"),
    ("Two nations upstream of the same river decide each year whether to limit their emissions.", "nations",
     "limit emissions", "pollute freely", "year", "Nation A", "Nation B"),
]


def _draw_pd(rng: random.Random) -> dict[str, Fraction]:
    """A symmetric prisoner's dilemma T > R > P > S on a half-unit grid."""
    half = lambda lo, hi: Fraction(rng.randint(2 * lo, 2 * hi), 2)  # noqa: E731
    P = half(100, 600)
    R = P + half(40, 400)
    T = R + half(20, 400)
    S = P - half(20, 300)
    return {"R": R, "T": T, "S": S, "P": P}


def _payoff_sentence(rng: random.Random, ctx: tuple, cells: dict[str, Fraction]) -> str:
    _, agents, coop, defect, period, _, _ = ctx
    R, T, S, P = (_num(cells[k]) for k in "RTSP")
    variants = [
        f"If both {agents} {coop}, each earns {R} per {period}. If one of them chooses to {defect} while the other "
        f"continues to {coop}, the one who deviates earns {T} and the other earns {S}. If both {defect}, each earns {P}.",
        f"The stage payoffs are: both {coop} → {R} each; both {defect} → {P} each; one chooses to {defect} while the "
        f"other chooses to {coop} → the deviator gets {T} and the other gets {S}.",
        f"Each {period}, mutual cooperation (both {coop}) pays {R} to each, mutual defection (both {defect}) pays {P} to "
        f"each, and when only one of them chooses to {defect}, that one earns {T} while the one who chose to {coop} earns {S}.",
    ]
    return rng.choice(variants)


def _trigger_distractors(cells: dict[str, Fraction], delta: Fraction) -> list[Fraction]:
    R, T, S, P = cells["R"], cells["T"], cells["S"], cells["P"]
    cands = [(T - R) / (T - S), (R - P) / (T - P), (T - R) / (R - P) if R != P else None, 1 - delta,
             (T - R) / T if T else None, delta + Fraction(7, 100), delta - Fraction(6, 100), delta + Fraction(13, 100),
             delta - Fraction(11, 100), (R - S) / (T - S)]
    return [c for c in cands if c is not None]


def generate_trigger(rng: random.Random, difficulty: int = 1) -> Problem:
    """A symmetric prisoner's dilemma (T > R > P > S, so mutual defection is the stage equilibrium) and the
    least δ at which grim trigger is subgame perfect; options rounded to two decimals, exactly one within
    rounding of δ*. `difficulty` is unused (the concept has no size)."""
    for _ in range(MAX_TRIES):
        cells = _draw_pd(rng)
        res = min_delta_grim_trigger(pd_game(cells))
        if not (res.well_posed and res.delta is not None and Fraction(5, 100) < res.delta < Fraction(95, 100)):
            continue
        correct = f"{float(res.delta):.2f}"
        wrong = []
        for c in _trigger_distractors(cells, res.delta):
            text = f"{float(c):.2f}"
            if 0 < c < 1 and abs(Fraction(text) - res.delta) > Fraction(1, 100) and text not in wrong and text != correct:
                wrong.append(text)
        if len(wrong) >= 3:
            break
    else:
        raise RuntimeError("trigger: no well-posed game found")
    rng.shuffle(wrong)
    options, gold = place_options(rng, correct, wrong[:3])
    ctx = rng.choice(REPEATED_CONTEXTS)
    setting, agents, coop, defect, period = ctx[:5]
    ask = rng.choice([
        f"What is the minimum discount factor (rounded to two decimals) for which the grim trigger strategy — {coop} until "
        f"anyone chooses to {defect}, then {defect} forever — is a subgame perfect Nash equilibrium?",
        f"Both {agents} play grim trigger: they {coop} as long as nobody has deviated and {defect} in every {period} after "
        f"a deviation. What is the smallest common discount factor, rounded to two decimals, that makes this a subgame "
        f"perfect equilibrium?",
    ])
    question = f"{setting} The interaction is repeated infinitely often with a common discount factor. " \
               f"{_payoff_sentence(rng, ctx, cells)} {ask}"
    R, T, S, P = (cells[k] for k in "RTSP")
    steps = [
        f"Stage payoffs: R = {fmt(R)} (both cooperate), T = {fmt(T)} (deviate against a cooperator), "
        f"S = {fmt(S)} (cooperate against a deviator), P = {fmt(P)} (both defect).",
        "T > R > P > S, so defecting is dominant and mutual defection is the stage Nash equilibrium: the grim "
        "punishment is itself an equilibrium, as subgame perfection needs.",
        "Cooperating forever is worth R/(1−δ); the best deviation gives T now and P forever after: T + δP/(1−δ).",
        f"R/(1−δ) ≥ T + δP/(1−δ) ⇔ δ ≥ (T−R)/(T−P) = ({fmt(T)}−{fmt(R)})/({fmt(T)}−{fmt(P)}) = {fmt(T - R)}/{fmt(T - P)} "
        f"≈ {float(res.delta):.4f}, which rounds to {correct}.",
    ]
    return make_option_problem("trigger", question, options, gold, steps,
                               meta={"difficulty": difficulty, "delta_star": str(res.delta), "cells": {k: str(v) for k, v in cells.items()}},
                               template="grim")


def _path_options(ctx: tuple) -> dict[str, str]:
    _, agents, coop, defect, period, a, b = ctx
    return {
        "both_cooperate": f"Both {agents} {coop} every {period}",
        "both_defect": f"Both {agents} {defect} every {period}",
        "one_defects": f"{a} chooses to {coop} every {period} while {b} chooses to {defect} every {period}",
        "take_turns": f"The {agents} take turns: one chooses to {defect} while the other chooses to {coop}, switching roles every {period}",
        "cooperate_then_defect": f"Both {agents} {coop} in odd {period}s and both {defect} in even {period}s",
    }


def _sustainability_steps(game: NormalFormGame, kinds: Sequence[str], delta: Fraction, notion: str) -> list[str]:
    steps = []
    for k in kinds:
        res = path_sustainable(game, PATHS[k], delta, notion)
        worst = min(res.checks, key=lambda c: c["path_value"] - c["deviation_value"])
        steps.append(
            f"{k.replace('_', ' ')}: worst case player {worst['player']} at phase {worst['phase']}: following the path is "
            f"worth {float(worst['path_value']):.4f} per period (normalised), deviating is worth "
            f"(1−δ)·{fmt(worst['best_deviation_payoff'])} + δ·{fmt(res.punishment[worst['player']])} = "
            f"{float(worst['deviation_value']):.4f} → {'sustainable' if res.sustainable else 'not sustainable'}.")
    return steps


def generate_enforceability(rng: random.Random, difficulty: int = 1) -> Problem:
    """Four outcome paths (stationary, one-sided, alternating, or a cooperate/defect cycle) of an infinitely
    repeated prisoner's dilemma at a given δ; exactly one is (or, in the negated form, is not) sustainable under
    the notion the question names: SPE with Nash reversion or Nash equilibrium with minmax punishment.
    `difficulty` ≥ 2 adds the two-period cycles among the options more often."""
    for _ in range(MAX_TRIES):
        cells = _draw_pd(rng)
        game = pd_game(cells)
        delta = Fraction(rng.randint(5, 95), 100)
        notion = rng.choice(["spe", "nash"])
        negated = rng.random() < 0.5
        pool = list(PATHS) if difficulty >= 2 or rng.random() < 0.5 else ["both_cooperate", "both_defect", "one_defects", "take_turns"]
        kinds = rng.sample(pool, 4)
        ok = {k: path_sustainable(game, PATHS[k], delta, notion).sustainable for k in kinds}
        hits = [k for k in kinds if ok[k] != negated]
        if len(hits) == 1:
            break
    else:
        raise RuntimeError("enforceability: no item with exactly one correct option found")
    ctx = rng.choice(REPEATED_CONTEXTS)
    texts = _path_options(ctx)
    options, gold = place_options(rng, texts[hits[0]], [texts[k] for k in kinds if k != hits[0]])
    notion_text = ("a subgame perfect equilibrium in which any deviation is punished by reverting to the stage-game "
                   "Nash equilibrium forever" if notion == "spe" else
                   "a Nash equilibrium of the repeated game in which a deviator is minmaxed forever")
    verb = "can NOT be sustained" if negated else "can be sustained"
    question = (f"{ctx[0]} The game is repeated infinitely often and both discount the future with δ = {fmt(delta)}. "
                f"{_payoff_sentence(rng, ctx, cells)} Which of the following outcome paths {verb} as {notion_text}?")
    R, T, S, P = (cells[k] for k in "RTSP")
    punish = "the stage Nash equilibrium (mutual defection) worth P" if notion == "spe" else "the minmax value"
    steps = [f"Stage payoffs: R = {fmt(R)}, T = {fmt(T)}, S = {fmt(S)}, P = {fmt(P)}; a deviator is punished with "
             f"{punish} = {fmt(P)} forever.",
             "A path is sustainable when, at every phase, each player's normalised value of following it is at least "
             "(1−δ)·(best one-shot deviation) + δ·(punishment value)."]
    steps += _sustainability_steps(game, kinds, delta, notion)
    steps.append(f"Exactly one option is {'not ' if negated else ''}sustainable: {texts[hits[0]]}.")
    return make_option_problem("enforceability", question, options, gold, steps,
                               meta={"difficulty": difficulty, "notion": notion, "negated": negated, "delta": str(delta),
                                     "cells": {k: str(v) for k, v in cells.items()}}, template="paths")


def generate_feasibility(rng: random.Random, difficulty: int = 1) -> Problem:
    """Per-period payoff pairs of an infinitely repeated prisoner's dilemma; by the folk theorem exactly one is
    (or, negated, is not) feasible and strictly individually rational. `difficulty` ≥ 2 uses asymmetric pairs."""
    for _ in range(MAX_TRIES):
        cells = _draw_pd(rng)
        game = pd_game(cells)
        negated = rng.random() < 0.5
        hull = feasible_set(game)
        xs = [p[0] for p in hull]
        lo, hi = min(xs), max(xs)

        def draw() -> tuple[Fraction, Fraction]:
            x = Fraction(rng.randint(max(0, int(lo) * 2 - 200), int(hi) * 2 + 200), 2)
            y = x if difficulty < 2 else Fraction(rng.randint(max(0, int(lo) * 2 - 200), int(hi) * 2 + 200), 2)
            return x, y

        points = sorted({draw() for _ in range(40)})
        mm = minmax_values(game, "mixed")
        ok = {p: feasible_and_rational(game, p, mm, hull) for p in points}
        good = [p for p in points if ok[p]]
        bad = [p for p in points if not ok[p]]
        if negated and len(bad) >= 1 and len(good) >= 3:
            hit, others = rng.choice(bad), rng.sample(good, 3)
            break
        if not negated and len(good) >= 1 and len(bad) >= 3:
            hit, others = rng.choice(good), rng.sample(bad, 3)
            break
    else:
        raise RuntimeError("feasibility: no item with exactly one correct option found")
    money = lambda v: ("-$" if v < 0 else "$") + _num(abs(v))  # noqa: E731
    text = lambda p: f"({money(p[0])}, {money(p[1])})"  # noqa: E731
    options, gold = place_options(rng, text(hit), [text(p) for p in others])
    ctx = rng.choice(REPEATED_CONTEXTS)
    verb = "can NOT" if negated else "can"
    question = (f"{ctx[0]} The game is repeated infinitely often and the players are sufficiently patient (discount "
                f"factor close to 1). {_payoff_sentence(rng, ctx, cells)} By the folk theorem, which of the following "
                f"average per-{ctx[4]} payoff pairs ({ctx[5]}, {ctx[6]}) {verb} be sustained in a subgame perfect "
                f"equilibrium of the repeated game?")
    steps = [f"Stage payoff pairs: {', '.join(f'({fmt(game.utility(0, p))}, {fmt(game.utility(1, p))})' for p in game.profiles())}.",
             f"The feasible set is their convex hull with vertices {', '.join(f'({fmt(x)}, {fmt(y)})' for x, y in hull)}.",
             f"Each player's minmax value is {fmt(mm[0])} (the opponent defects), so sustainable averages must exceed it.",]
    for o in options:
        p = _option_point(o)
        assert p is not None
        yes = lambda b: "yes" if b else "no"  # noqa: E731
        steps.append(f"{o}: feasible {yes(point_in_hull(hull, p))}, above minmax {yes(p[0] > mm[0] and p[1] > mm[1])} → "
                     + ("sustainable." if feasible_and_rational(game, p, mm, hull) else "not sustainable."))
    return make_option_problem("feasibility", question, options, gold, steps,
                               meta={"difficulty": difficulty, "negated": negated, "cells": {k: str(v) for k, v in cells.items()}},
                               template="folk")


# ====================================================================== backward_induction (sequential games)

_BI_NUMBER = re.compile(r"(?<![\w.])(?<!turn )(?<!round )(?<!stage )(?<!point )-?\d+(?:\.\d+)?(?!\w|\.\d|\s*-?\s*(?:rounds?|stages?|nodes?|steps?|years?|turns?|points?|decision)\b)")
_NON_NAMES = {"If", "In", "At", "The", "However", "Should", "Using", "What", "Consider", "Two", "When", "After", "Both",
              "Each", "This", "They", "Their", "A", "An", "Imagine", "Suppose", "Assume", "Given"}
_STOP = re.compile(r"finali|accept|settle|close|seal|conclude|agree|\btake\b|maintain|revert|stick|own treatment|conventional"
                   r"|standard|traditional|original|secure|lock|sign|wrap|immediately"
                   r"|continue with (?:his|her|their) (?:own|initial|recommended|conservative|current)", re.I)
_CONTINUE = re.compile(r"negotiat|\bpass|escalat|refer|extend|switch|adopt|push|further|back to|proceed|experimental"
                       r"|\blet\b|another round|counter|\bcontinue(?! with)|reject|delay|wait|hold out|decline|defer|alternative|opt for|yield|\bleave\b|\bhand\b|choose (?:Dr\.|Mr\.|Ms\.)"
                       r"|continue with (?:Dr\.|Mr\.|Ms\.)", re.I)


def option_action(option: str) -> str | None:
    """'stop' or 'continue' for a backward-induction option: the verb named first after 'should' decides
    (so 'finalize the negotiation' is a stop); None when neither reading fits."""
    text = re.split(r"\bshould\b", option, maxsplit=1)[-1]
    stop, cont = _STOP.search(text), _CONTINUE.search(text)
    if stop and cont:
        return "stop" if stop.start() < cont.start() else "continue"
    if stop or cont:
        return "stop" if stop else "continue"
    return None


def _bi_players(text: str) -> tuple[str, str] | None:
    """The two players' names as the story introduces them ('Alice and Bob', 'Dr. Smith and Dr. Adams',
    'a buyer and a seller' → 'buyer'/'seller'), first mover first."""
    name = r"(?:Dr\.|Mr\.|Ms\.|Mrs\.)\s[A-Z]\w+|\b[A-Z][a-z]+ [A-Z]\b|\b[A-Z][a-z]+"
    for m in re.finditer(rf"({name})\s*,?\s+and\s+({name})\b", text):
        a, b = m.group(1), m.group(2)
        if a not in _NON_NAMES and b not in _NON_NAMES and a != b:
            break
    else:
        m = re.search(r"\ban?\s+(\w+)\s+and\s+an?\s+(\w+)\b", text)
        if not m:
            return None
        a, b = m.group(1), m.group(2)
    if re.search(rf"{re.escape(b)}\s+(?:has|makes|gets|takes)\s+the\s+first|{re.escape(b)}\s+(?:moves|starts|goes)\s+first", text):
        a, b = b, a
    return a, b


def _last_mention(text: str, names: tuple[str, str]) -> int | None:
    best, who = -1, None
    for k, name in enumerate(names):
        for m in re.finditer(re.escape(name), text):
            if m.start() > best:
                best, who = m.start(), k
    return who


def parse_centipede(text: str) -> tuple[tuple[str, str], list[tuple[Fraction, Fraction]]]:
    """A chain game in prose, as STEER's three-round negotiations: player 1 stops (x1, y1) or continues;
    player 2 stops (x2, y2) or continues; … the last mover stops or lets the final outcome be. Returns the
    names and the payoff pairs (player 1, player 2), each number assigned to the player named nearest
    before (or right after) it."""
    names = _bi_players(text)
    if names is None:
        raise ParseError("cannot find the two players' names")
    nums = [(Fraction(m.group(0)), m.start(), m.end()) for m in _BI_NUMBER.finditer(text)]
    if len(nums) < 6 or len(nums) % 2:
        raise ParseError(f"expected an even number (at least 6) of payoffs, found {len(nums)}")
    owners: list[int | None] = []
    for k, (_, start, end) in enumerate(nums):
        ctx = text[nums[k - 1][2] if k else 0: start]
        after = text[end: nums[k + 1][1] if k + 1 < len(nums) else len(text)]
        m = re.match(r"\s*(?:to|for)\s+(.*)", after)
        post = _last_mention(m.group(1)[:30], names) if m else None
        if post is not None and (k % 2 == 1 or _last_mention(ctx, names) is None or re.search(r"respective", ctx, re.I)):
            owners.append(post)
        else:
            owners.append(_last_mention(ctx[-120:], names))
    pairs = []
    for k in range(0, len(nums), 2):
        o1, o2 = owners[k], owners[k + 1]
        tail = text[nums[k + 1][2]: nums[k + 1][2] + 25]
        if re.search(r"respectiv", tail + text[nums[k][2]: nums[k + 1][1]], re.I):
            clause = re.split(r"(?<=[.;])\s+", text[nums[k - 1][2] if k else 0: nums[k][1]])[-1]
            first_seen = sorted((clause.find(n), i) for i, n in enumerate(names) if n in clause)
            if len(first_seen) == 2:
                o1, o2 = first_seen[0][1], first_seen[1][1]
        if o1 is None and o2 is None:
            o1, o2 = 0, 1
        elif o1 is None or o2 is None or o1 == o2:
            known = o1 if o1 is not None else o2
            o1, o2 = (known, 1 - known) if o1 is not None else (1 - known, known)
        first, second = nums[k][0], nums[k + 1][0]
        pairs.append((first, second) if o1 == 0 else (second, first))
    return names, pairs


def centipede_tree(pairs: Sequence[tuple[Fraction, Fraction]]) -> Decision:
    """The chain game: at stage k the mover (alternating from player 0) stops with pairs[k] or continues;
    the last pair is the outcome when the last mover continues."""
    node: Leaf | Decision = Leaf(pairs[-1])
    for k in range(len(pairs) - 2, -1, -1):
        node = Decision(k % 2, {"stop": Leaf(pairs[k]), "continue": node})
    assert isinstance(node, Decision)
    return node


def _asked_stage(question: str) -> int | None:
    last = re.split(r"(?<=[.!?])\s+", question.strip())[-1]
    numbered = re.search(r"\b(?:turn|round|stage)\s+(\d+)", last, re.I)
    if numbered:
        return int(numbered.group(1)) - 1
    for pattern, stage in ((r"initial|first|start|beginning|outset|opening", 0), (r"second", 1), (r"third|final|last", 2)):
        if re.search(pattern, last, re.I):
            return stage
    return None


def spe_actions(tree: Decision, history: tuple[str, ...]) -> set[str]:
    """Actions played at `history` in some subgame-perfect equilibrium."""
    return {eq.strategy[history] for eq in backward_induction(tree)}


_TREE_LINE = re.compile(r"^- (.+?): \((-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)\)\s*$", re.M)


def parse_tree_listing(text: str) -> Decision | None:
    """A tree written as one line per terminal history, `- Up, Left, High: (3, 5)`, players alternating by
    depth from player 0; None when the text has no such listing."""
    spec: dict[str, Any] = {}
    rows = _TREE_LINE.findall(text)
    if not rows:
        return None
    for history, x, y in rows:
        node = spec
        moves = [m.strip() for m in history.split(",")]
        for move in moves[:-1]:
            node = node.setdefault(move, {})
            if not isinstance(node, dict):
                raise ParseError(f"history {history!r} extends a terminal history")
        node[moves[-1]] = [Fraction(x), Fraction(y)]
    tree = from_nested(spec)
    if not isinstance(tree, Decision):
        raise ParseError("the listing has no decision")
    return tree


def _audit_tree_listing(problem: Problem, tree: Decision) -> AuditResult:
    paths = subgame_perfect_paths(tree)
    options = problem.choices or []
    read = [tuple(m.strip() for m in o.split(",")) for o in options]
    correct = [i for i, path in enumerate(read) if path in paths]
    answer = " | ".join(", ".join(p) for p in paths)
    return verdict_for(problem, options, correct, answer, f"subgame-perfect path(s): {answer}")


def audit_backward_induction(problem: Problem) -> AuditResult:
    """Reads STEER's three-round negotiation stories (and trees listed one terminal history per line). The
    medical-treatment stories are left unparsed: which action ends the game and who earns what ('for her')
    changes from story to story."""
    text = problem.question
    try:
        tree = parse_tree_listing(text)
    except (ParseError, ValueError) as exc:
        return unparsed(str(exc))
    if tree is not None:
        return _audit_tree_listing(problem, tree)
    if re.search(r"treatment|physician|\bDr\.", text, re.I):
        return unparsed("treatment story: the action that ends the game is not machine-readable")
    try:
        names, pairs = parse_centipede(text)
    except ParseError as exc:
        return unparsed(str(exc))
    stage = _asked_stage(text)
    options = problem.choices or []
    if stage is None:
        actors = {k for o in options for k, n in enumerate(names) if o.startswith(n) or o.startswith(f"The {n}")}
        if actors != {1}:
            return unparsed("cannot tell which decision node is asked about")
        stage = 1  # the second mover decides only at the second node
    kinds = [option_action(o) for o in options]
    if sorted(map(str, kinds)) != ["continue", "stop"]:
        return unparsed(f"options read as {kinds}, expected one stop and one continue")
    tree = centipede_tree(pairs)
    if not 0 <= stage < len(pairs) - 1:
        return unparsed(f"asked about decision {stage + 1} of a {len(pairs) - 1}-decision game")
    actions = spe_actions(tree, ("continue",) * stage)
    correct = [i for i, k in enumerate(kinds) if k in actions]
    outcome_text = "; ".join(f"({float(x):.2f}, {float(y):.2f})" for x, y in pairs)
    return verdict_for(problem, options, correct, "/".join(sorted(actions)),
                       f"{names[stage % 2]} at stage {stage + 1}: SPE action(s) {sorted(actions)}; outcomes {outcome_text}",
                       players=list(names))


BI_PAIRS = [("Alice", "Bob"), ("Sofia", "Lukas"), ("Alex", "Taylor"), ("Maria", "Kenji"), ("Priya", "Omar")]
CHAIN_STORIES = [
    ("{a} and {b} negotiate a deal over {n} rounds. In each round the player whose turn it is can accept the terms "
     "on the table, which ends the negotiation, or pass the negotiation to the other player.", "accept the terms", "pass the negotiation to {o}"),
    ("{a} and {b} share a growing pot of money over {n} turns. On each turn the player to move can take the pot, which "
     "ends the game, or leave it to grow and hand the turn to the other player.", "take the pot", "leave the pot to {o}"),
    ("{a} and {b} run a joint project with {n} decision points. At each point the player in charge can close the project "
     "and split the proceeds as agreed, or hand control to the other player and continue.", "close the project", "hand control to {o}"),
]


def _distinct_payoffs(rng: random.Random, n: int) -> list[tuple[Fraction, Fraction]]:
    xs = rng.sample(range(-10, 31), n)
    ys = rng.sample(range(-10, 31), n)
    return [(Fraction(x), Fraction(y)) for x, y in zip(xs, ys)]


def _bi_steps_chain(tree: Decision, names: Sequence[str], stop: str, cont: str) -> list[str]:
    """Backward induction on a chain game, last turn first, one line per turn."""
    chain: list[Decision] = []
    node: Leaf | Decision = tree
    while isinstance(node, Decision):
        chain.append(node)
        node = node.children["continue"]
    value = node.payoffs
    steps = []
    for k in range(len(chain) - 1, -1, -1):
        i = chain[k].player
        stop_pay = chain[k].children["stop"].payoffs
        stops = stop_pay[i] > value[i]
        steps.append(f"Turn {k + 1} ({names[i]} moves): stopping gives {names[i]} {fmt(stop_pay[i])}, continuing leads to "
                     f"({fmt(value[0])}, {fmt(value[1])}) and gives {fmt(value[i])} → {names[i]} should "
                     f"{stop if stops else cont.format(o=names[1 - i])}.")
        if stops:
            value = stop_pay
    return steps


TREE_LEVEL_ACTIONS = [("Up", "Down"), ("Left", "Right"), ("High", "Low"), ("Enter", "Wait"), ("Expand", "Hold"),
                      ("Invest", "Save"), ("Accept", "Reject"), ("North", "South")]
TREE_STORIES = [
    "{a} and {b} make a sequence of public moves, each seeing every earlier move.",
    "Two rival companies, led by {a} and {b}, take turns committing to strategic moves that the other observes.",
    "In a board game, {a} and {b} alternate moves with full knowledge of the moves made so far.",
]


def _tree_from_levels(rng: random.Random, levels: list[tuple[str, str]]) -> tuple[Decision, list[tuple[tuple[str, ...], tuple[Fraction, Fraction]]]]:
    n_leaves = 2 ** len(levels)
    xs, ys = rng.sample(range(-10, 31), n_leaves), rng.sample(range(-10, 31), n_leaves)
    histories = list(itertools.product(*levels))
    pays = [(Fraction(x), Fraction(y)) for x, y in zip(xs, ys)]

    def build(depth: int, prefix: tuple[str, ...]) -> Leaf | Decision:
        if depth == len(levels):
            return Leaf(pays[histories.index(prefix)])
        return Decision(depth % 2, {a: build(depth + 1, prefix + (a,)) for a in levels[depth]})

    tree = build(0, ())
    assert isinstance(tree, Decision)
    return tree, list(zip(histories, pays))


def _tree_steps(tree: Decision, names: Sequence[str]) -> list[str]:
    steps: list[str] = []

    def solve(node: Leaf | Decision, history: tuple[str, ...]) -> tuple[Fraction, ...]:
        if isinstance(node, Leaf):
            return node.payoffs
        values = {a: solve(c, history + (a,)) for a, c in node.children.items()}
        best = max(values, key=lambda a: values[a][node.player])
        where = "at the start" if not history else "after " + ", ".join(history)
        options = "; ".join(f"{a} → ({fmt(v[0])}, {fmt(v[1])})" for a, v in values.items())
        steps.append(f"{names[node.player]} {where}: {options}; {names[node.player]} picks {best}.")
        return values[best]

    value = solve(tree, ())
    steps.append(f"Equilibrium payoffs: ({fmt(value[0])}, {fmt(value[1])}).")
    return steps


def generate_tree_problem(rng: random.Random, difficulty: int) -> Problem:
    """A binary perfect-information tree of depth difficulty + 1 with distinct payoffs (a unique SPE),
    listed one terminal history per line; four candidate paths, exactly one subgame perfect."""
    depth = difficulty + 1
    levels = rng.sample(TREE_LEVEL_ACTIONS, depth)
    a, b = rng.choice(BI_PAIRS)
    names = (a, b)
    tree, leaves_ = _tree_from_levels(rng, levels)
    path = subgame_perfect_paths(tree)[0]
    moves = " ".join(
        f"{'First' if k == 0 else 'Then'} {names[k % 2]} chooses {x} or {y}." for k, (x, y) in enumerate(levels))
    listing = "\n".join(f"- {', '.join(h)}: ({fmt(p[0])}, {fmt(p[1])})" for h, p in leaves_)
    question = (f"{rng.choice(TREE_STORIES).format(a=a, b=b)} {moves} Each player maximises their own payoff. The payoffs "
                f"({a}, {b}) after each sequence of moves are:\n{listing}\n"
                "Which sequence of moves is played in the subgame-perfect equilibrium?")
    others = rng.sample([h for h, _ in leaves_ if h != path], 3)
    options, gold = place_options(rng, ", ".join(path), [", ".join(h) for h in others])
    steps = ["Solve by backward induction, deepest decisions first."] + _tree_steps(tree, names)
    steps.append(f"The equilibrium path is {', '.join(path)}.")
    return make_option_problem("backward_induction", question, options, gold, steps,
                               meta={"difficulty": difficulty, "depth": depth, "option_paths": [o.split(", ") for o in options],
                                     "leaves": [[list(h), str(p[0]), str(p[1])] for h, p in leaves_]}, template="tree")


def generate_backward_induction(rng: random.Random, difficulty: int = 1) -> Problem:
    """Either (40%) a binary tree of depth difficulty + 1 asking for the subgame-perfect path (four options), or
    a chain (centipede-style) game with difficulty + 2 turns asking for the action at a random turn (two
    options) or the turn at which the game ends (up to four options). Payoffs are distinct, so the
    subgame-perfect equilibrium is unique."""
    if difficulty < 1:
        raise ValueError(f"difficulty must be >= 1, got {difficulty}")
    if rng.random() < 0.4:
        return generate_tree_problem(rng, difficulty)
    turns = difficulty + 2
    a, b = rng.choice(BI_PAIRS)
    names = (a, b)
    story, stop, cont = rng.choice(CHAIN_STORIES)
    pairs = _distinct_payoffs(rng, turns + 1)
    tree = centipede_tree(pairs)
    lines = []
    for k in range(turns):
        mover = names[k % 2]
        x, y = pairs[k]
        lines.append(f"If {mover} chooses to {stop} on turn {k + 1}, {a} receives {fmt(x)} and {b} receives {fmt(y)}.")
    x, y = pairs[-1]
    lines.append(f"If {names[(turns - 1) % 2]} instead chooses to {cont.format(o=names[turns % 2])} on the last turn, "
                 f"the game ends with {a} receiving {fmt(x)} and {b} receiving {fmt(y)}.")
    intro = story.format(a=a, b=b, n=turns) + f" {a} moves first. " + " ".join(lines)
    steps = ["Solve by backward induction from the last turn."] + _bi_steps_chain(tree, names, stop, cont)
    path = subgame_perfect_paths(tree)[0]
    end_turn = len(path) if path[-1] == "stop" else turns + 1
    if rng.random() < 0.6:
        k = rng.randrange(turns)
        mover = names[k % 2]
        action = next(iter(spe_actions(tree, ("continue",) * k)))
        texts = {"stop": f"{mover} should {stop}", "continue": f"{mover} should {cont.format(o=names[1 - k % 2])}"}
        options, gold = place_options(rng, texts[action], [texts[x] for x in texts if x != action])
        question = f"{intro} Using backward induction, what should {mover} do on turn {k + 1}?"
        steps.append(f"On turn {k + 1} the subgame-perfect action is: {texts[action]}.")
        meta_q = {"asked_turn": k + 1, "option_actions": [next(x for x in texts if texts[x] == o) for o in options]}
    else:
        def ending(t: int) -> str:
            return f"The game ends on turn {t}" if t <= turns else f"No one stops; the game runs through all {turns} turns"
        choices = list(range(1, turns + 2))
        others = rng.sample([t for t in choices if t != end_turn], min(3, len(choices) - 1))
        options, gold = place_options(rng, ending(end_turn), [ending(t) for t in others])
        question = f"{intro} In the subgame-perfect equilibrium, when does the game end?"
        steps.append(f"Following the equilibrium actions from turn 1, play goes {' → '.join(path)}: "
                     + (f"the game ends on turn {end_turn}." if end_turn <= turns else "nobody ever stops."))
        meta_q = {"asked": "end_turn", "option_turns": [choices[[ending(t) for t in choices].index(o)] for o in options]}
    return make_option_problem("backward_induction", question, options, gold, steps,
                               meta={"difficulty": difficulty, "turns": turns, "payoffs": [[str(x), str(y)] for x, y in pairs], **meta_q},
                               template="chain")


# ====================================================================== registration

for _spec in (
    CategorySpec("pure_nash", "pairs", audit_pure_nash, generate_pure_nash, "all pure Nash equilibria of an n×n game"),
    CategorySpec("pte", "pairs", audit_pte, generate_pte, "perfectly transparent equilibrium (Fourny 2020)"),
    CategorySpec("bayes_nash", "option", audit_bayes_nash, generate_bayes_nash, "pure Bayes-Nash with a common prior, no private information"),
    CategorySpec("backward_induction", "option", audit_backward_induction, generate_backward_induction, "subgame-perfect play of chain games"),
    CategorySpec("trigger", "option", audit_trigger, generate_trigger, "minimum δ for grim trigger in a prisoner's dilemma"),
    CategorySpec("enforceability", "option", audit_enforceability, generate_enforceability, "outcome paths sustainable at a given δ"),
    CategorySpec("feasibility", "option", audit_feasibility, generate_feasibility, "folk-theorem feasible, individually rational payoffs"),
):
    register(_spec)
