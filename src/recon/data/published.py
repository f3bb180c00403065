"""Load the published Recon data (MasterZhou/Recon) from a local directory or the HF hub.

The CSVs carry no category column: categories are recovered from the documented row blocks, and
every row is checked against a pattern for its category, so a reordered or edited file fails
loudly instead of being mislabelled."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import Any, Iterable

from recon.data.problem import DataFormatError, Problem, gold_problem
from recon.errors import UserError

HUB_ID = "MasterZhou/Recon"
SPLIT_FILES = {"train": "train_dataset.csv", "eval": "eval_dataset.csv", "sft_cot": "sft_cot_dataset.csv"}

# (category, train rows, eval rows), in file order (see the data README).
CATEGORY_BLOCKS: list[tuple[str, int, int]] = [
    ("enforceability", 250, 20),
    ("backward_induction", 250, 20),
    ("trigger", 250, 20),
    ("feasibility", 150, 20),
    ("auction_risk", 150, 20),
    ("endowment_effect", 75, 20),
    ("certainty_effect", 75, 20),
    ("time_inconsistency", 25, 20),
    ("budget_balance", 50, 20),
    ("condorcet_criterion", 25, 20),
    ("bayes_nash", 50, 20),
    ("econnli", 100, 20),
    ("econlogicqa", 150, 20),
    ("pure_nash", 100, 20),
    ("pte", 100, 20),
]
CATEGORIES: list[str] = [name for name, _, _ in CATEGORY_BLOCKS]

CATEGORY_SOURCE = {c: "STEER" for c in CATEGORIES}
CATEGORY_SOURCE.update(econnli="EconNLI", econlogicqa="EconLogicQA", pure_nash="ETH-games", pte="ETH-games")

ANSWER_TYPE = {c: "option" for c in CATEGORIES}
ANSWER_TYPE.update(econnli="yes_no", econlogicqa="ordering", pure_nash="pairs", pte="pairs")

# Every row of a block must match its category's pattern (case-insensitive, across lines).
CATEGORY_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.I | re.S)
    for name, pattern in {
        "enforceability": r"^(?=.*discount)(?=.*(equilibrium|enforce|sustain))",
        "backward_induction": r"^(?=.*(round|stage|node|initial|first|backward|decision))(?=.*Option 2: )(?!.*Option 3: )",
        "trigger": r"^(?=.*(discount|future|worth))(?=.*Option 1: (0|1|0?\.\d+|1\.0+|0\.\d+)\s*\n)",
        "feasibility": r"^(?=.*discount)(?=.*Option 1: \(?\$)",
        "auction_risk": r"auction",
        "endowment_effect": r"(trade|swap|exchange)",
        "certainty_effect": r"\d%",
        "time_inconsistency": r"(today|tomorrow|days? from now|in \d+ days)",
        "budget_balance": r"budget[- ]balanced",
        "condorcet_criterion": r"(pairwise|voters|ranked|vote)",
        "bayes_nash": r"\d+ states",
        "econnli": r"Premise:.*Hypothesis:",
        "econlogicqa": r"\nA: .*\nB: .*\nC: .*\nD: ",
        "pure_nash": r"pure strategy Nash equilibri",
        "pte": r"Perfectly Transparent Equilibrium",
    }.items()
}

_OPTION_LINE = re.compile(r"^Option (\d+):\s?(.*)$")


def default_data_dir() -> Path:
    """`$RECON_DATA_DIR`, else `../shared/data/recon` beside the repository checkout or the working directory."""
    if os.environ.get("RECON_DATA_DIR"):
        return Path(os.environ["RECON_DATA_DIR"])
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        candidate = base.parent / "shared" / "data" / "recon"
        if (candidate / SPLIT_FILES["train"]).exists():
            return candidate
    return Path.cwd().parent / "shared" / "data" / "recon"


def block_categories(split: str, n_rows: int, source_name: str | None = None) -> list[str]:
    """The category of each row of `train` or `eval`, from the documented blocks."""
    column = {"train": 1, "eval": 2}[split]
    labels = [block[0] for block in CATEGORY_BLOCKS for _ in range(block[column])]
    if n_rows != len(labels):
        raise DataFormatError(f"{source_name or SPLIT_FILES[split]}: expected {len(labels)} rows, found {n_rows}")
    return labels


def parse_messages(raw: str, where: str) -> list[dict[str, str]]:
    """A stringified message list (Python literal) → messages, without `eval`."""
    try:
        messages = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise DataFormatError(f"{where}: prompt is not a message list ({type(exc).__name__})") from exc
    if not (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages)
    ):
        raise DataFormatError(f"{where}: prompt must be a non-empty list of {{'role', 'content'}} dicts")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def split_question(content: str) -> tuple[str, list[str] | None]:
    """The question text (without the instructions) and the option texts, if any."""
    if "Question:" in content:
        body = content.rsplit("Question:", 1)[-1]
    else:
        starts = [content.index(m) for m in ("Premise:", "Player 0's payoff matrix:") if m in content]
        body = content[min(starts) :] if starts else content
    choices = None
    if "\nOptions:" in body:
        body, options = body.rsplit("\nOptions:", 1)
        choices = []
        for line in options.strip().splitlines():
            match = _OPTION_LINE.match(line.strip())
            if match:
                if int(match.group(1)) != len(choices) + 1:
                    raise DataFormatError(f"options out of order at 'Option {match.group(1)}'")
                choices.append(match.group(2).strip())
            elif choices and line.strip():
                choices[-1] += " " + line.strip()
    return body.strip(), choices


def _problem_from_row(row: dict[str, Any], split: str, index: int, category: str, where: str) -> Problem:
    messages = parse_messages(str(row.get("prompt", "")), where)
    content = messages[-1]["content"]
    if not CATEGORY_PATTERNS[category].search(content):
        raise DataFormatError(f"{where}: text does not look like a {category!r} item; was the file reordered or edited?")
    try:
        question, choices = split_question(content)
    except DataFormatError as exc:
        raise DataFormatError(f"{where}: prompt: {exc}") from None
    answer_type = ANSWER_TYPE[category]
    gold = str(row.get("answer", "")).strip()
    meta: dict[str, Any] = {"split": split, "row": index}
    if answer_type == "option" and not choices:
        raise DataFormatError(f"{where}: a {category!r} item needs options")
    reason = gold_problem(answer_type, gold, choices)
    if reason:
        raise DataFormatError(f"{where}: answer {reason} ({answer_type} item)")
    if answer_type == "option":
        match = _OPTION_LINE.match(gold)
        meta["gold_text_matches_choice"] = bool(match) and match.group(2).strip() == choices[int(match.group(1)) - 1]
    return Problem(
        id=f"{split}-{index:04d}",
        category=category,
        source=CATEGORY_SOURCE[category],
        question=question,
        choices=choices if answer_type == "option" else None,
        answer_type=answer_type,
        gold=gold,
        messages=messages,
        meta=meta,
    )


# The columns each published CSV must have.
CSV_COLUMNS = {"train": ("prompt", "answer"), "eval": ("prompt", "answer"), "sft_cot": ("prompt", "response")}


def _read_csv_rows(path: Path, split: str) -> list[dict[str, Any]]:
    """The rows of a published CSV; a missing, empty, binary or malformed file raises naming it."""
    import pandas as pd

    if not path.is_file():
        raise UserError(f"{path} not found (set RECON_DATA_DIR, pass --data-dir, or use --hub-id {HUB_ID})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: empty file (expected a header with columns {', '.join(CSV_COLUMNS[split])})") from None
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not UTF-8 text (a binary file?)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataFormatError(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from None
    missing = [c for c in CSV_COLUMNS[split] if c not in frame.columns]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(map(str, frame.columns))})")
    if frame.empty:
        raise DataFormatError(f"{path}: no rows")
    return frame.to_dict("records")


def _read_hub_rows(hub_id: str, split: str) -> list[dict[str, Any]]:
    """Rows of a hub dataset split; SFT-CoT has other columns, so it may live in its own config."""
    from datasets import load_dataset

    try:
        rows = load_dataset(hub_id, split=split)
    except (ValueError, KeyError) as exc:
        if split != "sft_cot":
            raise
        try:
            rows = load_dataset(hub_id, "sft_cot", split="train")
        except (ValueError, KeyError):
            raise exc from None
    return [dict(r) for r in rows]


def problems_from_rows(rows: list[dict[str, Any]], split: str, source_name: str) -> list[Problem]:
    """Published rows of `train` or `eval` → Problems, categories from row blocks."""
    labels = block_categories(split, len(rows), source_name)
    # Row numbers are 1-based data lines, as a spreadsheet shows them under the header.
    return [
        _problem_from_row(row, split, i, labels[i], f"{source_name} row {i + 1}") for i, row in enumerate(rows)
    ]


def sft_problems_from_rows(rows: list[dict[str, Any]], train: list[Problem], source_name: str) -> list[Problem]:
    """SFT-CoT rows (plain-text prompt + teacher response) → Problems, matched to train by question text.

    The teacher response is kept in `meta["response"]`; unmatched rows keep the teacher's boxed
    answer as gold and are flagged with `meta["train_id"] = None`."""
    from recon.data.contamination import normalize_question
    from recon.grading.extract import extract_answer

    by_text = {normalize_question(p.messages[-1]["content"]): p for p in train}
    problems = []
    for i, row in enumerate(rows):
        where = f"{source_name} row {i + 1}"
        prompt, response = str(row.get("prompt", "")).strip(), str(row.get("response", "")).strip()
        if not prompt or not response:
            raise DataFormatError(f"{where}: empty prompt or response")
        match = by_text.get(normalize_question(prompt))
        meta = {"split": "sft_cot", "row": i, "response": response, "train_id": match.id if match else None}
        if match:
            category, gold, answer_type, choices = match.category, match.gold, match.answer_type, match.choices
        else:
            teacher = extract_answer(response, think="optional").answer
            if teacher is None:
                raise DataFormatError(f"{where}: question not in train and response has no final answer")
            category, gold, choices = _classify(prompt), teacher, split_question(prompt)[1]
            answer_type = ANSWER_TYPE.get(category, "option")
        problems.append(
            Problem(
                id=f"sft_cot-{i:04d}",
                category=category,
                source=CATEGORY_SOURCE.get(category, "unknown"),
                question=split_question(prompt)[0],
                choices=choices if answer_type == "option" else None,
                answer_type=answer_type,
                gold=gold,
                messages=[{"role": "user", "content": prompt}],
                meta=meta,
            )
        )
    return problems


def _classify(text: str) -> str:
    """The most specific category pattern matching `text` (fewest published matches first)."""
    for name in ("pte", "pure_nash", "econnli", "econlogicqa", "bayes_nash", "budget_balance", "feasibility", "trigger"):
        if CATEGORY_PATTERNS[name].search(text):
            return name
    for name in CATEGORIES:
        if CATEGORY_PATTERNS[name].search(text):
            return name
    return "unknown"


def load_split(split: str, data_dir: str | Path | None = None, hub_id: str | None = None) -> list[Problem]:
    """Published `train` (1,800), `eval` (300) or `sft_cot` (866) as Problems.

    Reads `data_dir` (default: `default_data_dir()`), or the HF hub dataset `hub_id`
    (e.g. `MasterZhou/Recon`) when given."""
    if split not in SPLIT_FILES:
        raise UserError(f"unknown split {split!r}; expected one of {sorted(SPLIT_FILES)}")

    def rows_of(name: str) -> tuple[list[dict[str, Any]], str]:
        if hub_id:
            return _read_hub_rows(hub_id, name), f"{hub_id}:{name}"
        path = Path(data_dir or default_data_dir()) / SPLIT_FILES[name]
        return _read_csv_rows(path, name), str(path)

    if split == "sft_cot":
        train = load_split("train", data_dir, hub_id)
        rows, name = rows_of("sft_cot")
        return sft_problems_from_rows(rows, train, name)
    rows, name = rows_of(split)
    return problems_from_rows(rows, split, name)


def load_all(data_dir: str | Path | None = None, hub_id: str | None = None) -> dict[str, list[Problem]]:
    """All three published splits."""
    train = load_split("train", data_dir, hub_id)
    evaluation = load_split("eval", data_dir, hub_id)
    if hub_id:
        sft_rows, name = _read_hub_rows(hub_id, "sft_cot"), f"{hub_id}:sft_cot"
    else:
        path = Path(data_dir or default_data_dir()) / SPLIT_FILES["sft_cot"]
        sft_rows, name = _read_csv_rows(path, "sft_cot"), str(path)
    return {"train": train, "eval": evaluation, "sft_cot": sft_problems_from_rows(sft_rows, train, name)}


def category_counts(problems: Iterable[Problem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.category] = counts.get(p.category, 0) + 1
    return counts
