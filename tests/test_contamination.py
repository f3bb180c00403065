"""Contamination keys: canonical games up to relabelling, questions without options."""

from __future__ import annotations

import random

import pytest

from recon.data.categories.common import make_option_problem, make_pairs_problem
from recon.data.contamination import item_key, overlapping, unlabelled_keys, without_overlap
from recon.data.generate import generate_category
from recon.data.problem import Problem


def _matrix_item(a, b, source="ETH-games"):
    text = f"Player 0's payoff matrix:\n{a}\n\nPlayer 1's payoff matrix:\n{b}"
    problem = make_pairs_problem("pure_nash", "Find all PSNE.\n\n", text, "[]", ["x"])
    problem.source = source
    return problem


def test_matrix_games_equal_up_to_relabelling_share_a_key():
    a = [[8, 7, 3], [2, 6, 1], [5, 0, 4]]
    b = [[1, 0, 3], [5, 6, 8], [7, 2, 4]]
    rows, cols = [2, 0, 1], [1, 2, 0]
    permuted_a = [[a[r][c] for c in cols] for r in rows]
    permuted_b = [[b[r][c] for c in cols] for r in rows]
    transposed_swapped = ([[b[r][c] for r in range(3)] for c in range(3)], [[a[r][c] for r in range(3)] for c in range(3)])
    key = item_key(_matrix_item(a, b))
    assert item_key(_matrix_item(permuted_a, permuted_b)) == key
    assert item_key(_matrix_item(*transposed_swapped)) == key
    changed = [row[:] for row in a]
    changed[0][0], changed[0][1] = changed[0][1], changed[0][0]
    assert item_key(_matrix_item(changed, b)) != key
    # another game of the same shape is neither an exact nor a near duplicate
    other = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert item_key(_matrix_item(other, b), near=True) != item_key(_matrix_item(a, b), near=True)


def test_generated_matrix_and_bayes_items_of_one_shape_are_not_near_duplicates():
    for category in ("pure_nash", "pte", "bayes_nash"):
        items = generate_category(category, 40, seed=3, difficulty=1)
        assert len({item_key(p, near=True) for p in items}) == len(items), category


def test_bayes_state_order_and_tree_action_names_do_not_matter():
    from recon.data.categories.matrix import generate_bayes_nash

    problem = generate_bayes_nash(random.Random(5), 1)
    body = problem.question
    head, tables = body.split("\nState 1:\n", 1)
    state1, state2 = tables.split("\nState 2:\n")
    p1, p2 = [part.split(" is ")[1].split(" ")[0].rstrip(".") for part in head.split("probability of state ")[1:]]
    swapped_head = head.replace(f"state 1 is {p1}", "state 1 is P1").replace(f"state 2 is {p2}", f"state 2 is {p1}").replace("state 1 is P1", f"state 1 is {p2}")
    swapped = Problem(**{**problem.to_dict(), "question": f"{swapped_head}\nState 1:\n{state2}\nState 2:\n{state1}"})
    assert item_key(swapped) == item_key(problem)
    tree = "Payoffs:\n- Up, Left: (1, 2)\n- Up, Right: (3, 4)\n- Down, Left: (5, 6)\n- Down, Right: (7, 8)\nWhich path?"
    renamed = tree.replace("Up", "Stay").replace("Down", "Go").replace("Left", "East").replace("Right", "West")
    bi = [make_option_problem("backward_induction", q, ["a", "b"], 0, ["x"]) for q in (tree, renamed)]
    assert item_key(bi[0]) == item_key(bi[1])


def test_prose_keys_ignore_options_and_mask_numbers_of_published_items():
    def item(question, options, source="STEER"):
        problem = make_option_problem("auction_risk", question, options, 0, ["x"])
        problem.source = source
        return problem

    train = [item("Which auction raises the most from 5 risk-averse bidders?", ["Dutch auction", "English auction"])]
    reworded = item("Which auction raises the most from 5 risk-averse bidders?", ["Descending-price (Dutch) auction", "Vickrey auction"])
    renumbered = item("Which auction raises the most from 7 risk-averse bidders?", ["Dutch auction", "English auction"])
    assert overlapping([reworded], train) == [reworded]
    assert overlapping([renumbered], train) == [] and overlapping([renumbered], train, near=True) == [renumbered]
    kept, removed = without_overlap([reworded, renumbered, item("Another question?", ["a", "b"])], train)
    assert len(kept) == 1 and len(removed) == 2
    # generated items differ by their numbers: a redraw of one template is a different item
    generated = item("Which auction raises the most from 7 risk-averse bidders?", ["a", "b"], source="generated")
    assert item_key(generated, near=True) != item_key(item("Which auction raises the most from 5 risk-averse bidders?", ["a", "b"], "generated"), near=True)


def test_unlabelled_keys_match_games_and_questions_without_a_category():
    a, b = [[1, 2], [3, 4]], [[4, 3], [2, 1]]
    key = unlabelled_keys(_matrix_item(a, b).question)
    assert len(key) == 1 and next(iter(key)).startswith("game:")
    assert unlabelled_keys(_matrix_item([[2, 1], [4, 3]], [[3, 4], [1, 2]]).question) == key
    assert "pay # now?" in unlabelled_keys("Pay $10 now?")


def test_a_game_is_one_item_whatever_is_asked_about_it():
    """eval-0280 (pte) and train-1663 (pure_nash) of the published data: one matrix, two questions."""
    a, b = [[3, 1], [0, 2]], [[2, 0], [1, 3]]
    pure = _matrix_item(a, b)
    pte = _matrix_item([row[::-1] for row in a], [row[::-1] for row in b])  # the columns relabelled too
    pte.category = "pte"
    assert item_key(pte) == item_key(pure) and item_key(pte, near=True) == item_key(pure, near=True)
    assert overlapping([pte], [pure]) == [pte]
    assert without_overlap([pure], [pte]) == ([], [pure])


@pytest.mark.slow
def test_default_build_has_no_eval_game_in_any_training_file(tmp_path, data_dir):
    """The default `recon data build` (seed 0, published data): no eval item's game (read by every game
    reader, whatever its category) occurs in train.jsonl or sft_cot.jsonl. Before games were keyed apart from
    their question, 9 did (e.g. eval-0280 (pte) and train-1663, sft_cot-0832 (pure_nash))."""
    from recon.data.build import build_splits
    from recon.data.problem import read_problems

    build_splits(tmp_path, seed=0, data_dir=data_dir, save_datasets=False, shortcut_items=0)

    def games(problem):
        return {key for key in unlabelled_keys(problem.question) if key.startswith("game:")}

    training = {}
    for name in ("train", "sft_cot"):
        for p in read_problems(tmp_path / f"{name}.jsonl"):
            for key in games(p):
                training.setdefault(key, []).append(f"{name}:{p.id} ({p.category})")
    evaluation = read_problems(tmp_path / "eval.jsonl")
    assert sum(bool(games(p)) for p in evaluation) > 100  # the check reads the eval's games
    shared = [(p.id, p.category, training[key]) for p in evaluation for key in games(p) if key in training]
    assert shared == []
