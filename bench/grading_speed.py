"""Grading time on adversarial completions at 7, 28 and 100 KB, for every answer type.

    python bench/grading_speed.py [--repeats 5]

Prints, per shape, the slowest answer type's CPU milliseconds (process time, so that other jobs on a
shared machine do not count) per completion and per KB at each size, and the
linearity ratio (ms/KB at 100 KB ÷ ms/KB at 7 KB; ≈1 is linear, the old grader's was ~40 on unclosed
boxes). Target: every 100 KB completion graded in under 50 ms."""

from __future__ import annotations

import argparse
import time

from recon.grading import grade

SIZES_KB = (7, 28, 100)
GOLDS = {
    "option": ("Option 2: Both firms compete", ["Both firms collude", "Both firms compete", "They alternate"]),
    "yes_no": ("Yes", None),
    "ordering": ("B, C, D, A", None),
    "pairs": ("[[0, 1], [2, 2]]", None),
}
THINK = "<think>\nreasoning\n</think>\n\n"


def _fill(piece: str, size: int, head: str = THINK, tail: str = "") -> str:
    body = size - len(head) - len(tail)
    return head + (piece * (body // len(piece) + 1))[: max(body, 0)] + tail


# name → completion of about `size` characters
SHAPES = {
    "unclosed \\boxed{": lambda n: _fill("\\boxed{", n, head=""),
    "unclosed \\boxed{ after </think>": lambda n: _fill("\\boxed{", n),
    "digit run in a box": lambda n: _fill("9", n, head=THINK + "\\boxed{Option ", tail="}"),
    "digit run unboxed": lambda n: _fill("9", n, head=THINK + "The answer is Option "),
    "digit cell": lambda n: _fill("1", n, head=THINK + "\\boxed{[[", tail=", 0]]}"),
    "nested braces": lambda n: THINK + "\\boxed{" + "{" * (n // 2) + "}" * (n // 2) + "}",
    "dense brace groups": lambda n: THINK + "\\boxed{" + "{{}}" * (n // 4) + "}",
    "nested boxes": lambda n: THINK + "\\boxed{" * (n // 8) + "Option 2" + "}" * (n // 8),
    "many identical boxes": lambda n: _fill("\\boxed{Option 2} ", n),
    "many option mentions": lambda n: _fill("Option 1 or ", n),
    "many answer cues": lambda n: _fill("the answer is ", n),
    "many short lines": lambda n: _fill("no\n", n),
    "one long line of letters": lambda n: _fill("A, ", n),
    "whitespace run": lambda n: _fill(" ", n, tail="A 1"),
    "dash run": lambda n: _fill("-", n),
    "cell list": lambda n: _fill("[0, 1], ", n, head=THINK + "\\boxed{[", tail="]}"),
    "many </think>": lambda n: _fill("</think>", n, head=""),
}


def slowest_ms(text: str, repeats: int) -> float:
    """The slowest answer type's best-of-`repeats` time to grade `text`, in ms."""
    worst = 0.0
    for answer_type, (gold, choices) in GOLDS.items():
        best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            grade(text, gold, answer_type, choices)
            best = min(best, time.process_time() - started)
        worst = max(worst, best)
    return worst * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    header = " | ".join(f"{kb} KB ms (ms/KB)" for kb in SIZES_KB)
    print(f"| shape | {header} | ratio 100/7 |")
    print("|---|" + "---|" * (len(SIZES_KB) + 1))
    worst_100 = 0.0
    for name, make in SHAPES.items():
        per_kb = []
        cells = []
        for kb in SIZES_KB:
            ms = slowest_ms(make(kb * 1024), args.repeats)
            per_kb.append(ms / kb)
            cells.append(f"{ms:.2f} ({ms / kb:.3f})")
        worst_100 = max(worst_100, per_kb[-1] * SIZES_KB[-1])
        print(f"| {name} | " + " | ".join(cells) + f" | {per_kb[-1] / per_kb[0]:.2f} |")
    print(f"\nslowest 100 KB completion: {worst_100:.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
