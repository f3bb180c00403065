"""`recon data shortcuts`: can a model score without reading the payoffs?

Payoff-blind baselines see each item's text with every number masked, plus its options, never the
payoffs: always Option k; the longest / shortest option; the k-th smallest option by its number;
the answer prior for open answers (`[]`, the most common train answer); and two linear models trained
on the train items of a category and scored on its eval items — a bag-of-n-grams model over the
masked question and the options (`ngram`) and one that sees only the options (`option_only`). A
category fails when a baseline beats chance + `margin` by a one-sided binomial test at p < `alpha`.
The `ngram` model's per-item predictions are kept, so an evaluation can report accuracy on the items
the payoff-blind baseline gets wrong (`accuracy_where_blind_wrong`)."""

from __future__ import annotations

import json
import math
import random
import re
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from recon.data.contamination import mask_numbers
from recon.data.problem import Problem
from recon.errors import UserError

if TYPE_CHECKING:  # numpy is imported where the linear baselines run, so `recon --help` stays light
    import numpy as np

MARGIN = 0.05
ALPHA = 0.01
MIN_ITEMS = 200
MAX_RANK = 4
MAX_OPEN_CANDIDATES = 30
HASH_DIM = 1 << 18
BLIND_MODEL = "ngram"
# Categories whose answer follows from the words — who declined a trade, which payment was chosen,
# the bidders' risk attitude, which prospect was preferred — which is the reasoning the item asks for,
# and the published text-only categories: there the question-reading `ngram` model is reported, not tested.
WORDED_CATEGORIES = frozenset({"endowment_effect", "time_inconsistency", "auction_risk", "certainty_effect",
                               "econnli", "econlogicqa", "budget_balance"})
PREDICTIONS_FILE = "shortcut_predictions.jsonl"


class ShortcutError(UserError):
    """A category that a payoff-blind baseline solves above chance."""


# ------------------------------------------------------------------ answers and candidates


def answer_class(problem: Problem, answer: str) -> str:
    """The canonical form of an open answer (yes/no, ordering, cells) to `problem`, so equal answers compare equal."""
    from dataclasses import replace

    from recon.data.report import _answer_class

    return _answer_class(replace(problem, gold=answer))


def open_answer_space(problem: Problem) -> int:
    """How many answers a uniform guesser chooses from: k options, Yes/No, the orderings, or for
    equilibrium cells `[]` plus each single cell of the game."""
    if problem.answer_type == "option":
        return len(problem.choices or [])
    if problem.answer_type == "yes_no":
        return 2
    if problem.answer_type == "ordering":
        from recon.grading.grade import parse_ordering

        return math.factorial(len(parse_ordering(problem.gold) or "ab"))
    from recon.data.categories.matrix import parse_matrix_game

    try:
        rows, cols = parse_matrix_game(problem.question).shape
    except ValueError:
        return 10  # a published pairs item whose matrices are not readable: a 3×3 game
    return rows * cols + 1


def chance(problems: Sequence[Problem]) -> float:
    """Mean accuracy of a uniform guess."""
    return sum(1 / open_answer_space(p) for p in problems) / len(problems)


class Candidates:
    """The answers a baseline picks from for each item: its options, or for open answers the most
    common answers of the category in train."""

    def __init__(self, train: Sequence[Problem]):
        votes: dict[str, Counter] = defaultdict(Counter)
        for p in train:
            if p.answer_type != "option":
                votes[p.category][answer_class(p, p.gold)] += 1
        self.open = {c: [a for a, _ in v.most_common(MAX_OPEN_CANDIDATES)] for c, v in votes.items()}

    def of(self, problem: Problem) -> list[str]:
        if problem.answer_type == "option":
            return list(problem.choices or [])
        return self.open.get(problem.category, [])

    def gold_index(self, problem: Problem) -> int | None:
        if problem.answer_type == "option":
            return (problem.gold_option or 0) - 1
        gold = answer_class(problem, problem.gold)
        options = self.of(problem)
        return options.index(gold) if gold in options else None


