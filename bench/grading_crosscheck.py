"""Cross-check recon's grader against an independent extraction (math-verify's) on the published SFT-CoT
teacher responses (866 rows).

    pip install math-verify   # in the dev extra
    python bench/grading_crosscheck.py [--data-dir DIR] [--examples 2] [--variants]

Independent side: math-verify's boxed extraction (`latex2sympy2_extended.extract_boxed_content`, which its
`parse` uses: the last box, right to left) on the text after `</think>`, then its basic LaTeX normalisation,
then a deliberately naive reader per answer type (first `Option N`, or a choice's exact text; the word
yes/no; capital letters; a Python literal of cells). Recon side: `grade()`. Prints how often the two read
the same answer and reach the same verdict against the gold, and every disagreement class with examples.
`--variants` also rewrites each response's box in the ways docs/grading.md covers (wrappers, a nested box,
a restated box, a hedge) and reports the disagreements per rewrite."""

from __future__ import annotations

import argparse
import ast
import re
from collections import Counter, defaultdict

from recon.data.published import load_split
from recon.grading import canonical_answer, grade
from recon.grading.extract import answer_region


def math_verify_box(region: str) -> str | None:
    """math-verify's reading of the final boxed answer (None when there is no box)."""
    from latex2sympy2_extended.math_normalization import NormalizationConfig, extract_boxed_content, normalize_latex

    if "\\boxed" not in region and "\\fbox" not in region:
        return None
    content = extract_boxed_content(region, mode="last")
    config = NormalizationConfig(basic_latex=True, units=False, malformed_operators=False, nits=False, boxed="none", equations=False)
    return normalize_latex(content, config=config).strip()


def naive_value(text: str, answer_type: str, choices):
    """A minimal reader, independent of recon's normalisers."""
    text = text.replace("\\text{", "").replace("\\textbf{", "").replace("{", "").replace("}", "").strip()
    if answer_type == "option":
        match = re.search(r"Option\s*(\d+)", text)
        if match:
            return int(match.group(1))
        hits = [i + 1 for i, c in enumerate(choices or []) if c.strip().lower() == text.lower().rstrip(".")]
        return hits[0] if len(hits) == 1 else None
    if answer_type == "yes_no":
        word = text.strip(" .!*").lower()
        return word if word in ("yes", "no") else None
    if answer_type == "ordering":
        return tuple(re.findall(r"[A-Z]", text)) if re.fullmatch(r"[A-Z ,>\-]+\.?", text) else None
    try:
        value = ast.literal_eval(text.replace("(", "[").replace(")", "]"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if value and all(isinstance(v, int) for v in value):
        value = [value]
    return frozenset(tuple(v) for v in value) if isinstance(value, list) else None


# Rewrites of the final box: name → function of the box content (None: not applicable).
VARIANTS = {
    "as published": lambda c: c,
    "\\mathbf wrapper": lambda c: f"\\mathbf{{{c}}}",
    "\\textit wrapper": lambda c: f"\\textit{{{c}}}",
    "nested box": lambda c: f"\\boxed{{{c}}}",
    "bold markdown": lambda c: f"**{c}**",
    "restated number only": None,  # handled in `variant`
    "hedge with another answer": None,
}


def variant(response: str, name: str, problem) -> str | None:
    """The response with its last box rewritten as `name` says (None when it has no box)."""
    match = list(re.finditer(r"\\boxed\{(.*)\}", response))
    if not match:
        return None
    start, end, content = match[-1].start(), match[-1].end(), match[-1].group(1)
    if name == "restated number only":
        number = re.match(r"Option \d+", content)
        new = f"\\boxed{{{content}}}\n\nFinal answer: \\boxed{{{number.group() if number else content}}}"
    elif name == "hedge with another answer":
        letters = re.findall(r"[A-Z]", content)
        other = {
            "option": "Option 1" if content.startswith("Option 2") else "Option 2",
            "yes_no": "No" if "Yes" in content else "Yes",
            "ordering": ", ".join(letters[1:] + letters[:1]),
            "pairs": "[[1, 1]]" if content.strip() != "[[1, 1]]" else "[]",
        }[problem.answer_type]
        new = f"\\boxed{{{content} or {other}}}"
    else:
        new = f"\\boxed{{{VARIANTS[name](content)}}}"
    return response[:start] + new + response[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--examples", type=int, default=2)
    parser.add_argument("--variants", action="store_true")
    args = parser.parse_args()
    problems = load_split("sft_cot", args.data_dir)
    for name in VARIANTS if args.variants else ["as published"]:
        responses = [(p, p.meta["response"] if name == "as published" else variant(p.meta["response"], name, p)) for p in problems]
        rows = [(p, r) for p, r in responses if r is not None]
        counts, examples = compare(rows, args.examples)
        print(f"\n## {name}")
        print(f"{len(rows)} SFT-CoT responses; {sum(p.meta.get('train_id') is not None for p, _ in rows)} with a gold from train")
        for key, n in counts.most_common():
            print(f"  {n:4d}  {key}")
            for example in examples.get(key, []):
                print(f"          e.g. {example}")


def compare(rows, n_examples: int = 2) -> tuple[Counter[str], dict[str, list[str]]]:
    """Counts of (dis)agreement classes over (problem, response) rows, with up to `n_examples` each."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for p, response in rows:
        region, _ = answer_region(response, "required")
        mine = grade(response, p.gold, p.answer_type, p.choices)
        ours = canonical_answer(p.answer_type, mine.predicted) if mine.predicted else None
        box = math_verify_box(region) if region is not None else None
        theirs = naive_value(box, p.answer_type, p.choices) if box is not None else None
        gold = canonical_answer(p.answer_type, p.gold)
        reading = "same answer" if ours == theirs else f"different answer ({p.answer_type})"
        counts[reading] += 1
        if p.meta.get("train_id") is not None:  # a gold independent of the response
            verdict = "same verdict" if mine.correct == (theirs is not None and theirs == gold) else (
                f"verdict differs: recon {mine.status}, math-verify {'correct' if theirs == gold else 'not correct'}"
            )
            counts[verdict] += 1
            if verdict != "same verdict" and len(examples[verdict]) < n_examples:
                examples[verdict].append(f"{p.id}: box {box!r:.90} | recon {mine.predicted!r:.60} ({mine.reason})")
        if ours != theirs and len(examples[reading]) < n_examples:
            examples[reading].append(f"{p.id}: box {box!r:.90} | recon {mine.predicted!r:.60} ({mine.reason})")
    return counts, examples


if __name__ == "__main__":
    main()
