"""Game-theory categories: generated items re-derived by the solvers, worked solutions graded correct,
uniform gold positions, determinism, and the audit of the published labels."""

from __future__ import annotations

import collections
import random
import re
from fractions import Fraction

import pytest
from scipy.stats import chisquare

from recon.data.categories import CATEGORY_SPECS, matrix, repeated, sequential
from recon.data.problem import Problem
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
        states, prior = matrix.parse_bayes_nash(problem.messages[-1]["content"])
        eqs = pure_nash_equilibria(matrix.expected_game(states, prior))
        return [i for i, o in enumerate(options) if matrix._profile_of_option(o, states[0]) in eqs]
    if cat == "trigger":
        delta = repeated.min_delta_grim_trigger(repeated.pd_game(_cells(problem))).delta
        return [i for i, o in enumerate(options) if abs(Fraction(o) - delta) <= Fraction(1, 200)]
    if cat == "enforceability":  # the sustainable path with the highest average for the side that defects in 'one defects'
        game, delta = repeated.pd_game(_cells(problem)), Fraction(problem.meta["delta"])
        kinds = [repeated.classify_path(o) for o in options]
        sustained = [k for k in kinds if repeated.path_sustainable(game, repeated.PATHS[k], delta, problem.meta["notion"]).sustainable]
        best = max(sum(game.utility(1, cell) for cell in repeated.PATHS[k]) / len(repeated.PATHS[k]) for k in sustained)
        return [i for i, k in enumerate(kinds)
                if k in sustained and sum(game.utility(1, cell) for cell in repeated.PATHS[k]) / len(repeated.PATHS[k]) == best]
    if cat == "feasibility":
        game = repeated.pd_game(_cells(problem))
        ok = [repeated.feasible_and_rational(game, repeated._option_point(o)) for o in options]
        return [i for i, s in enumerate(ok) if s != problem.meta["negated"]]
    if cat == "backward_induction":
        if "leaves" in problem.meta:  # a listed tree: rebuild it from the stored leaves
            spec: dict = {}
            for history, x, y in problem.meta["leaves"]:
                node = spec
                for move in history[:-1]:
                    node = node.setdefault(move, {})
                node[history[-1]] = [Fraction(x), Fraction(y)]
            paths = {tuple(p) for p in sequential.subgame_perfect_paths(from_nested(spec))}
            return [i for i, p in enumerate(problem.meta["option_paths"]) if tuple(p) in paths]
        tree = sequential.centipede_tree([(Fraction(x), Fraction(y)) for x, y in problem.meta["payoffs"]])
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
            game = matrix.parse_matrix_game(problem.messages[-1]["content"])
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
    shapes = {d: {matrix.parse_matrix_game(matrix.generate_pure_nash(random.Random(s), d).question).shape for s in range(40)}
              for d in (1, 3)}
    assert shapes == {1: {(3, 3), (3, 2), (2, 3)}, 3: {(5, 5), (5, 4), (4, 5)}}
    sizes = {(p.meta.get("turns"), p.meta.get("depth")) for p in (sequential.generate_backward_induction(random.Random(s), 3) for s in range(30))}
    assert sizes == {(5, None), (None, 4)}
    with pytest.raises(ValueError):
        matrix.generate_pte(random.Random(0), 0)


def test_pd_parser_reads_roles_from_prose():
    text = ("In a duopoly where two firms have a choice to either undercut each other's prices or collude to keep prices high "
            "for a homogeneous product, consider the following payoffs: if both firms decide to undercut prices, they each "
            "receive a payoff of $90701.05 continuously; if both firms collude to keep prices high, they receive $97331.61; "
            "if one firm undercuts while the other keeps its price high, the undercutting firm receives $38112.49 while the "
            "non-undercutting firm receives $25847.31. The firms discount future payoffs at a rate represented by 0.60.")
    cells = repeated.parse_symmetric_pd(text)
    assert cells == {"P": Fraction("90701.05"), "R": Fraction("97331.61"), "T": Fraction("38112.49"), "S": Fraction("25847.31")}
    assert repeated.parse_delta(text) == Fraction(3, 5)
    respectively = ("If both collaborate, each earns 628.0, if one collaborates while the other defects, they earn 591.5, "
                    "294.5 respectively, and if both defect, each earns 847.0.")
    assert repeated.parse_symmetric_pd(respectively) == {"R": 628, "S": Fraction("591.5"), "T": Fraction("294.5"), "P": 847}
    loss = ("If both firms share their technology, they each earn a payoff of $88447.98. If one firm shares while the other "
            "steals, the firm that shares incurs a loss of $79996.60, while the firm that steals gains a payoff of $68448.07. "
            "If both firms decide to steal the technology, they both earn $66175.13.")
    assert repeated.parse_symmetric_pd(loss)["S"] == Fraction("-79996.60")
    with pytest.raises(repeated.ParseError):
        repeated.parse_symmetric_pd("What is the minimum discount factor for the given one-shot payoff matrix?")


