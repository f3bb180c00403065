"""shuffle_options: gold, choices, prompt and worked solution stay consistent."""

from __future__ import annotations

import random

import pytest

from recon.data.categories.common import make_option_problem, split_option_prompt
from recon.data.options import permute_options, shuffle_options
from recon.data.published import load_split
from recon.grading import grade_problem


def _answer(problem) -> str:
    return f"<think>reasoning</think>\n\\boxed{{{problem.gold}}}"


def test_shuffle_keeps_every_published_item_consistent(data_dir):
    rng = random.Random(0)
    for problem in load_split("eval", data_dir):
        shuffled = shuffle_options(problem, rng)
        if problem.answer_type != "option":
            assert shuffled is problem
            continue
        body, options = split_option_prompt(shuffled)
        assert body == split_option_prompt(problem)[0]
        assert options == shuffled.choices and sorted(options) == sorted(problem.choices)
        assert shuffled.choices[shuffled.gold_option - 1] == problem.choices[problem.gold_option - 1]
        assert shuffled.gold.split(":", 1)[1] == problem.gold.split(":", 1)[1]
        assert grade_problem(_answer(shuffled), shuffled).status == "exact"
        # the old gold number now points elsewhere unless the permutation kept it
        old_number_answer = f"<think>r</think>\\boxed{{Option {problem.gold_option}}}"
        assert grade_problem(old_number_answer, shuffled).correct == (shuffled.gold_option == problem.gold_option)
        assert problem.messages[-1]["content"] != shuffled.messages[-1]["content"] or shuffled.meta["option_order"] == list(range(len(options)))


def test_forced_gold_position_and_solution_rewrite():
    problem = make_option_problem("demo", "Pick the prime.", ["4", "6", "7", "9"], 2, ["7 is prime; Option 3 is right."])
    for position in range(1, 5):
        moved = shuffle_options(problem, random.Random(position), gold_position=position)
        assert moved.gold == f"Option {position}: 7"
        assert moved.choices[position - 1] == "7"
        assert moved.meta["solution"].endswith(f"\\boxed{{Option {position}: 7}}")
        assert f"Option {position} is right" in moved.meta["solution"]
        assert grade_problem(moved.meta["solution"], moved).status == "exact"


def test_permutations_compose_in_meta():
    problem = make_option_problem("demo", "Q?", ["a", "b", "c"], 0, ["a"])
    once = permute_options(problem, [2, 0, 1])
    twice = permute_options(once, [1, 2, 0])
    assert twice.choices == [problem.choices[i] for i in twice.meta["option_order"]]
    assert twice.gold == f"Option {twice.choices.index('a') + 1}: a"


def test_bad_permutation_and_position_rejected():
    problem = make_option_problem("demo", "Q?", ["a", "b"], 0, ["a"])
    with pytest.raises(ValueError):
        permute_options(problem, [0, 0])
    with pytest.raises(ValueError):
        shuffle_options(problem, random.Random(0), gold_position=3)


@pytest.mark.parametrize("category", ["bertrand", "backward_induction", "time_inconsistency"])
def test_option_lookup_follows_the_options_after_every_shuffle(category):
    """A local trace's option scan lists the options in prompt order up to the gold (the only `yes`), and
    is redone for the new order whenever the options move; its answer line is what the box holds."""
    from recon.data.generate import generate_category

    scanned = [p for p in generate_category(category, 20, "lookup", 1, set()) if "\nfind: " in p.meta["solution"]]
    assert scanned, f"no {category} item with an option lookup"
    rng = random.Random(7)
    for problem in scanned:
        for shuffled in (problem, shuffle_options(problem, rng), shuffle_options(shuffle_options(problem, rng), rng)):
            lines = shuffled.meta["solution"].split("</think>")[0].splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith("find: "))
            gold = shuffled.gold_option
            text = shuffled.choices[gold - 1]
            assert lines[start] == f"find: {text}"
            assert lines[start + 1:start + 1 + gold] == [
                f"Option {k}: {shuffled.choices[k - 1]} → {'yes' if k == gold else 'no'}" for k in range(1, gold + 1)]
            assert lines[start + 1 + gold] == f"Answer: Option {gold}: {text}" == f"Answer: {shuffled.gold}"
            assert shuffled.meta["solution"].endswith("\\boxed{" + shuffled.gold + "}")
            assert grade_problem(shuffled.meta["solution"], shuffled).correct


def test_rescan_leaves_texts_without_a_lookup_alone():
    from recon.data.options import rescan_options

    text = "<think>\nrule: x → $3\nAnswer: Option 2: $3\n</think>\n\n\\boxed{Option 2: $3}"
    assert rescan_options(text, ["$1", "$3"], 1) == text
