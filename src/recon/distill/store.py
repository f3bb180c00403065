"""The run folder: `raw.jsonl` (every teacher sample, the source of truth), `sft.jsonl` (derived
from it), `config.json`, `summary.json`/`summary.md`.

Crash safety: all samples of one problem are appended in one write and flushed, so after a
`kill -9` the only damage is a torn tail. `open_run` cuts it off (and any problem whose samples are
incomplete), then rebuilds `sft.jsonl` from `raw.jsonl`, so a rerun neither loses nor repeats a record."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from recon.data.problem import Problem, read_appended_jsonl, write_atomic
from recon.distill.traces import sft_completion, split_trace

RAW = "raw.jsonl"
SFT = "sft.jsonl"
CONFIG = "config.json"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"

# Settings that change what a record means; a rerun into the same folder must not change them.
IDENTITY_KEYS = ("teacher_model", "data", "samples", "keep_all_correct", "max_tokens", "temperature", "top_p", "seed")


class RunConflict(ValueError):
    """The output folder holds a run made with different settings."""


def sft_record(problem: Problem, raw: dict[str, Any]) -> dict[str, Any]:
    """A conversational prompt/completion record for `recon train sft` (TRL's standard format)."""
    parts = split_trace(raw["text"], raw.get("reasoning"))
    return {
        "id": problem.id,
        "category": problem.category,
        "sample": raw["sample"],
        "prompt": problem.messages,
        "completion": [{"role": "assistant", "content": sft_completion(parts.trace, raw["gold"])}],
    }


def dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


class RunStore:
    """Appends results to an output folder; one instance per process."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.raw_path = self.dir / RAW
        self.sft_path = self.dir / SFT
        self._raw = None
        self._sft = None

    def open(
        self, config: dict[str, Any], problems: list[Problem], *, retry_failed: bool = False
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Check the folder's config, repair a torn tail, drop failed problems when retrying them,
        rebuild `sft.jsonl`, and open both files for appending.

        Returns the raw rows kept and what was repaired: `torn_lines`, `incomplete_problems`,
        `retried_problems`."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._check_config(config)
        samples = config["samples"]
        rows, torn = read_appended_jsonl(self.raw_path)
        by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_id[row["id"]].append(row)
        problems_by_id = {p.id: p for p in problems}
        unknown = sorted(set(by_id) - set(problems_by_id))
        if unknown:
            raise RunConflict(
                f"{self.raw_path} has {len(unknown)} problem ids not in the data (e.g. {unknown[0]!r}); "
                "use the same --data or a new --out"
            )
        incomplete = {pid for pid, group in by_id.items() if sorted(r["sample"] for r in group) != list(range(samples))}
        failed = {pid for pid, group in by_id.items() if any(r.get("error") for r in group)} if retry_failed else set()
        drop = incomplete | failed
        kept_rows = [r for r in rows if r["id"] not in drop]
        if torn or drop:
            write_atomic(self.raw_path, (dumps(r) for r in kept_rows))
        write_atomic(
            self.sft_path,
            (dumps(sft_record(problems_by_id[r["id"]], r)) for r in kept_rows if r["verdict"] == "kept"),
        )
        self._raw = self.raw_path.open("a", encoding="utf-8")
        self._sft = self.sft_path.open("a", encoding="utf-8")
        repaired = {
            "torn_lines": int(torn),
            "incomplete_problems": len(incomplete),
            "retried_problems": len(failed - incomplete),
        }
        return kept_rows, repaired

    def _check_config(self, config: dict[str, Any]) -> None:
        path = self.dir / CONFIG
        if path.exists():
            old = json.loads(path.read_text(encoding="utf-8"))
            diff = [k for k in IDENTITY_KEYS if old.get(k) != config.get(k)]
            if diff:
                details = ", ".join(f"{k}: {old.get(k)!r} -> {config.get(k)!r}" for k in diff)
                raise RunConflict(f"{self.dir} holds a run with other settings ({details}); use a new --out")
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def append(self, problem: Problem, raw_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record one finished problem: its samples in one write, then its kept SFT records."""
        assert self._raw is not None and self._sft is not None, "RunStore.open() first"
        self._raw.write("".join(dumps(r) for r in raw_rows))
        self._raw.flush()
        sft = [sft_record(problem, r) for r in raw_rows if r["verdict"] == "kept"]
        if sft:
            self._sft.write("".join(dumps(r) for r in sft))
            self._sft.flush()
        return sft

    def close(self) -> None:
        for fh in (self._raw, self._sft):
            if fh is not None:
                fh.close()
        self._raw = self._sft = None
