"""The `Problem` record every stage passes along, with JSONL and `datasets` round trips."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Sequence, TypeVar

from recon.errors import UserError

AnswerType = Literal["option", "yes_no", "ordering", "pairs"]
ANSWER_TYPES: tuple[str, ...] = ("option", "yes_no", "ordering", "pairs")
T = TypeVar("T")


# A gold list of equilibrium cells, strictly: `[[0, 1], [2, 2]]`, one cell `[0, 1]`, or none `[]`.
_CELL = r"\[\s*-?\d+\s*,\s*-?\d+\s*\]"
GOLD_PAIRS = re.compile(rf"\s*(\[\s*(\[\s*\]|{_CELL}(\s*,\s*{_CELL})*)?\s*\]|{_CELL})\s*")


# The text after `Option N:` in a gold answer (absent when the gold is only `Option N`).
OPTION_TEXT = re.compile(r"\s*Option\s+\d+\s*:\s*(.*\S)\s*$", re.S)


def _option_key(text: str) -> str:
    """An option's text up to case, spacing, punctuation and currency signs (one published gold writes
    `(14030.36, 14030.36)` for the choice `($14030.36, $14030.36)`)."""
    return re.sub(r"[^0-9a-z.\-]+", "", text.lower())


class DataFormatError(UserError, ValueError):
    """A problem, row or file that does not have the documented shape (the message names where)."""


def gold_problem(answer_type: str, gold: str, choices: Sequence[str] | None) -> str | None:
    """Why `gold` can never be graded correct for its answer type, e.g. "'Maybe' is neither Yes nor No"
    (None when it is a valid answer)."""
    from recon.grading.grade import parse_option_number, parse_ordering, parse_yes_no

    if answer_type == "option":
        number = parse_option_number(gold)
        n = len(choices or [])
        if number is None or not 1 <= number <= n:
            return f"{gold!r} is not one of Option 1..{n}"
        text = OPTION_TEXT.match(gold)
        if text and _option_key(text.group(1)) != _option_key(choices[number - 1]):  # type: ignore[index]
            return f"{gold!r} does not match choice {number}'s text {choices[number - 1]!r:.80}"  # type: ignore[index]
        return None
    if answer_type == "yes_no":
        return None if parse_yes_no(gold) else f"{gold!r} is neither Yes nor No"
    if answer_type == "ordering":
        order = parse_ordering(gold)
        if order is None or sorted(order) != [chr(ord("A") + i) for i in range(len(order))]:
            return f"{gold!r} is not an ordering of distinct letters A, B, C, …"
        return None
    return None if GOLD_PAIRS.fullmatch(gold) else f"{gold!r} is not a list of cells like [[0, 1], [2, 2]] (or [])"


@dataclass
class Problem:
    """One economic reasoning problem.

    `gold` is the canonical answer string: `Option N: text` for options, `Yes`/`No`,
    an ordering `B, C, D, A`, or equilibrium cells `[[0, 1], [2, 2]]` (`[]` for none).
    `messages` is the chat prompt exactly as a model sees it.
    """

    id: str
    category: str
    source: str
    question: str
    choices: list[str] | None
    answer_type: AnswerType
    gold: str
    messages: list[dict[str, str]]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("id", "category", "source", "question", "gold"):
            if not isinstance(getattr(self, name), str):
                raise DataFormatError(f"problem {self.id!r}: {name} must be a string, got {type(getattr(self, name)).__name__}")
        if self.choices is not None and (not isinstance(self.choices, list) or not all(isinstance(c, str) for c in self.choices)):
            raise DataFormatError(f"problem {self.id!r}: choices must be a list of texts, got {self.choices!r:.60}")
        if not isinstance(self.meta, dict):
            raise DataFormatError(f"problem {self.id!r}: meta must be an object, got {type(self.meta).__name__}")
        if not isinstance(self.answer_type, str) or self.answer_type not in ANSWER_TYPES:
            raise DataFormatError(f"problem {self.id!r}: answer_type {self.answer_type!r} is not one of {ANSWER_TYPES}")
        if self.answer_type == "option" and not self.choices:
            raise DataFormatError(f"problem {self.id!r}: choices: an option problem needs choices")
        if not isinstance(self.messages, list) or not self.messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in self.messages
        ):
            raise DataFormatError(f"problem {self.id!r}: messages must be a non-empty list of {{role, content}}")
        reason = gold_problem(self.answer_type, self.gold, self.choices)
        if reason:
            raise DataFormatError(f"problem {self.id!r}: gold {reason} (answer_type {self.answer_type})")

    @property
    def gold_option(self) -> int | None:
        """1-based gold option number for option problems, else None."""
        from recon.grading.grade import parse_option_number

        return parse_option_number(self.gold) if self.answer_type == "option" else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Problem":
        known = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        missing = {"id", "category", "question", "answer_type", "gold", "messages"} - known.keys()
        if missing:
            raise DataFormatError(f"problem record is missing {sorted(missing)}")
        known.setdefault("source", "unknown")
        known.setdefault("choices", None)
        known["choices"] = known["choices"] or None
        known["meta"] = _decode_meta(known.get("meta"))
        return cls(**known)


def _decode_meta(meta: Any) -> dict[str, Any]:
    if meta is None or meta == "":
        return {}
    if isinstance(meta, str):
        try:
            return json.loads(meta)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"meta is not JSON ({exc.msg})") from None
    if not isinstance(meta, dict):
        raise DataFormatError(f"meta must be an object, got {type(meta).__name__}")
    return dict(meta)


def write_jsonl(records: Iterable[Problem | dict[str, Any]], path: str | Path) -> int:
    """Write problems (or plain dicts) one JSON object per line; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            row = rec.to_dict() if isinstance(rec, Problem) else rec
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield JSON objects from a JSONL file; a bad line raises naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataFormatError(f"{path}:{lineno}: not UTF-8 text (a binary file?)") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataFormatError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield row


