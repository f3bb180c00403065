"""Reasoning-behaviour tagging (the paper's §5.4): does a trace name a solution concept, enumerate
branches or subgames, or revise itself? Patterns are configurable (a YAML mapping tag → regexes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

DEFAULT_PATTERNS: dict[str, list[str]] = {
    "solution_concept": [
        r"subgame[- ]perfect",
        r"backward induction",
        r"nash equilibri",
        r"dominant strateg",
        r"dominated",
        r"\bmin-?max\b|\bmaxi?min\b",
        r"\btrigger\b|\bgrim\b",
        r"discount(ing)? (factor )?(threshold|condition)|critical discount|minimum discount",
        r"pareto",
        r"best respon",
        r"condorcet",
        r"expected (utility|value|payoff)",
    ],
    "branch_enumeration": [
        r"\bif (alice|bob|player \d|firm [ab]|he|she|they|i|the other) (choose|chooses|play|plays|pick|picks|go|goes)",
        r"\bcase \d|\bscenario \d|\boption \d\b.*\boption \d\b",
        r"\bbranch(es)?\b",
        r"\bsubgames?\b",
        r"\b(decision )?nodes?\b",
        r"\b(first|second|third|last|final) (stage|round|move|mover)\b",
        r"game tree",
    ],
    "self_revision": [
        r"\bwait\b",
        r"let me (re-?)?(check|verify|reconsider|correct)",
        r"\bactually\b",
        r"on second thought",
        r"\bhmm+\b",
        r"re-?examin",
        r"i made (a|an) (mistake|error)",
    ],
}


@dataclass
class BehaviourTagger:
    """Tags a trace with every behaviour whose patterns match (case-insensitive)."""

    patterns: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_PATTERNS.items()})

    def __post_init__(self) -> None:
        try:
            self._compiled = {tag: [re.compile(p, re.I) for p in pats] for tag, pats in self.patterns.items()}
        except re.error as exc:
            raise ValueError(f"invalid behaviour pattern: {exc}") from exc

    @classmethod
    def from_yaml(cls, path: str | Path) -> "BehaviourTagger":
        import yaml

        data = yaml.safe_load(Path(path).read_text())
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise ValueError(f"{path}: expected a mapping of tag → list of regexes")
        return cls({str(k): [str(p) for p in v] for k, v in data.items()})

    def matches(self, text: str) -> dict[str, list[str]]:
        """For each tag, the snippets that matched (empty list: tag absent)."""
        return {tag: [m.group(0) for rx in rxs for m in [rx.search(text)] if m] for tag, rxs in self._compiled.items()}

    def tag(self, text: str) -> dict[str, bool]:
        return {tag: bool(found) for tag, found in self.matches(text).items()}

    def summarize(self, traces: Iterable[tuple[str, str]], examples: int = 2) -> dict:
        """Share of traces with each tag, and up to `examples` (id, snippet) per tag.

        `traces` yields (trace id, text)."""
        counts = {tag: 0 for tag in self._compiled}
        found: dict[str, list[dict[str, str]]] = {tag: [] for tag in self._compiled}
        total = 0
        for trace_id, text in traces:
            total += 1
            for tag, snippets in self.matches(text or "").items():
                if snippets:
                    counts[tag] += 1
                    if len(found[tag]) < examples:
                        found[tag].append({"id": trace_id, "match": snippets[0], "excerpt": _excerpt(text, snippets[0])})
        return {
            "traces": total,
            "share": {tag: (counts[tag] / total if total else None) for tag in counts},
            "examples": found,
        }


def _excerpt(text: str, snippet: str, width: int = 120) -> str:
    at = text.lower().find(snippet.lower())
    start = max(0, at - width // 2)
    return " ".join(text[start : start + width].split())
