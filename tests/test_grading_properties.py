"""Properties of the grader (hypothesis): a correct answer stays correct under any wrapper, a hedge never
earns credit, grading is invariant to the amount of whitespace, and no string makes it raise."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from recon.grading import HIERARCHICAL_REWARD, grade

CHOICES = ["Both firms collude", "Both firms compete on price", "They alternate", "One firm exits"]
WRAPPERS = [
    "\\text{{{}}}", "\\textbf{{{}}}", "\\mathbf{{{}}}", "\\textit{{{}}}", "\\emph{{{}}}", "\\textsf{{{}}}",
    "\\mathrm{{{}}}", "${}$", "**{}**", "*{}*", "\\boxed{{{}}}", " {} ", "\u200b{}",
]
CONNECTIVES = [" or ", ", ", " / ", "/", " and ", " or maybe ", " | ", ", or ", " \\text{ or } "]


@st.composite
def problems(draw):
    """(answer_type, gold, choices, a correct answer, a different answer)."""
    answer_type = draw(st.sampled_from(["option", "yes_no", "ordering", "pairs"]))
    if answer_type == "option":
        g, o = draw(st.permutations([1, 2, 3, 4]))[:2]
        gold = f"Option {g}: {CHOICES[g - 1]}"
        right = draw(st.sampled_from([gold, f"Option {g}", f"option {g}"]))
        return answer_type, gold, CHOICES, right, f"Option {o}"
    if answer_type == "yes_no":
        gold, other = draw(st.permutations(["Yes", "No"]))
        return answer_type, gold, None, draw(st.sampled_from([gold, gold.lower(), gold.upper()])), other
    if answer_type == "ordering":
        gold_order, other_order = draw(st.lists(st.permutations("ABCD"), min_size=2, max_size=2, unique_by=tuple))
        sep = draw(st.sampled_from([", ", ",", " > ", " \\to ", " → ", " ≻ "]))
        return answer_type, ", ".join(gold_order), None, sep.join(gold_order), ", ".join(other_order)
    cell = st.tuples(st.integers(0, 2), st.integers(0, 2))
    gold_cells, other_cells = draw(st.lists(st.frozensets(cell, max_size=3), min_size=2, max_size=2, unique=True))
    as_list = lambda cells: "[" + ", ".join(f"[{i}, {j}]" for i, j in sorted(cells)) + "]"  # noqa: E731
    return answer_type, as_list(gold_cells), None, as_list(gold_cells), as_list(other_cells)


def think(answer: str) -> str:
    return f"<think>\nworking it out\n</think>\n\n{answer}"


@settings(max_examples=400, deadline=None)
@given(problems(), st.lists(st.sampled_from(WRAPPERS), max_size=4))
def test_correct_answer_stays_correct_under_any_wrapper(problem, wrappers):
    answer_type, gold, choices, right, _ = problem
    plain = grade(think(f"\\boxed{{{right}}}"), gold, answer_type, choices)
    wrapped = right
    for wrapper in wrappers:
        wrapped = wrapper.format(wrapped)
    g = grade(think(f"\\boxed{{{wrapped}}}"), gold, answer_type, choices)
    assert plain.correct and g.correct and g.status == plain.status, (wrapped, g.reason)


@settings(max_examples=400, deadline=None)
@given(problems(), st.sampled_from(CONNECTIVES), st.booleans(), st.booleans(), st.lists(st.sampled_from(WRAPPERS), max_size=2))
def test_a_hedge_never_earns_credit(problem, connective, right_first, boxed, wrappers):
    answer_type, gold, choices, right, other = problem
    hedge = right + connective + other if right_first else other + connective + right
    for wrapper in wrappers:
        hedge = wrapper.format(hedge)
    completion = think(f"\\boxed{{{hedge}}}" if boxed else f"The answer is {hedge}.")
    g = grade(completion, gold, answer_type, choices)
    assert not g.correct and g.reward < 0, (hedge, g.status, g.reason)


def _respace(text: str, draw) -> str:
    """Every run of spaces becomes 1–3 spaces/tabs, every run of newlines 1–3 newlines."""
    def spaces(match):
        if "\n" in match.group():
            return "\n" * draw(st.integers(1, 3))
        return "".join(draw(st.lists(st.sampled_from([" ", "\t"]), min_size=1, max_size=3)))

    return re.sub(r"[ \t]+|\n+", spaces, text)


@settings(max_examples=300, deadline=None)
@given(problems(), st.sampled_from(["boxed", "boxed_with_text", "unboxed", "hedge", "two_boxes"]), st.data())
def test_grading_is_invariant_to_whitespace(problem, shape, data):
    answer_type, gold, choices, right, other = problem
    completion = think({
        "boxed": f"The final answer is \\boxed{{{right}}}.",
        "boxed_with_text": f"Comparing the payoffs, the answer is\n\n\\boxed{{ {right} }}",
        "unboxed": f"After comparing both cases,\nthe answer is {right}.",
        "hedge": f"\\boxed{{{right} or {other}}}",
        "two_boxes": f"\\boxed{{{right}}} \n\n or \\boxed{{{other}}}",
    }[shape])
    g = grade(completion, gold, answer_type, choices)
    respaced = grade(_respace(completion, data.draw), gold, answer_type, choices)
    assert (respaced.status, respaced.predicted) == (g.status, g.predicted)


# Pieces of answers in every notation the grader reads, so that random strings reach its deeper paths.
PIECES = [
    "A", "B", " ", ",", "and ", "then ", "(0, 1)", "[0,1]", "[", "]", "(", ")", "1", "12", "Option ", "option 2",
    "or ", "not ", "yes ", "no ", "Yes", "\\boxed{", "}", ". ", "-", "->", ">", "no pure ", "answer is ", ":", "—",
    "I", "II", "IIII", "two ", "\n", "since ", "is not ", "\\text{", "$", "**", "\\{", "∅", "none ", "either ", "/",
    "maybe ", "\u200b", "２", "</think>", "<think>",
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=3000), st.lists(st.sampled_from(PIECES), max_size=300).map("".join)),
    st.sampled_from(["option", "yes_no", "ordering", "pairs"]),
    st.sampled_from(["required", "optional", "none"]),
)
def test_no_string_makes_it_raise(text, answer_type, think_mode):
    gold = {"option": "Option 1: a", "yes_no": "Yes", "ordering": "A, B", "pairs": "[[0, 1]]"}[answer_type]
    for completion in (text, "</think>" + text, "</think>\\boxed{" + text + "}"):
        assert grade(completion, gold, answer_type, ["a", "b"], think=think_mode).status in HIERARCHICAL_REWARD