def test_option_classifiers():
    assert repeated.classify_path("Both firms A and B fulfill their servicing obligations every period") == "both_cooperate"
    assert repeated.classify_path("Both firms engage in a price war every year.") == "both_defect"
    assert repeated.classify_path("Firm A fulfills the servicing obligations while firm B reneges indefinitely") == "one_defects"
    assert repeated.classify_path("Firms take turns in undercutting prices and keeping prices high.") == "take_turns"
    assert repeated.classify_path("Firms randomly choose to adhere or breach the agreement in different periods.") is None
    assert repeated._option_point("($15176.33, $15333.27)") == (Fraction("15176.33"), Fraction("15333.27"))
    assert repeated._option_point("$52150.75") == (Fraction("52150.75"),) * 2


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
            assert all(r.verdict in {"agree", "disagree", "ambiguous", "ill_posed", "incomplete", "unparsed"} for r in results)
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
    # items that refer to a payoff matrix they do not state are incomplete, not unparsed
    for split, problems in published.items():
        for p in problems:
            if p.category == "trigger" and not re.search(r"\d\.\d", p.question):
                assert CATEGORY_SPECS["trigger"].audit(p).verdict == "incomplete", p.id


def test_pte_with_ties_is_ill_posed():
    tie = Problem(
        id="t", category="pte", source="test", question="", choices=None, answer_type="pairs", gold="[]",
        messages=[{"role": "user", "content": "Player 0's payoff matrix:\n[[1, 1], [1, 1]]\n\nPlayer 1's payoff matrix:\n[[1, 1], [1, 1]]"}],
    )
    assert matrix.audit_pte(tie).verdict == "ill_posed"
    assert NormalFormGame([[[1, 1], [1, 1]], [[1, 1], [1, 1]]]).shape == (2, 2)


def _pd(text: str) -> dict[str, Fraction]:
    return repeated.parse_symmetric_pd(text)


def test_pd_reader_takes_roles_from_structure():
    # the payoff's owner named after it, with a role word of the cooperative action ('secured the reward')
    owner_after = ("If both decide to secure the reward, they receive a payoff of 572.0 each. If one gambler secures the reward "
                   "and the other takes the risk, the payoffs are 815.0 for the gambler who secured the reward and 427.0 for the "
                   "one who took the risk. If both take the risk, they end up with a payoff of 562.0 each.")
    assert _pd(owner_after) == {"R": 572, "S": 815, "T": 427, "P": 562}
    # 'respectively' follows the order the sides are named; 'the other does not' is the other action
    respectively = ("They both gain 427.0 if they stick to the agreement, if one remains compliant while the other does not, they "
                    "earn 368.0 and 466.0 respectively. If both decide to favor industrial growth over the agreement, each earns 574.0.")
    assert _pd(respectively) == {"R": 427, "S": 368, "T": 466, "P": 574}
    # a mirrored 'Conversely, …' sentence repeats the same pair
    mirrored = ("In each period, if both firms compete, each earns $43334.64; if both collude, each earns $98183.38; if firm A "
                "competes while firm B colludes, A earns $77043.33 and B earns $56330.53. Conversely, if firm B competes while A "
                "colludes, B earns $77043.33 and A earns $56330.53.")
    assert _pd(mirrored) == {"P": Fraction("43334.64"), "R": Fraction("98183.38"), "T": Fraction("77043.33"), "S": Fraction("56330.53")}
    # one word, one role: 'withholds' is not 'holds'; 'the other company' is the other than the one just named
    withhold = ("If both companies share their research findings as agreed, each gains a profit of $28519.83. If one company "
                "shares the research while the other withholds, the company that withholds makes a profit of $80001.09, while "
                "the other company incurs a loss of $71588.29. If both companies withhold their research findings, each makes "
                "a smaller profit of $83635.35.")
    assert _pd(withhold) == {"R": Fraction("28519.83"), "T": Fraction("80001.09"), "S": Fraction("-71588.29"), "P": Fraction("83635.35")}
    assert repeated._roles_in_order("keep their R&D secret") == ["D"]
    assert repeated._roles_in_order("non-poaching firms") == ["C"]
    assert repeated._roles_in_order("invest heavily in research") == ["C"]  # "heavy" names no defection
    with pytest.raises(repeated.MissingPayoffs):
        _pd("Consider the following payoff matrix of a symmetric two-player game that is infinitely repeated.")