# ------------------------------------------------------------------ rules


_VALUE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def option_value(text: str) -> float | None:
    """The first number in an option's text."""
    match = _VALUE.search(text)
    return float(match.group(0).replace(",", "")) if match else None


def _tie_break(problem: Problem, n: int) -> int:
    return random.Random(f"tie:{problem.id}").randrange(n)


def numeric_rank_rule(k: int) -> Callable[[Problem, list[str]], int]:
    """Pick the option with the k-th smallest number (k = -1: the largest); a random option when the
    options do not carry distinct numbers."""

    def pick(problem: Problem, options: list[str]) -> int:
        values = [option_value(o) for o in options]
        if None in values or len(set(values)) < len(values) or k > len(values):
            return _tie_break(problem, len(options))
        order = sorted(range(len(values)), key=lambda i: values[i])
        return order[k - 1] if k > 0 else order[-1]

    return pick


def length_rule(longest: bool) -> Callable[[Problem, list[str]], int]:
    """Pick the longest (or shortest) option; a random one among ties."""

    def pick(problem: Problem, options: list[str]) -> int:
        lengths = [len(o) for o in options]
        target = max(lengths) if longest else min(lengths)
        tied = [i for i, n in enumerate(lengths) if n == target]
        return tied[_tie_break(problem, len(tied))]

    return pick


def position_rule(k: int) -> Callable[[Problem, list[str]], int | None]:
    return lambda problem, options: k - 1 if k <= len(options) else None


def open_answer_rule(answer: str | None) -> Callable[[Problem, list[str]], int | None]:
    """Always give `answer` (None: the most common train answer, the first candidate)."""
    return lambda problem, options: (0 if options else None) if answer is None else (options.index(answer) if answer in options else None)


OPTION_RULES: dict[str, Callable[[Problem, list[str]], int | None]] = {
    **{f"option_{k}": position_rule(k) for k in range(1, MAX_RANK + 1)},
    "longest_option": length_rule(True),
    "shortest_option": length_rule(False),
    **{f"rank_{k}_smallest": numeric_rank_rule(k) for k in range(1, MAX_RANK + 1)},
    "largest_number": numeric_rank_rule(-1),
}
OPEN_RULES: dict[str, Callable[[Problem, list[str]], int | None]] = {
    "answer_[]": open_answer_rule("[]"),
    "most_common_answer": open_answer_rule(None),
}


# ------------------------------------------------------------------ linear models


def _ngrams(text: str) -> list[str]:
    words = re.findall(r"[a-z#]+|[^\sa-z#]", text)
    return sorted(set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])})


_PAIR_PRIME = 1_000_003


def _hashes(features: Iterable[str]) -> np.ndarray:
    """Stable hashed ids of features (crc32, the same in every process)."""
    import numpy as np

    return np.fromiter((zlib.crc32(f.encode()) % HASH_DIM for f in features), dtype=np.int64)


def _ranks(values: Sequence[float | None]) -> list[str]:
    if None in values or len(set(values)) < len(values):
        return ["none"] * len(values)
    order = sorted(range(len(values)), key=lambda i: values[i])  # type: ignore[arg-type, return-value]
    return [str(order.index(i)) for i in range(len(values))]


