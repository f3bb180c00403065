"""Write the grading case tables (`python tests/grading_cases/build_cases.py`).

Every case states the verdict a careful human grader gives — decided here, per class, by the rule written
in docs/grading.md — never by calling the grader. Synthetic problems go to `<answer_type>.jsonl`; templates
applied to published problems (expanded by tests/test_grading_cases.py, so no published text is stored
here) go to `published.jsonl`. Row fields: class, answer_type, completion, gold, choices, expected (status),
reward; published rows have `template` and `categories` instead of completion/gold/choices."""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

HERE = Path(__file__).resolve().parent
REWARD = {"exact": 5.0, "option_only": 2.0, "wrong": -3.0, "format_violation": -4.0, "no_answer": -5.0}


def think(answer: str, reasoning: str = "Let me work through the payoffs step by step.") -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def boxed(answer: str) -> str:
    return think(f"The final answer is \\boxed{{{answer}}}")


# A boxed answer under each wrapper a model writes; a reader sees the same answer.
WRAPPERS = {
    "plain": "{}",
    "text": "\\text{{{}}}",
    "textbf": "\\textbf{{{}}}",
    "mathbf": "\\mathbf{{{}}}",
    "textit": "\\textit{{{}}}",
    "emph": "\\emph{{{}}}",
    "textsf": "\\textsf{{{}}}",
    "mathrm": "\\mathrm{{{}}}",
    "dollars": "${}$",
    "bold_md": "**{}**",
    "italic_md": "*{}*",
    "nested_box": "\\boxed{{{}}}",
    "spaces": "  {}  ",
}


