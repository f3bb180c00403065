"""The `Problem` record every stage passes along, with JSONL and `datasets` round trips."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Sequence, TypeVar

AnswerType = Literal["option", "yes_no", "ordering", "pairs"]
ANSWER_TYPES: tuple[str, ...] = ("option", "yes_no", "ordering", "pairs")
T = TypeVar("T")


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
        if self.answer_type not in ANSWER_TYPES:
            raise ValueError(f"problem {self.id!r}: unknown answer_type {self.answer_type!r}")
        if self.answer_type == "option" and not self.choices:
            raise ValueError(f"problem {self.id!r}: an option problem needs choices")
        if not self.messages or not all("role" in m and "content" in m for m in self.messages):
            raise ValueError(f"problem {self.id!r}: messages must be a non-empty list of {{role, content}}")

    @property
    def gold_option(self) -> int | None:
        """1-based gold option number for option problems, else None."""
        from recon.grading.extract import parse_option_number

        return parse_option_number(self.gold) if self.answer_type == "option" else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Problem":
        known = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        missing = {"id", "category", "question", "answer_type", "gold", "messages"} - known.keys()
        if missing:
            raise ValueError(f"problem record is missing {sorted(missing)}")
        known.setdefault("source", "unknown")
        known.setdefault("choices", None)
        known["choices"] = known["choices"] or None
        known["meta"] = _decode_meta(known.get("meta"))
        return cls(**known)


def _decode_meta(meta: Any) -> dict[str, Any]:
    if meta is None or meta == "":
        return {}
    if isinstance(meta, str):
        return json.loads(meta)
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
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc


def read_appended_jsonl(path: str | Path, repair: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """Records of an append-only JSONL file and whether it had a torn tail (bytes after the last
    newline: a writer killed mid-line). With `repair` the tail is cut from the file so appends resume
    cleanly. A bad complete line is corruption, not a torn write, and raises naming file and line."""
    path = Path(path)
    if not path.exists():
        return [], False
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    records = []
    for lineno, line in enumerate(data[:end].split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: corrupt record ({exc}); not a torn tail, refusing to guess") from exc
    torn = end < len(data)
    if repair and torn:
        with path.open("r+b") as fh:
            fh.truncate(end)
    return records, torn


def write_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """Write a file so a reader sees the old or the new content, never a mix (temp file + fsync + rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.writelines([text] if isinstance(text, str) else text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_problems(path: str | Path) -> list[Problem]:
    """Read a canonical problems JSONL file."""
    problems = []
    for lineno, row in enumerate(iter_jsonl(path), 1):
        try:
            problems.append(Problem.from_dict(row))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: record {lineno}: {exc}") from exc
    return problems


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