def candidate_features(problem: Problem, options: list[str], with_question: bool) -> list[np.ndarray]:
    """Hashed feature ids for each candidate: its masked n-grams, position, length and numeric rank,
    and (`with_question`) each masked question n-gram conjoined with those."""
    import numpy as np

    masked = [mask_numbers(o) for o in options]
    value_ranks = _ranks([option_value(o) for o in options])
    length_ranks = _ranks([float(len(o)) for o in options])
    question = _hashes(f"q:{g}" for g in _ngrams(mask_numbers(problem.question))) if with_question else _hashes([])
    open_answer = problem.answer_type != "option"
    out = []
    for i, text in enumerate(masked):
        words = [f"o:{g}" for g in ([text] if open_answer else _ngrams(text))]
        shape = [f"vrank:{value_ranks[i]}", f"lrank:{length_ranks[i]}"] + ([] if open_answer else [f"pos:{i}"])
        own = _hashes(words + shape)
        conjoined = _hashes(shape + words[:8])  # what each question n-gram is paired with (bounded: questions are long)
        pairs = (question[:, None] * _PAIR_PRIME + conjoined[None, :]) % HASH_DIM
        out.append(np.unique(np.concatenate([own, pairs.ravel()])))
    return out


class LinearChooser:
    """A softmax over each item's candidates with a linear score on hashed features, fitted by SGD."""

    def __init__(self, with_question: bool, epochs: int = 8, learning_rate: float = 0.2, seed: int = 0):
        import numpy as np

        self.with_question, self.epochs, self.learning_rate, self.seed = with_question, epochs, learning_rate, seed
        self.weights = np.zeros(HASH_DIM)

    def fit(self, items: list[tuple[Problem, list[str], int]]) -> "LinearChooser":
        import numpy as np

        data = [(candidate_features(p, options, self.with_question), gold) for p, options, gold in items if len(options) > 1]
        rng = random.Random(self.seed)
        for _ in range(self.epochs):
            rng.shuffle(data)
            for feats, gold in data:
                scores = np.array([self.weights[f].sum() for f in feats])
                probs = np.exp(scores - scores.max())
                probs /= probs.sum()
                for i, f in enumerate(feats):
                    self.weights[f] -= self.learning_rate * (probs[i] - (i == gold)) / max(1, math.sqrt(len(f)))
        return self

    def choose(self, problem: Problem, options: list[str]) -> int | None:
        if not options:
            return None
        scores = [self.weights[f].sum() for f in candidate_features(problem, options, self.with_question)]
        best = max(scores)
        tied = [i for i, s in enumerate(scores) if s >= best - 1e-12]
        return tied[_tie_break(problem, len(tied))]


# ------------------------------------------------------------------ the audit