def option_cases() -> list[dict]:
    problems = [
        (["Both firms collude", "Both firms compete on price", "They alternate", "One firm exits"], 2),
        (["0.7", "0.78", "0.73", "0.79"], 3),
        (["($120.50, $99.00)", "($99.00, $120.50)", "($110.00, $110.00)"], 1),
        (["Alice should finalize the deal", "Alice should continue negotiating"], 2),
        (["Firm A prices lower than firm B", "Both firms collude while demand is high", "Neither firm enters since entry is costly"], 3),
    ]
    rows = []

    def add(cls, completion, expected, choices, g):
        rows.append(dict(cls=cls, completion=completion, gold=f"Option {g}: {choices[g - 1]}", choices=choices, expected=expected))

    for choices, g in problems:
        n, gtext = len(choices), choices[g - 1]
        others = [o for o in range(1, n + 1) if o != g]
        o = others[0]
        for name, wrap in WRAPPERS.items():
            add(f"wrapper/{name}/full", boxed(wrap.format(f"Option {g}: {gtext}")), "exact", choices, g)
            add(f"wrapper/{name}/number", boxed(wrap.format(f"Option {g}")), "option_only", choices, g)
            add(f"wrapper/{name}/wrong", boxed(wrap.format(f"Option {o}")), "wrong", choices, g)
            add(f"wrapper/{name}/hedge", boxed(wrap.format(f"Option {g} or {o}")), "format_violation", choices, g)
        for form in ["\\text{{Option}}~{g}", "Option\\ {g}", "Option #{g}", "option {g}", "OPTION {g}", "Option {g}.",
                     "Option {g}:", "Choice {g}", "\\text{{Option }}{g}", "Option~{g}", "Option {g}\u200b", "Op\u200bt\u200bion {g}",
                     "\u041eption {g}", "Option {gw}", "Option\u00a0{g}", "\u202aOption {g}\u202c"]:
            add("number_form", boxed(form.format(g=g, gw=chr(0xFF10 + g))), "option_only", choices, g)
        add("roman_numeral", boxed("Option " + ["I", "II", "III", "IV"][g - 1]), "option_only", choices, g)
        add("bare_number", boxed(str(g)), "option_only" if str(g) not in choices else "wrong", choices, g)
        add("text_only", boxed(gtext), "option_only", choices, g)
        for form in ["{g}: {gtext}", "({g}) {gtext}", "{g}. {gtext}", "{g}) {gtext}"]:
            add("leading_number", boxed(form.format(g=g, gtext=gtext)), "exact", choices, g)
        add("text_only/wrong", boxed(choices[o - 1]), "wrong", choices, g)
        add("text_number_mismatch", boxed(f"Option {g}: {choices[o - 1]}"), "format_violation", choices, g)
        add("paraphrased_text", boxed(f"Option {g}: the second outcome as described"), "option_only", choices, g)
        add("out_of_range", boxed(f"Option {n + 1}"), "wrong", choices, g)
        add("out_of_range/zero", boxed("Option 0"), "wrong", choices, g)
        add("huge_number", boxed("Option " + "9" * 5000), "wrong", choices, g)
        add("huge_number/unboxed", think("The answer is Option " + "7" * 4400), "no_answer", choices, g)
        for o in others:
            for form in ["Option {g} or {o}", "Option {o} or {g}", "Option {g}, {o}", "Option {g}/{o}", "Option {g} and {o}",
                         "Options {g} and {o}", "Option {g} or Option {o}", "Either Option {g} or Option {o}",
                         "Option {g} (or {o})", "Option {g} or maybe {o}", "Option {g} & {o}", "Option {g}, Option {o}",
                         "Option {g} \\text{{ or }} {o}", "Option {g}\u200b or {o}", "Option {g} \u043er Option {o}"]:
                add("hedge", boxed(form.format(g=g, o=o)), "format_violation", choices, g)
            add("hedge/unboxed", think(f"It is Option {g} or Option {o}."), "format_violation", choices, g)
            add("hedge/unboxed_slash", think(f"**Option {g}/{o}**"), "format_violation", choices, g)
            add("hedge/two_boxes", think(f"\\boxed{{Option {g}}} or \\boxed{{Option {o}}}"), "format_violation", choices, g)
            add("negation/boxed", boxed(f"not Option {o}"), "wrong", choices, g)
            add("negation/with_answer", boxed(f"Option {g}, not Option {o}"), "option_only", choices, g)
            add("negation/ruled_out_after", think(f"Option {o} is not correct and Option {g} is."), "option_only", choices, g)
            add("negation/ruled_out_only", think(f"Option {g} is not the answer."), "wrong", choices, g)
            add("negation/fails", think(f"Option {o} fails; Option {g} survives."), "option_only", choices, g)
            add("negation/unboxed_final", think(f"Option {o} fails, so the answer is Option {g}."), "option_only", choices, g)
            add("final_statement", think(f"At first Option {o} looked right.\n\nFinal answer: Option {g}"), "option_only", choices, g)
            add("final_statement/explained_after", think(f"**Answer: Option {g}**\n\nOption {o} is dominated, as shown."), "option_only", choices, g)
            add("final_statement/wrong", think(f"At first Option {g} looked right.\n\nFinal answer: Option {o}"), "wrong", choices, g)
            add("final_statement/with_reason", think(f"The answer is Option {g} since Option {o} is dominated."), "option_only", choices, g)
            add("reason_names_other", boxed(f"Option {g} because Option {o} is dominated"), "option_only", choices, g)
            add("reason_names_other/while", boxed(f"Option {g} while Option {o} is dominated"), "option_only", choices, g)
            add("reason_names_other/since", boxed(f"Option {g}, since Option {o} is dominated"), "option_only", choices, g)
            add("hedge/also_works_while", boxed(f"Option {g} while Option {o} also works"), "format_violation", choices, g)
            add("hedge/also_works_since", boxed(f"Option {g} since Option {o} also works"), "format_violation", choices, g)
            add("hedge/also_correct", boxed(f"Option {g} because Option {o} is also correct"), "format_violation", choices, g)
            add("leading_number/other_text", boxed(f"{g}: {choices[o - 1]}"), "format_violation", choices, g)
            add("hedge/after_text", boxed(f"Option {g}: {gtext} or Option {o}"), "format_violation", choices, g)
            add("hedge/after_text_no_colon", boxed(f"Option {g} {gtext} or Option {o}"), "format_violation", choices, g)
            add("boxes/different", think(f"\\boxed{{Option {g}}}\n\nOn reflection: \\boxed{{Option {o}}}"), "format_violation", choices, g)
        add("range", boxed(f"Option 1-{n}"), "format_violation", choices, g)
        add("hedge/space_separated", boxed("Option " + " ".join(str(i) for i in range(1, n + 1))), "format_violation", choices, g)
        add("hedge/bare_numbers", boxed(" or ".join(str(i) for i in range(1, n + 1))), "format_violation", choices, g)
        add("hedge/bare_list", boxed(", ".join(str(i) for i in range(1, n + 1))), "format_violation", choices, g)
        add("hedge/texts", boxed(f"{gtext} or {choices[o - 1]}"), "format_violation", choices, g)
        add("hedge/latex_lor", boxed(f"Option {g} \\lor Option {o}"), "format_violation", choices, g)
        add("number_word", boxed("Option " + ["one", "two", "three", "four", "five"][g - 1]), "option_only", choices, g)
        add("hedge/number_words", boxed("Option " + ["one", "two", "three", "four", "five"][g - 1] + " or " + ["one", "two", "three", "four", "five"][o - 1]), "format_violation", choices, g)
        add("all_options", boxed(", ".join(f"Option {i}" for i in range(1, n + 1))), "format_violation", choices, g)
        add("all_options/short", boxed("Option " + ", ".join(str(i) for i in range(1, n + 1))), "format_violation", choices, g)
        add("negation/unboxed", think(f"The answer is not Option {g}."), "wrong", choices, g)
        add("negation/boxed_gold", boxed(f"not Option {g}"), "wrong", choices, g)
        add("unboxed/bold", think(f"**Option {g}**"), "option_only", choices, g)
        add("unboxed/sentence", think(f"The answer is Option {g}."), "option_only", choices, g)
        add("unboxed/text_after_cue", think(f"Answer: {gtext}"), "option_only", choices, g)
        add("boxes/identical", think(f"\\boxed{{Option {g}}} ... Final: \\boxed{{Option {g}}}"), "option_only", choices, g)
        add("boxes/restated_with_text", think(f"\\boxed{{Option {g}: {gtext}}} ... Final: \\boxed{{Option {g}}}"), "exact", choices, g)
        add("boxes/too_many_identical", think(" ".join([f"\\boxed{{Option {g}}}"] * 17)), "format_violation", choices, g)
        add("boxes/empty", think("\\boxed{}"), "no_answer", choices, g)
        add("boxes/empty_wrapped", think("\\boxed{\\text{ }}"), "no_answer", choices, g)
        add("boxes/empty_then_statement", think(f"\\boxed{{}}\n\nThe answer is Option {g}."), "option_only", choices, g)
        add("no_answer", think("I am not sure which outcome is stable."), "no_answer", choices, g)
        add("think/inside_only", f"<think>\nThe answer is \\boxed{{Option {g}: {gtext}}}", "format_violation", choices, g)
        add("think/no_close", f"\\boxed{{Option {g}: {gtext}}}", "format_violation", choices, g)
        add("think/two_closes", f"<think>a</think><think>b</think>\\boxed{{Option {g}: {gtext}}}", "format_violation", choices, g)
        add("think/box_before_close", f"<think>\\boxed{{Option {o}}}</think>\\boxed{{Option {g}: {gtext}}}", "format_violation", choices, g)
        add("think/answer_inside_think_only_unboxed", f"<think>It is Option {g}.</think>\n\nDone.", "no_answer", choices, g)
    return rows