def _chain_problem(question: str, options: list[str], gold: int) -> Problem:
    return Problem(id="t", category="backward_induction", source="test", question=question, choices=options,
                   answer_type="option", gold=f"Option {gold}: {options[gold - 1]}", messages=[{"role": "user", "content": question}])


def test_chain_reader_finds_the_asked_stage_and_payments():
    story = ("Two venture capitalists, Alex and Jordan, negotiate over 3 rounds. The negotiations begin with Alex. If Alex "
             "decides to settle in the first round, Alex will get 87828.09 and Jordan will receive 15757.19. If Alex passes the "
             "decision to Jordan, Jordan can either finalize the terms or pass it back to Alex for the final round. Should Jordan "
             "settle in round two, Alex would receive 98829.32 and Jordan would get 60553.18. If Alex settles in the last round, "
             "Alex will secure 22002.76 and Jordan 31989.72; if an arbitrator sets the terms, Alex would receive 22002.76 and "
             "Jordan would receive 31989.72. At the start of the second round, with the ability to either finalize or continue "
             "negotiations, what should Jordan do?")
    options = ["Jordan should finalize the deal", "Jordan should pass negotiations back to Alex"]
    result = sequential.audit_backward_induction(_chain_problem(story, options, 2))
    assert (result.verdict, result.solver_answer) == ("disagree", f"Option 1: {options[0]}")  # 60553 now beats 31990 later
    bidding = ("Two investors, Alice and Bob, bid over 3 rounds. Alice gets to make the initial decision. If Alice secures the "
               "real estate at the start, she will pay 85717.51 and Bob will pay 23564.31. If instead Alice improves her offer "
               "and it moves to Bob, Bob can secure it, where Alice would pay 16729.60 and Bob would pay 34127.59, or he can "
               "improve his bid. In the final round, if Alice secures the real estate, she will pay 73171.75 and Bob will pay "
               "66142.42. If the trustee sets the final terms, Alice will pay 73171.75 and Bob will pay 66142.42. What should "
               "Alice do in the first round of bidding?")
    options = ["Alice should secure the real estate at the stated price", "Alice should improve her offer and pass the decision to Bob"]
    assert sequential.audit_backward_induction(_chain_problem(bidding, options, 2)).verdict == "agree"  # payments are losses
    lacking = story.replace("Alex would receive 98829.32 and Jordan would get 60553.18", "Alex would receive 98829.32")
    assert sequential.audit_backward_induction(_chain_problem(lacking, ["Jordan should finalize the deal", "Jordan should pass negotiations back to Alex"], 1)).verdict == "incomplete"


SHORTCUT_ITEMS = 200


def test_enforceability_names_carry_no_answer():
    """'Both defect is sustainable, a one-sided path never is' used to score 189/200 without the payoffs, and
    later the one path left out of the options told the answer: now every item offers the same four paths and
    each is the gold about a quarter of the time, under either notion."""
    kinds_of_gold = collections.Counter()
    for seed in range(SHORTCUT_ITEMS):
        p = CATEGORY_SPECS["enforceability"].generate(random.Random(seed), 1)
        kinds = [repeated.classify_path(o) for o in p.choices]
        assert sorted(kinds) == sorted(repeated.ENFORCEABILITY_KINDS)
        kinds_of_gold[(kinds[p.gold_option - 1], p.meta["notion"])] += 1
    for notion in ("spe", "nash"):
        counts = [kinds_of_gold[(k, notion)] for k in repeated.ENFORCEABILITY_KINDS]
        assert chisquare(counts).pvalue > 0.001, (notion, counts)


