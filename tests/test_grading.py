"""The shared grader and rewards, in the style of open-r1's tests/test_rewards.py."""

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.grading import HIERARCHICAL_REWARD, extract_answer, find_boxed, get_reward, grade

CHOICES = ["Both firms collude", "Both firms compete {a}", "They alternate"]
GOLD = "Option 2: Both firms compete {a}"


def think(answer: str, reasoning: str = "reasoning") -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


class TestExtraction:
    def test_balanced_braces_inside_box(self):
        ex = extract_answer(think(r"\boxed{\text{Option 2: $\{a\}$}}"))
        assert ex.answer == "Option 2: a" and ex.boxed and ex.format_ok

    def test_nested_braces(self):
        assert find_boxed(r"x \boxed{a{b{c}}d} y") == [(2, "a{b{c}}d")]

    def test_unclosed_box_is_ignored(self):
        assert find_boxed(r"\boxed{Option 1") == []

    def test_first_box_after_think_wins_when_repeated(self):
        ex = extract_answer(think(r"\boxed{Option 1: x} so \boxed{Option 1: x}"))
        assert ex.answer == "Option 1: x" and ex.format_ok

    def test_nested_boxes_are_one_box(self):
        assert find_boxed(r"\boxed{\boxed{Option 2}} and \boxed{x}") == [(0, r"\boxed{Option 2}"), (29, "x")]

    def test_box_inside_unclosed_box_is_found(self):
        assert find_boxed(r"\boxed{Option 1 \boxed{Option 2}") == [(16, "Option 2")]

    def test_extract_answer_reads_boxes_only(self):
        ex = extract_answer(think("My answer is Option 3, not Option 1."))
        assert ex.answer is None and not ex.boxed and ex.format_ok

    def test_unboxed_fallback_reads_the_final_statement(self):
        g = grade(think("My answer is Option 3, not Option 1."), "Option 3: c", "option", ["a", "b", "c"])
        assert g.status == "option_only" and g.predicted == "Option 3" and not g.boxed

    def test_option_mentioned_only_in_thinking_is_not_an_answer(self):
        ex = extract_answer(think("no answer here", reasoning="Option 2 looks right"))
        assert ex.answer is None and ex.format_ok

    def test_required_mode_needs_exactly_one_close_tag(self):
        assert not extract_answer(r"\boxed{Option 1: x}").format_ok
        assert not extract_answer(r"<think>a</think><think>b</think>\boxed{Option 1: x}").format_ok

    def test_none_mode_reads_whole_text(self):
        assert extract_answer(r"I pick \boxed{Yes}", think="none").answer == "Yes"

    def test_optional_mode(self):
        assert extract_answer(r"\boxed{No}", think="optional").answer == "No"
        assert extract_answer(think(r"\boxed{No}"), think="optional").answer == "No"
        assert not extract_answer(r"<think> \boxed{No}", think="optional").format_ok

    def test_unknown_mode_raises(self):
        with pytest.raises(ValueError):
            extract_answer("x", think="sometimes")


class TestOptionGrading:
    def test_exact(self):
        g = grade(think(r"\boxed{Option 2: Both firms compete {a}}"), GOLD, "option", CHOICES)
        assert g.status == "exact" and g.correct and g.text_match and g.reward == 5.0

    def test_latex_wrapped_answer_is_exact(self):
        g = grade(think(r"\boxed{\text{Option 2: Both firms compete $\{a\}$}}"), GOLD, "option", CHOICES)
        assert g.status == "exact"

    def test_number_only_scores_partial(self):
        g = grade(think(r"\boxed{Option 2}"), GOLD, "option", CHOICES)
        assert g.status == "option_only" and g.correct and g.reward == 2.0

    def test_number_right_text_paraphrased_reports_text_mismatch(self):
        g = grade(think(r"\boxed{Option 2: the firms compete}"), GOLD, "option", CHOICES)
        assert g.status == "option_only" and g.text_match is False

    def test_number_of_one_option_text_of_another_is_a_hedge(self):
        g = grade(think(r"\boxed{Option 2: They alternate}"), GOLD, "option", CHOICES)
        assert g.status == "format_violation" and not g.correct and g.reason.startswith("hedge")

    def test_unboxed_fallback_scores_partial(self):
        g = grade(think("Final: Option 2"), GOLD, "option", CHOICES)
        assert g.status == "option_only" and not g.boxed

    def test_text_only_matches_unique_choice(self):
        g = grade(think(r"\boxed{Both firms compete {a}}"), GOLD, "option", CHOICES)
        assert g.correct and g.status == "option_only"

    def test_wrong(self):
        g = grade(think(r"\boxed{Option 1: Both firms collude}"), GOLD, "option", CHOICES)
        assert g.status == "wrong" and not g.correct and g.reward == -3.0

    def test_format_violation(self):
        g = grade(r"\boxed{Option 2: Both firms compete {a}}", GOLD, "option", CHOICES)
        assert g.status == "format_violation" and g.reward == -4.0

    def test_no_answer(self):
        g = grade(think("I am not sure."), GOLD, "option", CHOICES)
        assert g.status == "no_answer" and g.reward == -5.0