def read_problems(path: str | Path) -> list[Problem]:
    """Read a canonical problems JSONL file."""
    problems = []
    for lineno, row in enumerate(iter_jsonl(path), 1):
        try:
            problems.append(Problem.from_dict(row))
        except (ValueError, TypeError) as exc:
            raise DataFormatError(f"{path}: record {lineno}: {exc}") from None
    return problems


def check_unique_ids(problems: Sequence[Problem], source: str) -> None:
    """Refuse (naming `source`, the record and the id) problems whose ids repeat: an evaluation keys its
    samples by id."""
    first_record: dict[str, int] = {}
    for number, problem in enumerate(problems, 1):
        if problem.id in first_record:
            raise DataFormatError(f"{source}: record {number}: id {problem.id!r} repeats record {first_record[problem.id]}; ids must be unique")
        first_record[problem.id] = number


def to_dataset(problems: Iterable[Problem]):
    """A `datasets.Dataset` with one column per field; `meta` is stored as a JSON string and
    `choices` as a (possibly empty) list so every row has the same schema. `prompt` repeats
    `messages` under the name TRL expects."""
    from datasets import Dataset

    rows = []
    for p in problems:
        row = p.to_dict()
        row["choices"] = p.choices or []
        row["meta"] = json.dumps(p.meta, ensure_ascii=False)
        row["prompt"] = p.messages
        rows.append(row)
    return Dataset.from_list(rows)


def from_dataset(dataset) -> list[Problem]:
    """Inverse of `to_dataset`."""
    return [Problem.from_dict(row) for row in dataset]


def even_slice(items: Sequence[T], n: int | None) -> list[T]:
    """`n` items spread evenly over `items` (all of them when n is None or too large) — a fixed,
    category-balanced slice of the published files, whose categories come in blocks."""
    if n is None or n >= len(items):
        return list(items)
    if n < 1:
        raise ValueError(f"cannot take {n} items")
    return [items[int(i * len(items) / n)] for i in range(n)]


def stratified_slice(problems: Sequence[Problem], n: int | None) -> list[Problem]:
    """`n` problems shared as evenly as the categories allow (a category with fewer items than its share
    gives the rest to the others; leftover items go to categories in name order), each category's share
    spread evenly over its items (`even_slice`); the slice keeps file order."""
    if n is None or n >= len(problems):
        return list(problems)
    if n < 1:
        raise ValueError(f"cannot take {n} items")
    groups: dict[str, list[int]] = {}
    for index, problem in enumerate(problems):
        groups.setdefault(problem.category, []).append(index)
    quota, left = {}, n
    remaining = sorted(groups, key=lambda c: (len(groups[c]), c))
    while remaining and len(groups[remaining[0]]) <= left // len(remaining):
        smallest = remaining.pop(0)
        quota[smallest] = len(groups[smallest])
        left -= quota[smallest]
    for rank, category in enumerate(sorted(remaining)):
        quota[category] = left // len(remaining) + (rank < left % len(remaining))
    chosen = sorted(i for c, indices in groups.items() if quota[c] for i in even_slice(indices, quota[c]))
    return [problems[i] for i in chosen]