def yes_no_cases() -> list[dict]:
    rows = []
    for gold, other in (("Yes", "No"), ("No", "Yes")):
        def add(cls, completion, expected):
            rows.append(dict(cls=cls, completion=completion, gold=gold, choices=None, expected=expected))

        for name, wrap in WRAPPERS.items():
            for form in (gold, gold.lower(), gold.upper(), f"{gold}."):
                add(f"wrapper/{name}", boxed(wrap.format(form)), "exact")
            add(f"wrapper/{name}/wrong", boxed(wrap.format(other)), "wrong")
            add(f"wrapper/{name}/hedge", boxed(wrap.format(f"{gold} or {other}")), "format_violation")
        for form in ["{g} — no doubt", "{g}, because the premise implies it", "Answer: {g}", "The answer is {g}", "{g}!",
                     "{g} (the premise leads to it)", "Definitely {g}", "\u200b{g}", "{g}\u200b"]:
            add("answer_form", boxed(form.format(g=gold)), "exact")
        add("answer_form/fullwidth", boxed("".join(chr(0xFF00 + ord(c) - 0x20) for c in gold)), "exact")
        add("answer_form/cyrillic_lookalike", boxed(gold.replace("o", "\u043e").replace("e", "\u0435")), "exact")
        for form in ["{g} or {o}", "{o} or {g}", "{g}/{o}", "{g} / {o}", "{g}, {o}", "{g} and {o}", "Either {g} or {o}",
                     "{g} or not", "Both", "{g} | {o}", "{g} (or {o})", "{g}. {o}."]:
            add("hedge", boxed(form.format(g=gold, o=other)), "format_violation")
        add("hedge/unboxed", think(f"{gold} or {other}."), "format_violation")
        add("hedge/could_be", boxed(f"{gold} (but it could be {other})"), "format_violation")
        add("hedge/maybe_other", boxed(f"{gold}, maybe {other.lower()}"), "format_violation")
        add("answer_form/but_no", boxed(f"{gold}, but no more than that"), "exact")
        add("answer_form/no_as_determiner", boxed(f"{gold}, because no firm deviates"), "exact")
        add("answer_form/no_starts_reason", think(f"\\boxed{{{gold}}}\n\nNo firm gains by deviating."), "exact")
        for form in ["{g}; but also {o}", "{g} if δ>0.5, {ol} otherwise", "{g} ({ol} for patient players)",
                     "{g}, unless δ<0.5: then {ol}."]:
            add("hedge/both_named", boxed(form.format(g=gold, o=other, ol=other.lower())), "format_violation")
        add("hedge/both_named_unboxed", think(f"The answer is {gold.lower()} if δ>0.5, {other.lower()} otherwise."), "format_violation")
        add("negation/boxed", boxed(f"not {other}"), "wrong")
        add("negation/boxed_gold", boxed(f"not {gold}"), "wrong")
        add("negation/unboxed", think(f"The answer is not {other}."), "wrong")
        add("unboxed/bold", think(f"**{gold}**"), "option_only")
        add("unboxed/sentence", think(f"So the answer is {gold.lower()}."), "option_only")
        add("unboxed/after_prose", think(f"There is no direct channel, but the effect is real.\n\n{gold}."), "option_only")
        add("unboxed/wrong", think(f"**{other}**"), "wrong")
        add("unboxed/prose_no", think("There is no simple way to tell."), "no_answer")
        add("boxes/identical", think(f"\\boxed{{{gold}}} and again \\boxed{{{gold.lower()}}}"), "exact")
        add("boxes/different", think(f"\\boxed{{{gold}}} and again \\boxed{{{other}}}"), "format_violation")
        add("boxes/empty", think("\\boxed{}"), "no_answer")
        add("unreadable", boxed("Maybe"), "wrong")
        add("unreadable/number", boxed("42"), "wrong")
        add("think/inside_only", f"<think>\\boxed{{{gold}}}", "format_violation")
        add("think/box_before_close", f"<think>\\boxed{{{other}}}</think>\\boxed{{{gold}}}", "format_violation")
    return rows