class TestHacksGetNoCredit:
    def test_several_different_boxes(self):
        g = grade(think(r"\boxed{Option 1: a} \boxed{Option 2: b}"), GOLD, "option", CHOICES)
        assert not g.correct and g.reward < 0

    def test_hedged_option(self):
        g = grade(think(r"\boxed{Option 1 or Option 2}"), GOLD, "option", CHOICES)
        assert not g.correct and g.reward < 0

    def test_answer_only_inside_thinking(self):
        g = grade(r"<think>\boxed{Option 2: Both firms compete {a}}", GOLD, "option", CHOICES)
        assert not g.correct and g.reward < 0

    def test_box_before_close_tag(self):
        g = grade(r"<think>\boxed{Option 2}</think>\boxed{Option 2}", GOLD, "option", CHOICES)
        assert g.status == "format_violation"

    def test_yes_and_no(self):
        assert not grade(think(r"\boxed{Yes or No}"), "Yes", "yes_no").correct

    def test_all_orderings(self):
        assert not grade(think(r"\boxed{A, B, C, D or B, A, C, D}"), "A, B, C, D", "ordering").correct


class TestOtherTypes:
    @pytest.mark.parametrize("pred,gold,ok", [("yes", "Yes", True), ("No.", "No", True), ("Yes", "No", False)])
    def test_yes_no(self, pred, gold, ok):
        assert grade(think(rf"\boxed{{{pred}}}"), gold, "yes_no").correct is ok

    @pytest.mark.parametrize("pred", ["B,C,D,A", "B, C, D, A", "B → C → D → A", "b, c, d, a"])
    def test_ordering_normalised(self, pred):
        assert grade(think(rf"\boxed{{{pred}}}"), "B, C, D, A", "ordering").correct

    def test_ordering_wrong(self):
        assert not grade(think(r"\boxed{A, B, C, D}"), "B, C, D, A", "ordering").correct

    @pytest.mark.parametrize(
        "pred,gold,ok",
        [
            ("[[2,2],[0, 1]]", "[[0, 1], [2, 2]]", True),
            ("[0, 1]", "[[0, 1]]", True),
            ("[[0, 1]]", "[0, 1]", True),
            ("[]", "[]", True),
            ("[]", "[[0, 1]]", False),
            ("[[0, 1]]", "[[0, 1], [2, 2]]", False),
            ("[[0, 1], [2, 2], [1, 1]]", "[[0, 1], [2, 2]]", False),
            ("(0, 1)", "[[0, 1]]", True),
            ("[[0, 1]] or []", "[[0, 1]]", False),
        ],
    )
    def test_pairs_as_sets(self, pred, gold, ok):
        assert grade(think(rf"\boxed{{{pred}}}"), gold, "pairs").correct is ok

    def test_unknown_type_raises(self):
        with pytest.raises(ValueError):
            grade(think(r"\boxed{x}"), "x", "free_text")


