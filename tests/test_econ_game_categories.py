"""Game-theory categories: generated items re-derived by the solvers, worked solutions graded correct,
uniform gold positions, determinism, and the audit of the published labels."""

from __future__ import annotations

import collections
import random
from fractions import Fraction

import pytest
from scipy.stats import chisquare

import recon.data.categories.games as games
from recon.data.categories import CATEGORY_SPECS
from recon.econ.extensive import backward_induction, from_nested
from recon.econ.normal_form import NormalFormGame, perfectly_transparent_equilibrium, pure_nash_equilibria
from recon.grading import grade
from recon.grading.grade import parse_pairs

CATEGORIES = ["pure_nash", "pte", "bayes_nash", "backward_induction", "trigger", "enforceability", "feasibility"]


def _cells(problem) -> dict[str, Fraction]:
    return {k: Fraction(v) for k, v in problem.meta["cells"].items()}


def _correct_options(problem) -> list[int]:
    """0-based options the solver finds correct, re-derived from the generated numbers."""
    cat, options = problem.category, problem.choices or []
    if cat == "bayes_nash":
        states, prior = games.parse_bayes_nash(problem.messages[-1]["content"])
        eqs = pure_nash_equilibria(games.expected_game(states, prior))
        return [i for i, o in enumerate(options) if games._profile_of_option(o, states[0]) in eqs]
    if cat == "trigger":
        delta = games.min_delta_grim_trigger(games.pd_game(_cells(problem))).delta
        return [i for i, o in enumerate(options) if abs(Fraction(o) - delta) <= Fraction(1, 200)]
    if cat == "enforceability":
        game, delta = games.pd_game(_cells(problem)), Fraction(problem.meta["delta"])
        ok = [games.path_sustainable(game, games.PATHS[games.classify_path(o)], delta, problem.meta["notion"]).sustainable
              for o in options]
        return [i for i, s in enumerate(ok) if s != problem.meta["negated"]]
    if cat == "feasibility":
        game = games.pd_game(_cells(problem))
        ok = [games.feasible_and_rational(game, games._option_point(o)) for o in options]
        return [i for i, s in enumerate(ok) if s != problem.meta["negated"]]
    if cat == "backward_induction":
        if "leaves" in problem.meta:  # a listed tree: rebuild it from the stored leaves
            spec: dict = {}
            for history, x, y in problem.meta["leaves"]:
                node = spec
                for move in history[:-1]:
                    node = node.setdefault(move, {})
                node[history[-1]] = [Fraction(x), Fraction(y)]
            paths = {tuple(p) for p in games.subgame_perfect_paths(from_nested(spec))}
            return [i for i, p in enumerate(problem.meta["option_paths"]) if tuple(p) in paths]
        tree = games.centipede_tree([(Fraction(x), Fraction(y)) for x, y in problem.meta["payoffs"]])
        spe = backward_induction(tree)
        assert len(spe) == 1, "distinct payoffs give a unique SPE"
        if "asked_turn" in problem.meta:
            action = spe[0].strategy[("continue",) * (problem.meta["asked_turn"] - 1)]
            return [i for i, a in enumerate(problem.meta["option_actions"]) if a == action]
        path = spe[0].path
        end = len(path) if path[-1] == "stop" else problem.meta["turns"] + 1
        return [i for i, t in enumerate(problem.meta["option_turns"]) if t == end]
    raise AssertionError(cat)