def ordering_cases() -> list[dict]:
    rows = []
    golds = [("A", "D", "C", "B"), ("B", "C", "D", "A"), ("C", "A", "B", "D")]
    for gold in golds:
        g = ", ".join(gold)

        def add(cls, completion, expected):
            rows.append(dict(cls=cls, completion=completion, gold=g, choices=None, expected=expected))

        notations = {
            "comma": ", ".join(gold), "comma_tight": ",".join(gold), "comma_period": ", ".join(gold) + ".",
            "parentheses": "(" + ", ".join(gold) + ")", "brackets": "[" + ", ".join(gold) + "]",
            "arrow_to": " \\to ".join(gold), "arrow_rightarrow": " \\rightarrow ".join(gold), "arrow_unicode": " → ".join(gold),
            "arrow_ascii": " -> ".join(gold), "succ": " ≻ ".join(gold), "succ_latex": " \\succ ".join(gold),
            "greater": " > ".join(gold), "spaces": " ".join(gold), "concatenated": "".join(gold),
            "lowercase": ", ".join(gold).lower(), "then": ", then ".join(gold), "and": ", ".join(gold[:-1]) + " and " + gold[-1],
            "semicolon": "; ".join(gold), "dash": "-".join(gold), "fullwidth": "，".join(chr(0xFF21 + ord(c) - 65) for c in gold),
        }
        for name, text in notations.items():
            add(f"notation/{name}", boxed(text), "exact")
            for wname in ("text", "mathbf", "bold_md", "nested_box", "dollars"):
                add(f"notation/{name}/{wname}", boxed(WRAPPERS[wname].format(text)), "exact")
        wrong = [p for p in permutations(gold) if p != gold][:8]
        for p in wrong:
            add("wrong", boxed(", ".join(p)), "wrong")
            add("wrong/arrows", boxed(" → ".join(p)), "wrong")
            add("hedge", boxed(f"{g} or {', '.join(p)}"), "format_violation")
            add("hedge/slash", boxed(f"{g} / {', '.join(p)}"), "format_violation")
            add("boxes/different", think(f"\\boxed{{{g}}} then \\boxed{{{', '.join(p)}}}"), "format_violation")
            add("unboxed/final_changed", think(f"First guess: {', '.join(p)}.\n\nThe correct order is {g}."), "option_only")
        add("notation/numbered_list", boxed(" ".join(f"{i + 1}. {c}" for i, c in enumerate(gold))), "exact")
        add("notation/numbered_parens", boxed(", ".join(f"{i + 1}) {c}" for i, c in enumerate(gold))), "exact")
        add("missing_letter", boxed(", ".join(gold[:3])), "wrong")
        add("repeated_letter", boxed(", ".join(gold[:3] + gold[:1])), "wrong")
        add("extra_letter", boxed(", ".join(gold + ("E",))), "wrong")
        add("negation", boxed(f"not {g}"), "wrong")
        add("unboxed/sentence", think(f"The order is {g}."), "option_only")
        add("unboxed/bold", think(f"**{g}**"), "option_only")
        add("boxes/identical", think(f"\\boxed{{{g}}} i.e. \\boxed{{{''.join(gold)}}}"), "exact")
        add("boxes/empty", think("\\boxed{}"), "no_answer")
        add("no_answer", think("These events are hard to order."), "no_answer")
        add("think/inside_only", f"<think>\\boxed{{{g}}}", "format_violation")
    return rows


