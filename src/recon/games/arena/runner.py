"""Run the arena: every game × pairing × match, seats swapped for half the matches, transcripts
appended as matches finish (a rerun skips them), then `results.json` and `table.md`."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from recon.data.problem import read_appended_jsonl
from recon.games.arena.agents import Agent, LLMAgent, TitForTatAgent, make_agent
from recon.games.arena.games import resolve_games
from recon.games.arena.match import ILLEGAL_RULES, play_match
from recon.games.arena.metrics import elo_from_records, elo_table, markdown_table, summarize
from recon.games.stats import derive_seed

log = logging.getLogger(__name__)

TRANSCRIPTS = "transcripts.jsonl"
RESULTS = "results.json"
TABLE = "table.md"
CONFIG = "config.json"


@dataclass
class ArenaConfig:
    """Arena settings. `matches` is per game and pairing (seats alternate, so an even number gives each
    agent each seat equally often). `illegal`: `forfeit` (GTBench) or `retry` with `max_retries`;
    `strict_tags` reads only tagged actions (no bare labels such as `roll` in prose)."""

    matches: int = 10
    mcts_simulations: int = 1000
    illegal: str = "forfeit"
    max_retries: int = 2
    strict_tags: bool = False
    seed: int = 0
    round_robin: bool = False
    temperature: float = 0.0
    max_tokens: int = 128
    cot_max_tokens: int = 1024
    think: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.matches < 1:
            raise ValueError(f"matches must be >= 1, got {self.matches}")
        if self.illegal not in ILLEGAL_RULES:
            raise ValueError(f"illegal must be one of {ILLEGAL_RULES}, got {self.illegal!r}")
        if self.max_retries < 0 or self.mcts_simulations < 1:
            raise ValueError("max_retries must be >= 0 and mcts_simulations >= 1")

    def fingerprint(self) -> dict:
        """The settings a finished match depends on (a resumed run must keep them)."""
        d = dataclasses.asdict(self)
        for free in ("matches", "progress", "round_robin"):
            d.pop(free)
        return d

    def sampling(self, cot: bool):
        from recon.inference.base import SamplingParams

        return SamplingParams(
            max_tokens=self.cot_max_tokens if cot else self.max_tokens,
            temperature=self.temperature,
            seed=self.seed,
            stop_at_answer=False,
            prefill_think=self.think,
        )


def _as_agent(spec, config: ArenaConfig) -> Agent:
    if hasattr(spec, "generate") and not isinstance(spec, Agent):
        return LLMAgent(spec, params=config.sampling(False))
    return make_agent(
        spec, config.mcts_simulations, prompt_params=config.sampling(False), cot_params=config.sampling(True)
    )


def schedule(agent_names: Sequence[str], game_names: Sequence[str], config: ArenaConfig) -> list[dict]:
    """Every match to play, in canonical order. The first agent plays every other one (all pairs with
    `round_robin`). Matches 2k and 2k+1 share a seed (same deal) with seats swapped."""
    first, rest = agent_names[0], list(agent_names[1:])
    pairs = [(a, b) for i, a in enumerate(agent_names) for b in agent_names[i + 1 :]] if config.round_robin else [
        (first, b) for b in rest
    ]
    plan = []
    for game in game_names:
        for a, b in pairs:
            for index in range(config.matches):
                plan.append(
                    {
                        "key": f"{game}|{a}|{b}|{index}",
                        "game": game,
                        "pair": [a, b],
                        "index": index,
                        "seats": [a, b] if index % 2 == 0 else [b, a],
                        "seed": derive_seed(config.seed, game, a, b, index // 2),
                    }
                )
    return plan


def load_transcripts(path: Path) -> list[dict]:
    """Finished match records. A torn last line (a write interrupted before its newline) is cut off the
    file, so that match is replayed and appended cleanly; a corrupt complete line raises."""
    records, torn = read_appended_jsonl(path, repair=True)
    if torn:
        log.warning("dropped a torn last line in %s; that match is replayed", path)
    return records


def _check_config(out: Path, config: ArenaConfig, agents: list[str], games: list[str]) -> None:
    path = out / CONFIG
    current = {"config": config.fingerprint(), "agents": agents}
    if path.exists():
        previous = json.loads(path.read_text())
        if previous.get("config") != current["config"]:
            raise ValueError(
                f"{out} holds matches played with different settings {previous.get('config')}; "
                "use a new output folder or the same settings to resume"
            )
    path.write_text(json.dumps({**current, "games": games, "matches": config.matches}, indent=2))


def run_arena(
    agents: Sequence[str | Agent],
    games: str | Sequence[str] = "all",
    config: ArenaConfig | None = None,
    out_dir: str | Path = "runs/arena",
) -> dict:
    """Play the arena and write transcripts, `results.json` and `table.md` into `out_dir`.

    `agents`: specs (`random`, `mcts[:SIMS]`, `tit_for_tat`, `llm:BACKEND:MODEL`, `cot:BACKEND:MODEL`),
    `Agent` objects or inference backends; the first is the player under test, the others its
    opponents. Returns the results dict (also in `results.json`).
    """
    config = config or ArenaConfig()
    resolved = [_as_agent(a, config) for a in agents]
    names = [a.name for a in resolved]
    if len(resolved) < 2:
        raise ValueError("the arena needs a player and at least one opponent")
    if len(set(names)) != len(names):
        raise ValueError(f"agent names must be distinct, got {names}")
    by_name = dict(zip(names, resolved))
    arena_games = resolve_games(games if isinstance(games, str) else list(games))
    game_names = [g.name for g in arena_games]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_config(out, config, names, game_names)

    plan = schedule(names, game_names, config)
    playable = [
        m
        for m in plan
        if not any(isinstance(by_name[n], TitForTatAgent) for n in m["pair"]) or m["game"] == "iterated_prisoners_dilemma"
    ]
    skipped = len(plan) - len(playable)
    transcript_path = out / TRANSCRIPTS
    done = {r["key"]: r for r in load_transcripts(transcript_path)}
    todo = [m for m in playable if m["key"] not in done]
    games_by_name = {g.name: g for g in arena_games}

    from tqdm.auto import tqdm

    with transcript_path.open("a") as sink, tqdm(
        total=len(playable), initial=len(playable) - len(todo), desc="arena", unit="match", disable=not config.progress
    ) as bar:
        for m in todo:
            bar.set_postfix_str(f"{m['game']}: {m['seats'][0]} vs {m['seats'][1]}")
            record = play_match(
                games_by_name[m["game"]],
                [by_name[n] for n in m["seats"]],
                seed=m["seed"],
                illegal=config.illegal,
                max_retries=config.max_retries,
                strict_tags=config.strict_tags,
            )
            record = {"key": m["key"], "pair": m["pair"], "index": m["index"], **record}
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            done[m["key"]] = record
            bar.update(1)

    records = [done[m["key"]] for m in playable]
    player = names[0]
    summaries = {name: summarize(records, name, game_names) for name in names}
    ratings = elo_from_records(records) if len(names) >= 3 else None
    results = {
        "player": player,
        "agents": [a.describe() for a in resolved],
        "games": game_names,
        "config": dataclasses.asdict(config),
        "matches_played": len(records),
        "matches_skipped": skipped,
        "summary": summaries,
        "elo": ratings,
        "files": {"transcripts": TRANSCRIPTS, "table": TABLE},
    }
    (out / RESULTS).write_text(json.dumps(results, indent=2))
    table = [
        "# Arena (GTBench games on OpenSpiel)",
        "",
        f"Illegal moves: {config.illegal}"
        + (f" (up to {config.max_retries} retries)" if config.illegal == "retry" else " (GTBench: the offender loses)")
        + ("; tags only" if config.strict_tags else "; bare labels accepted when no tag")
        + f"; MCTS simulations: {config.mcts_simulations}; {config.matches} match(es) per game and pairing, seats alternating.",
        "NRA: zero-sum games score wins, general-sum games score payoffs; rates with Wilson 95% intervals, "
        "NRA with bootstrap 95% intervals (Overall NRA: mean over games).",
        "",
        markdown_table(summaries[player], player, game_names),
    ]
    if config.round_robin:
        table += [""] + [markdown_table(summaries[n], n, game_names) for n in names[1:]]
    if ratings:
        table += ["", "### Elo", "", elo_table(ratings, records)]
    (out / TABLE).write_text("\n".join(table) + "\n")
    return results
