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