@pytest.mark.parametrize("category", CATEGORIES)
def test_generated_items_are_verified(category):
    spec = CATEGORY_SPECS[category]
    for seed in range(120):
        difficulty = 1 + seed % 2
        problem = spec.generate(random.Random(seed), difficulty)
        again = spec.generate(random.Random(seed), difficulty)
        assert problem.to_dict() == again.to_dict(), "generation must be deterministic for a seed"
        assert problem.category == category and problem.source == "generated"
        assert problem.id.startswith(f"gen-{category}-")
        solution = problem.meta["solution"]
        assert solution.startswith("<think>") and "</think>\n\n\\boxed{" in solution
        g = grade(solution, problem.gold, problem.answer_type, problem.choices)
        assert g.correct, (seed, g, problem.gold)
        if problem.answer_type == "pairs":
            game = games.parse_matrix_game(problem.messages[-1]["content"])
            expected = pure_nash_equilibria(game) if category == "pure_nash" else perfectly_transparent_equilibrium(game)
            if category == "pte" and len(expected) != 1:
                expected = []
            assert parse_pairs(problem.gold) == frozenset(expected)
        else:
            correct = _correct_options(problem)
            assert correct == [problem.gold_option - 1], (seed, correct, problem.gold)
            assert len(set(problem.choices)) == len(problem.choices)
            assert problem.gold.split(": ", 1)[1] == problem.choices[problem.gold_option - 1]


@pytest.mark.parametrize("category", ["bayes_nash", "trigger", "enforceability", "feasibility"])
def test_gold_positions_are_uniform(category):
    spec = CATEGORY_SPECS[category]
    counts = collections.Counter(spec.generate(random.Random(10_000 + s), 1).gold_option for s in range(400))
    assert set(counts) == {1, 2, 3, 4}
    assert chisquare([counts[k] for k in (1, 2, 3, 4)]).pvalue > 0.001


@pytest.mark.parametrize("category", CATEGORIES)
def test_generated_questions_are_distinct(category):
    spec = CATEGORY_SPECS[category]
    rng = random.Random(7)
    questions = [spec.generate(rng, 1).messages[-1]["content"] for _ in range(300)]
    assert len(set(questions)) == len(questions)


@pytest.mark.parametrize("category", CATEGORIES)
def test_audit_reads_generated_items_back(category):
    """The audit parses the generated prose (all templates) and agrees with the generated gold."""
    spec = CATEGORY_SPECS[category]
    verdicts = collections.Counter()
    for seed in range(150):
        problem = spec.generate(random.Random(seed), 1 + seed % 3)
        result = spec.audit(problem)
        if category == "backward_induction" and "option_turns" in problem.meta:
            assert result.verdict == "unparsed"  # 'when does the game end' has no STEER counterpart
            continue
        verdicts[result.verdict] += 1
        assert result.verdict == "agree", (seed, result)
    assert verdicts["agree"] > 50


def test_difficulty_scales_game_size():
    shapes = {d: {games.parse_matrix_game(games.generate_pure_nash(random.Random(s), d).question).shape for s in range(40)}
              for d in (1, 3)}
    assert shapes == {1: {(3, 3), (3, 2), (2, 3)}, 3: {(5, 5), (5, 4), (4, 5)}}
    sizes = {(p.meta.get("turns"), p.meta.get("depth")) for p in (games.generate_backward_induction(random.Random(s), 3) for s in range(30))}
    assert sizes == {(5, None), (None, 4)}
    with pytest.raises(ValueError):
        games.generate_pte(random.Random(0), 0)


def test_pd_parser_reads_roles_from_prose():
    text = ("In a duopoly where two firms have a choice to either undercut each other's prices or collude to keep prices high "
            "for a homogeneous product, consider the following payoffs: if both firms decide to undercut prices, they each "
            "receive a payoff of $90701.05 continuously; if both firms collude to keep prices high, they receive $97331.61; "
            "if one firm undercuts while the other keeps its price high, the undercutting firm receives $38112.49 while the "
            "non-undercutting firm receives $25847.31. The firms discount future payoffs at a rate represented by 0.60.")
    cells = games.parse_symmetric_pd(text)
    assert cells == {"P": Fraction("90701.05"), "R": Fraction("97331.61"), "T": Fraction("38112.49"), "S": Fraction("25847.31")}
    assert games.parse_delta(text) == Fraction(3, 5)
    respectively = ("If both collaborate, each earns 628.0, if one collaborates while the other defects, they earn 591.5, "
                    "294.5 respectively, and if both defect, each earns 847.0.")
    assert games.parse_symmetric_pd(respectively) == {"R": 628, "S": Fraction("591.5"), "T": Fraction("294.5"), "P": 847}
    loss = ("If both firms share their technology, they each earn a payoff of $88447.98. If one firm shares while the other "
            "steals, the firm that shares incurs a loss of $79996.60, while the firm that steals gains a payoff of $68448.07. "
            "If both firms decide to steal the technology, they both earn $66175.13.")
    assert games.parse_symmetric_pd(loss)["S"] == Fraction("-79996.60")
    with pytest.raises(games.ParseError):
        games.parse_symmetric_pd("What is the minimum discount factor for the given one-shot payoff matrix?")