def binomial_sf(successes: int, n: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(n, p)."""
    if successes <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if successes <= n else 0.0
    log_terms = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
                 for k in range(successes, n + 1)] if p > 0 else []
    if not log_terms:
        return 0.0
    top = max(log_terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in log_terms))


def _by_category(problems: Iterable[Problem]) -> dict[str, list[Problem]]:
    groups: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        groups[p.category].append(p)
    return dict(sorted(groups.items()))


def shortcut_audit(train: Sequence[Problem], evaluation: Sequence[Problem], margin: float = MARGIN, alpha: float = ALPHA,
                   min_items: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every payoff-blind baseline per eval category (models fitted on the same category's train items).

    Returns the report (per category: n, chance, each baseline's accuracy, the best one, its one-sided
    binomial p-value against chance + margin, ok) and the `ngram` model's per-item predictions.
    Categories with fewer than `min_items` eval items are reported but not tested; in
    `WORDED_CATEGORIES` the `ngram` model is reported but not tested."""
    candidates = Candidates(train)
    train_by = _by_category(train)
    per_category: dict[str, Any] = {}
    predictions: list[dict[str, Any]] = []
    for category, items in _by_category(evaluation).items():
        fit_items = [(p, candidates.of(p), g) for p in train_by.get(category, []) if (g := candidates.gold_index(p)) is not None]
        models = {name: LinearChooser(with_question=name == BLIND_MODEL).fit(fit_items) for name in (BLIND_MODEL, "option_only")}
        rules: dict[str, Callable[[Problem, list[str]], int | None]] = {
            **(OPTION_RULES if items[0].answer_type == "option" else OPEN_RULES), **{n: m.choose for n, m in models.items()}}
        correct: dict[str, int] = {}
        for name, rule in rules.items():
            hits = 0
            for p in items:
                options = candidates.of(p)
                pick = rule(p, options)
                hit = pick is not None and candidates.gold_index(p) == pick
                hits += hit
                if name == BLIND_MODEL:
                    predictions.append({"id": p.id, "category": category, "prediction": None if pick is None else options[pick],
                                        "correct": bool(hit)})
            correct[name] = hits
        n = len(items)
        base = chance(items)
        tested_rules = [k for k in correct if not (k == BLIND_MODEL and category in WORDED_CATEGORIES)]
        best = max(tested_rules, key=lambda k: correct[k])
        p_value = binomial_sf(correct[best], n, min(1.0, base + margin))
        tested = n >= min_items
        per_category[category] = {
            "n": n, "chance": base, "accuracy": {k: v / n for k, v in correct.items()}, "best": best,
            "best_accuracy": correct[best] / n, "excess": correct[best] / n - base, "p_value": p_value,
            "tested": tested, "ok": not tested or p_value >= alpha,
        }
    failures = [{"category": c, "cue": r["best"], "accuracy": r["best_accuracy"], "chance": r["chance"], "p_value": r["p_value"]}
                for c, r in per_category.items() if not r["ok"]]
    report = {"margin": margin, "alpha": alpha, "min_items": min_items, "per_category": per_category, "failures": failures,
              "all_ok": not failures}
    return report, predictions


def failure_message(report: dict[str, Any], what: str) -> str:
    """One line naming each failing category and its winning cue."""
    parts = [f"{f['category']} ({f['cue']} {100 * f['accuracy']:.1f}% vs chance {100 * f['chance']:.1f}%, p={f['p_value']:.1g})"
             for f in report["failures"]]
    return (f"{what}: payoff-blind baselines beat chance + {100 * report['margin']:.0f} points in " + "; ".join(parts)
            + " — fix the generator's cue (or drop the category) and rebuild")


def shortcut_markdown(report: dict[str, Any], title: str) -> str:
    lines = [f"## {title}", "",
             f"Best payoff-blind baseline per category (accuracy %); a category fails when it beats chance + "
             f"{100 * report['margin']:.0f} points at p < {report['alpha']} (one-sided binomial test, ≥ {report['min_items']} items).", "",
             "| category | n | chance | best baseline | accuracy | ngram | option_only | p-value | ok |", "|---|---:|---:|---|---:|---:|---:|---:|:-:|"]
    for c, r in report["per_category"].items():
        acc = r["accuracy"]
        ok = "yes" if r["ok"] and r["tested"] else ("–" if not r["tested"] else "NO")
        lines.append(f"| {c} | {r['n']} | {100 * r['chance']:.1f} | {r['best']} | {100 * r['best_accuracy']:.1f} | "
                     f"{100 * acc[BLIND_MODEL]:.1f} | {100 * acc['option_only']:.1f} | {r['p_value']:.2g} | {ok} |")
    return "\n".join(lines) + "\n"


def write_predictions(predictions: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in predictions))


def accuracy_where_blind_wrong(correct_by_id: dict[str, bool], predictions_path: str | Path) -> dict[str, dict[str, float | int]]:
    """A model's accuracy on the items the payoff-blind `ngram` baseline gets wrong, per category and
    `overall`: `correct_by_id` maps item id → whether the model answered it correctly."""
    from recon.data.problem import iter_jsonl

    groups: dict[str, list[bool]] = defaultdict(list)
    for row in iter_jsonl(predictions_path):
        if not row["correct"] and row["id"] in correct_by_id:
            groups[row["category"]].append(correct_by_id[row["id"]])
            groups["overall"].append(correct_by_id[row["id"]])
    return {c: {"n": len(v), "accuracy": sum(v) / len(v)} for c, v in sorted(groups.items()) if v}