# Sentences beside committed cells that name "none" or "no (other) equilibrium" only to say the cells are all
# there is ({them}: "it" or "these"; {cells}: the committed cells).
NO_OTHER_SHAPES = {
    "no_psne_other_than_it": "there is no pure strategy Nash equilibrium other than {them}",
    "no_ne_besides_cells": "there is no pure Nash equilibrium besides {cells}",
    "no_equilibria_exist_other_than": "no pure strategy Nash equilibria exist other than {them}",
    "no_equilibrium_apart_from": "there is no equilibrium apart from {them}",
    "no_equilibrium_except": "there is no Nash equilibrium except {cells}",
    "no_other_equilibrium": "there is no other pure strategy Nash equilibrium",
    "no_other_cell": "no other cell is an equilibrium",
    "none_of_the_other_cells": "none of the other cells is an equilibrium",
    "none_of_the_remaining_profiles": "none of the remaining profiles is a Nash equilibrium",
    "none_other": "the equilibrium set is none other than {cells}",
    "another_does_not_exist": "another pure equilibrium does not exist",
    "there_are_no_others": "there are no others",
}


def pairs_cases() -> list[dict]:
    rows = []
    golds = [[(0, 1), (2, 2)], [(1, 0)], []]
    for cells in golds:
        gold = "[" + ", ".join(f"[{i}, {j}]" for i, j in cells) + "]"

        def add(cls, completion, expected):
            rows.append(dict(cls=cls, completion=completion, gold=gold, choices=None, expected=expected))

        if cells:
            forms = {
                "nested_lists": "[" + ", ".join(f"[{i}, {j}]" for i, j in cells) + "]",
                "tight": "[" + ",".join(f"[{i},{j}]" for i, j in cells) + "]",
                "reversed_order": "[" + ", ".join(f"[{i}, {j}]" for i, j in reversed(cells)) + "]",
                "bare_lists": ", ".join(f"[{i}, {j}]" for i, j in cells),
                "tuples": ", ".join(f"({i}, {j})" for i, j in cells),
                "set_latex": "\\{" + ", ".join(f"({i},{j})" for i, j in cells) + "\\}",
                "list_of_tuples": "[" + ", ".join(f"({i}, {j})" for i, j in cells) + "]",
                "and": " and ".join(f"({i}, {j})" for i, j in cells),
                "semicolons": "; ".join(f"[{i}, {j}]" for i, j in cells),
                "trailing_period": "[" + ", ".join(f"[{i}, {j}]" for i, j in cells) + "].",
            }
            if len(cells) == 1:
                forms["single_pair"] = f"[{cells[0][0]}, {cells[0][1]}]"
            wrongs = {
                "swapped": "[" + ", ".join(f"[{j}, {i}]" for i, j in cells if i != j) + "]" if any(i != j for i, j in cells) else None,
                "subset": f"[[{cells[0][0]}, {cells[0][1]}]]" if len(cells) > 1 else None,
                "superset": "[" + ", ".join(f"[{i}, {j}]" for i, j in cells + [(1, 1)]) + "]",
                "empty": "[]",
            }
            hedges = [f"{forms['nested_lists']} or []", f"{forms['tuples']} or (1, 1)", f"either {forms['nested_lists']} or [[1, 1]]",
                      f"{forms['nested_lists']} / [[1, 1]]", f"{forms['nested_lists']}, or none",
                      f"{forms['nested_lists']}, [[1, 1]]", f"[[1, 1]], {forms['nested_lists']}"]
        else:
            forms = {"brackets": "[]", "nested": "[[]]", "emptyset": "\\emptyset", "varnothing": "\\varnothing", "unicode": "∅",
                     "none": "None", "set_latex": "\\{\\}", "words": "no pure strategy Nash equilibrium"}
            wrongs = {"one_cell": "[[0, 0]]", "tuple": "(1, 2)"}
            hedges = ["[] or [[0, 0]]", "None or (1, 1)", "either [] or [[2, 2]]", "[], [[0, 0]]"]
        if cells:  # a capital P in the text is no cell ("P1:", "Pure NE")
            for label in ("P1: ", "Pure NE: ", "PSNE = "):
                add("label_with_capital_p", boxed(label + forms["list_of_tuples"]), "exact")
            add("unboxed/label_with_capital_p", think(f"The Pure NE are {forms['list_of_tuples']}."), "option_only")
        for name, text in forms.items():
            add(f"notation/{name}", boxed(text), "exact")
            for wname in ("text", "mathbf", "dollars", "nested_box"):
                add(f"notation/{name}/{wname}", boxed(WRAPPERS[wname].format(text)), "exact")
            add(f"unboxed/{name}", think(f"The equilibria are: {text}"), "option_only")
        for name, text in wrongs.items():
            if text is not None:
                add(f"wrong/{name}", boxed(text), "wrong")
        for text in hedges:
            add("hedge", boxed(text), "format_violation")
        if cells:  # "none" / "no (other) equilibrium" saying the committed cells are all there is: no second answer
            for shape, sentence in NO_OTHER_SHAPES.items():
                them = "it" if len(cells) == 1 else "these"
                sentence = sentence.format(them=them, cells=forms["tuples"])
                add(f"no_other/{shape}/unboxed", think(f"The pure equilibria are {forms['tuples']}; {sentence}."), "option_only")
                add(f"no_other/{shape}/answer_line", think(f"Answer: {forms['nested_lists']}. {sentence[0].upper()}{sentence[1:]}."), "option_only")
                add(f"no_other/{shape}/boxed", think(f"\\boxed{{{forms['nested_lists']}}}. {sentence[0].upper()}{sentence[1:]}."), "exact")
            for text in (f"{forms['tuples']}, or no pure strategy Nash equilibrium", f"either {forms['tuples']} or none",
                         f"{forms['tuples']}, or there is no pure equilibrium"):  # "none" offered as an alternative: a hedge
                add("hedge/none_alternative/unboxed", think(f"The pure equilibria are {text}."), "format_violation")
                add("hedge/none_alternative/boxed", boxed(text), "format_violation")
        add("huge_numbers", boxed("[[" + "1" * 5000 + ", 0]]"), "wrong")
        add("boxes/different", think(f"\\boxed{{{gold}}} and \\boxed{{[[1, 1]]}}"), "format_violation")
        add("boxes/identical", think(f"\\boxed{{{gold}}} and \\boxed{{{gold}}}"), "exact")
        add("boxes/empty", think("\\boxed{}"), "no_answer")
        add("think/two_closes", f"<think>a</think></think>\\boxed{{{gold}}}", "format_violation")
    return rows