def test_trigger_gold_rank_is_uniform():
    """The gold used to be the 2nd or 3rd smallest option in 166/200 items."""
    ranks = collections.Counter()
    for seed in range(400):
        p = CATEGORY_SPECS["trigger"].generate(random.Random(seed), 1)
        values = sorted(Fraction(o) for o in p.choices)
        ranks[values.index(Fraction(p.choices[p.gold_option - 1]))] += 1
    assert chisquare([ranks[k] for k in range(4)]).pvalue > 0.001


@pytest.mark.parametrize("category", ["pure_nash", "pte"])
def test_empty_answer_is_no_likelier_than_a_cell(category):
    """`[]` is drawn as if it were one more cell, so answering `[]` scores about 1/(cells + 1)."""
    golds = [CATEGORY_SPECS[category].generate(random.Random(seed), 1).gold for seed in range(SHORTCUT_ITEMS)]
    empty = golds.count("[]")
    most_common_other = collections.Counter(g for g in golds if g != "[]").most_common(1)[0][1]
    assert 0 < empty <= max(most_common_other, SHORTCUT_ITEMS // 10) + SHORTCUT_ITEMS * 0.05


def test_difficulty_one_includes_the_published_3x3_shape():
    shapes = collections.Counter(matrix.parse_matrix_game(CATEGORY_SPECS[c].generate(random.Random(s), 1).messages[-1]["content"]).shape
                                 for c in ("pure_nash", "pte") for s in range(60))
    assert shapes[(3, 3)] >= 40


def test_feasibility_gold_rank_is_uniform():
    """The one feasible pair used to sit between the others (and the one infeasible pair at an end)."""
    ranks = collections.Counter()
    for seed in range(400):
        p = CATEGORY_SPECS["feasibility"].generate(random.Random(seed), 1)
        firsts = sorted(repeated._option_point(o)[0] for o in p.choices)
        ranks[firsts.index(repeated._option_point(p.choices[p.gold_option - 1])[0])] += 1
    assert chisquare([ranks[k] for k in range(4)]).pvalue > 0.001


def test_pd_reader_takes_payoffs_listed_before_their_cases():
    # the case follows its payoff ('534.0 if both …'); the pair's owners are named after theirs
    gambler = ("The one-shot game payoffs are: 534.0 if both secure the reward, 918.5 for the gambler, and 570.5 for the "
               "secure player if one gambles and the other secures; 176.0 if both gamble.")
    assert _pd(gambler) == {"R": 534, "T": Fraction("918.5"), "S": Fraction("570.5"), "P": 176}
    safe = ("The payoffs for a single game are as follows: 199.0 to each if both play it safe, 402.0 to the risker and 744.5 "
            "to the safe player if one plays it safe and the other risks it, and 92.0 to each if both risk it.")
    assert _pd(safe) == {"R": 199, "T": 402, "S": Fraction("744.5"), "P": 92}
    # one clause per payoff, the deviator named before it and 'the other' after it
    deviating = ("given that each firm earns a profit of $49069.80 every period for mutual cooperation, a deviating firm earns "
                 "$62530.15 for breaking the agreement while the other firm gets $31403.26, and both earn $85795.82 if they "
                 "both decide to compete in the same market the following year?")
    assert _pd(deviating) == {"R": Fraction("49069.80"), "T": Fraction("62530.15"), "S": Fraction("31403.26"), "P": Fraction("85795.82")}
    # 'respectively' takes the order of the case named in the clause before
    river = ("If they both invest, they both get 515.0 in health benefits. If one invests and the other does not, the one that "
             "invests incurs a cost while the other enjoys the river without incurring the cost; they get 537.0, 328.0 in "
             "health benefits, respectively. If neither invests, both suffer from pollution and get 943.0 in health benefits.")
    assert _pd(river) == {"R": 515, "S": 537, "T": 328, "P": 943}
    # labelled sides: the owner's action is the one the case gives its label
    labelled = ("If both corporations adhere to the agreement during each period, they each receive a payoff of $17114.85; if "
                "corporation A adheres and B breaches, A receives $68936.68 and B receives $74397.48; if corporation B adheres "
                "and A breaches, B receives $68936.68 and A receives $74397.48; if both breach the agreement, they each receive $28985.30.")
    assert _pd(labelled) == {"R": Fraction("17114.85"), "S": Fraction("68936.68"), "T": Fraction("74397.48"), "P": Fraction("28985.30")}


def test_pd_reader_action_phrases():
    neither = ("Each year, if both firms comply with the agreement, each earns $14887.68; if firm A complies but firm B does not, "
               "A's profit is reduced to $41476.93 while B's profit increases to $23519.30; if firm B complies but firm A does "
               "not, B's profit is reduced to $41476.93 while A's profit increases to $23519.30; if neither complies, both firms "
               "only secure $43174.94.")
    assert _pd(neither) == {"R": Fraction("14887.68"), "S": Fraction("41476.93"), "T": Fraction("23519.30"), "P": Fraction("43174.94")}
    advertising = ("If each firm heavily advertises, they both earn $34799.90 per year.  If both firms agree not to advertise, they "
                   "both earn $90895.94 per year.  However, if one firm decides to advertise while the other does not, the "
                   "advertising firm would earn $81495.48 per year and the non-advertising firm would earn $32334.06 per year.")
    assert _pd(advertising) == {"P": Fraction("34799.90"), "R": Fraction("90895.94"), "T": Fraction("81495.48"), "S": Fraction("32334.06")}
    aggressive = ("The payoffs of their strategic choices are as follows: if both engage in collaborative research, they each earn "
                  "832.0; if one invests in aggressive individual R&D while the other remains collaborative, they obtain 166.0 "
                  "and 199.0, respectively; if both invest in aggressive individual R&D, they each earn 867.0.")
    assert _pd(aggressive) == {"R": 832, "T": 166, "S": 199, "P": 867}


def test_chain_reader_names_and_owners():
    assert sequential._bi_players("In a merger discussion between two tech giants, TechA and TechB, the CEOs alternate") == ("TechA", "TechB")
    assert sequential._bi_players("In a collaboration between an artist Alice and her manager Bob, they are negotiating") == ("Alice", "Bob")
    assert sequential._bi_players("Player A represents a small tech startup, and Player B is an executive from a larger corporation") == ("A", "B")
    # two players of one gender: '8 for her and -7 for Dr. Lee' gives the 8 to the other doctor
    sentence = ("In the final round, if Dr. Lee continues with her own treatment, Dr. Smith gets to decide whether to maintain Dr. "
                "Lee's treatment, which results in 8 for her and -7 for Dr. Lee, or to revert to her own treatment, obtaining 8 "
                "and Dr. Lee -7 in recognition.")
    owners = sequential._number_owners(sentence, ("Dr. Smith", "Dr. Lee"), {}, 1)
    assert [o for _, o in owners] == [0, 1, 0, 1]


def test_chain_story_that_goes_on_after_a_stop_is_ill_posed():
    story = ("Dr. Smith and Dr. Lee are collaborating on the treatment of a patient with an uncommon illness. Dr. Smith has the "
             "opportunity to administer her treatment first. If she chooses to proceed with her own treatment, she will gain 7 in "
             "recognition, and Dr. Lee will gain -9. If Dr. Smith decides to apply Dr. Lee's treatment plan, Dr. Lee then has the "
             "choice to either stick with her own treatment, resulting in 8 recognition for her and -8 for Dr. Smith, or to switch "
             "back to Dr. Smith's treatment. In the final round, if Dr. Lee continues with her own treatment, Dr. Smith gets to "
             "decide whether to maintain Dr. Lee's treatment, which results in -3 for her and -5 for Dr. Lee, or to revert to her "
             "own treatment, obtaining -3 and Dr. Lee -5 in recognition. Using backward induction, determine what Dr. Lee should "
             "do at her decision node.")
    options = ["Dr. Lee should continue with her own treatment plan", "Dr. Lee should switch back to Dr. Smith's treatment plan"]
    assert sequential.audit_backward_induction(_chain_problem(story, options, 1)).verdict == "ill_posed"


@pytest.mark.parametrize("question, negated", [
    ("Which of the following strategies can be sustained as a Nash equilibrium, assuming players are concerned "
     "with the stream of payoffs over time and not just immediate gains?", False),  # a published STEER wording
    ("Which path is not only profitable but sustainable?", False),
    ("Which of the following outcome paths can NOT be sustained?", True),
    ("Which payoff pair is infeasible, and not just unlikely?", True),
])
def test_negated_question_ignores_not_just(question, negated):
    """'… and not just immediate gains' asks for what CAN be sustained: read as a negation, the audit
    agreed with a wrong published gold (collusion that pays less than the stage equilibrium)."""
    assert repeated._negated(question) is negated