class TestRewards:
    def test_hierarchical_values_are_the_papers(self):
        assert HIERARCHICAL_REWARD == {
            "exact": 5.0, "option_only": 2.0, "wrong": -3.0, "format_violation": -4.0, "no_answer": -5.0,
        }

    def test_each_completion_graded_against_its_own_gold(self):
        reward = get_reward("hierarchical")
        completions = [think(r"\boxed{Option 1: a}"), think(r"\boxed{Option 1: a}"), think(r"\boxed{Yes}")]
        golds = ["Option 1: a", "Option 2: b", "Yes"]
        rewards = reward(completions, gold=golds, answer_type=["option", "option", "yes_no"],
                         choices=[["a", "b"], ["a", "b"], []], prompts=["p1", "p2", "p3"])
        assert rewards == [5.0, -3.0, 5.0]

    def test_conversational_completions(self):
        reward = get_reward("accuracy")
        completions = [[{"role": "assistant", "content": think(r"\boxed{No}")}]]
        assert reward(completions, gold=["No"], answer_type=["yes_no"]) == [1.0]

    def test_format_reward(self):
        reward = get_reward("format")
        out = reward([think(r"\boxed{No}"), "no tags"], gold=["Yes", "Yes"], answer_type=["yes_no", "yes_no"])
        assert out == [1.0, 0.0]

    def test_think_mode_passes_through(self):
        assert get_reward("accuracy", think="none")([r"\boxed{Yes}"], gold=["Yes"], answer_type=["yes_no"]) == [1.0]

    def test_misaligned_columns_raise(self):
        with pytest.raises(ValueError):
            get_reward("accuracy")(["a", "b"], gold=["Yes"], answer_type=["yes_no"])

    def test_unknown_reward_raises(self):
        with pytest.raises(ValueError, match="registered"):
            get_reward("nope")


ADVERSARIAL = [
    "\\boxed{" * 5000,
    "}" * 10000 + "\\boxed{",
    "</think>" * 3000,
    "<think>" + "\\boxed{\\boxed{\\boxed{}}}" * 2000,
    "</think>" + "Option " * 10000,
    "</think>\\boxed{" + "{" * 20000 + "}" * 19999,
    "</think>\\boxed{[[" + "0, 1], [" * 5000 + "]]}",
    "\x00\ud7ff\U0010ffff</think>\\boxed{\u202eOption 1}",
    "</think>\\boxed{Option IIII}",  # an invalid Roman numeral once crashed the option reader
    # shapes that make a backtracking regex exponential (each must grade in one linear pass)
    "</think>\\boxed{" + "A " * 40 + "x}",
    "</think>\\boxed{" + "A and then " * 40 + "x}",
    "</think>\\boxed{[" + "(0, 1) " * 40 + "x}",
    "</think>\\boxed{" + "1" * 60 + "x}",
    "</think>\\boxed{" + "12 " * 60 + "x}",
    "</think>" + "no nash " * 5000,
]


@pytest.mark.parametrize("text", ADVERSARIAL)
@pytest.mark.parametrize("answer_type,gold", [("option", "Option 1: a"), ("pairs", "[[0, 1]]"), ("ordering", "A, B"), ("yes_no", "Yes")])
def test_adversarial_strings_never_raise(text, answer_type, gold):
    g = grade(text, gold, answer_type, ["a", "b"])
    assert g.status in HIERARCHICAL_REWARD


def test_random_strings_up_to_100kb_never_raise():
    rng = random.Random(0)
    alphabet = string.printable + "{}\\</>[]"
    pieces = ["\\boxed{", "}", "</think>", "<think>", "Option 3", "[[0, 1]]", "Yes"]
    for _ in range(30):
        size = rng.choice([0, 10, 1000, 100_000])
        text = "".join(rng.choice(pieces) if rng.random() < 0.05 else rng.choice(alphabet) for _ in range(size))
        for think_mode in ("required", "optional", "none"):
            assert grade(text, "Option 1: a", "option", ["a", "b"], think=think_mode).status in HIERARCHICAL_REWARD


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000), st.sampled_from(["option", "yes_no", "ordering", "pairs"]))
def test_hypothesis_text_never_raises(text, answer_type):
    assert grade(text, "Option 1: a" if answer_type == "option" else "[[0, 1]]", answer_type, ["a"]).status in HIERARCHICAL_REWARD