# Templates for published problems: {g} gold number, {gtext} gold option text, {o} another option,
# {otext} its text, {gold} the gold answer as published, {other} a different well-formed answer.
PUBLISHED_TEMPLATES = [
    ("exact", "option", "\\boxed{{Option {g}: {gtext}}}", "exact"),
    ("number_only", "option", "\\boxed{{Option {g}}}", "option_only"),
    ("mathbf", "option", "\\boxed{{\\mathbf{{Option {g}}}}}", "option_only"),
    ("text_tilde", "option", "\\boxed{{\\text{{Option}}~{g}}}", "option_only"),
    ("text_only", "option", "\\boxed{{{gtext}}}", "option_only"),
    ("wrong", "option", "\\boxed{{Option {o}: {otext}}}", "wrong"),
    ("hedge_or", "option", "\\boxed{{Option {g} or {o}}}", "format_violation"),
    ("hedge_list", "option", "\\boxed{{Option {g}, {o}}}", "format_violation"),
    ("hedge_text", "option", "\\boxed{{Option {g}: {otext}}}", "format_violation"),
    ("negation", "option", "The answer is not Option {o}.", "wrong"),
    ("unboxed_final", "option", "Option {o} fails, so the answer is Option {g}.", "option_only"),
    ("restated", "option", "\\boxed{{Option {g}: {gtext}}}\n\nFinal: \\boxed{{Option {g}}}", "exact"),
    ("exact", "other", "\\boxed{{{gold}}}", "exact"),
    ("textbf", "other", "\\boxed{{\\textbf{{{gold}}}}}", "exact"),
    ("wrong", "other", "\\boxed{{{other}}}", "wrong"),
    ("hedge", "other", "\\boxed{{{gold} or {other}}}", "format_violation"),
    ("unboxed_bold", "other", "**{gold}**", "option_only"),
    ("boxes_different", "other", "\\boxed{{{gold}}} \\boxed{{{other}}}", "format_violation"),
    ("empty_box", "any", "\\boxed{{}}", "no_answer"),
    ("inside_think_only", "any", "<think>\\boxed{{{gold_boxed}}}", "format_violation"),
]


def main() -> None:
    total = 0
    for answer_type, rows in [("option", option_cases()), ("yes_no", yes_no_cases()),
                              ("ordering", ordering_cases()), ("pairs", pairs_cases())]:
        with open(HERE / f"{answer_type}.jsonl", "w") as f:
            for row in rows:
                row = {"class": row.pop("cls"), "answer_type": answer_type, **row, "reward": REWARD[row["expected"]]}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        total += len(rows)
        print(f"{answer_type}: {len(rows)} cases")
    with open(HERE / "published.jsonl", "w") as f:
        for cls, applies_to, template, expected in PUBLISHED_TEMPLATES:
            row = {"class": f"published/{cls}", "applies_to": applies_to, "template": template,
                   "expected": expected, "reward": REWARD[expected]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"synthetic: {total} cases; published templates: {len(PUBLISHED_TEMPLATES)}")


if __name__ == "__main__":
    main()