def test_option_classifiers():
    assert games.classify_path("Both firms A and B fulfill their servicing obligations every period") == "both_cooperate"
    assert games.classify_path("Both firms engage in a price war every year.") == "both_defect"
    assert games.classify_path("Firm A fulfills the servicing obligations while firm B reneges indefinitely") == "one_defects"
    assert games.classify_path("Firms take turns in undercutting prices and keeping prices high.") == "take_turns"
    assert games.classify_path("Firms randomly choose to adhere or breach the agreement in different periods.") is None
    assert games._option_point("($15176.33, $15333.27)") == (Fraction("15176.33"), Fraction("15333.27"))
    assert games._option_point("$52150.75") == (Fraction("52150.75"),) * 2


def test_registry_holds_the_game_categories():
    for name in CATEGORIES:
        spec = CATEGORY_SPECS[name]
        assert spec.audit is not None and spec.generate is not None
    assert CATEGORY_SPECS["pure_nash"].answer_type == "pairs"


@pytest.fixture(scope="module")
def published(data_dir):
    from recon.data.published import load_split

    return {split: load_split(split, data_dir) for split in ("train", "eval")}


def test_audit_of_published_items(published):
    verdicts = {}
    for split, problems in published.items():
        for cat in CATEGORIES:
            results = [CATEGORY_SPECS[cat].audit(p) for p in problems if p.category == cat]
            verdicts[(split, cat)] = collections.Counter(r.verdict for r in results)
            assert all(r.verdict in {"agree", "disagree", "ambiguous", "ill_posed", "unparsed"} for r in results)
            assert all(r.solver_answer is not None for r in results if r.verdict in {"agree", "disagree"})
    # the ETH matrix games and the Bayes-Nash tables are fully machine-readable and correctly labelled
    for cat, n_train, n_eval in (("pure_nash", 100, 20), ("pte", 100, 20), ("bayes_nash", 50, 20)):
        assert verdicts[("train", cat)] == {"agree": n_train}
        assert verdicts[("eval", cat)] == {"agree": n_eval}
    # the STEER prose categories parse for most items
    for cat in ("trigger", "enforceability", "feasibility", "backward_induction"):
        total = sum(verdicts[("train", cat)].values())
        assert verdicts[("train", cat)]["unparsed"] < 0.5 * total, (cat, verdicts[("train", cat)])
    # most grim-trigger items contradict a prisoner's dilemma (T > R > P, mutual defection a stage equilibrium)
    assert verdicts[("train", "trigger")]["ill_posed"] > verdicts[("train", "trigger")]["agree"]


def test_pte_with_ties_is_ill_posed():
    tie = games.Problem(
        id="t", category="pte", source="test", question="", choices=None, answer_type="pairs", gold="[]",
        messages=[{"role": "user", "content": "Player 0's payoff matrix:\n[[1, 1], [1, 1]]\n\nPlayer 1's payoff matrix:\n[[1, 1], [1, 1]]"}],
    )
    assert games.audit_pte(tie).verdict == "ill_posed"
    assert NormalFormGame([[[1, 1], [1, 1]], [[1, 1], [1, 1]]]).shape == (2, 2)
