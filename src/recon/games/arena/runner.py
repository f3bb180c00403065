"""Run the arena: every game × pairing × match, seats swapped for half the matches, matches played
concurrently with their LLM requests batched (`batching`), transcripts appended as matches finish (a
rerun skips them), abnormal matches replayed when asked (GTBench's multi-worker mode), then
`results.json` and `table.md`."""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from recon.games.answer import token_budget
from recon.games.arena.agents import Agent, LLMAgent, TitForTatAgent, make_agent
from recon.games.arena.batching import BatchedBackend, Coalescer
from recon.games.arena.games import resolve_games
from recon.games.arena.match import ILLEGAL_RULES, play_match
from recon.games.arena.metrics import markdown_table, ratings, ratings_table, summarize
from recon.games.arena.parse import PARSE_MODES
from recon.stats import derive_seed
from recon.runs import append_records, backend_identity, drop_records, open_run, read_appended_jsonl, write_atomic, write_json

log = logging.getLogger(__name__)

TRANSCRIPTS = "transcripts.jsonl"
RESULTS = "results.json"
TABLE = "table.md"


@dataclass
class ArenaConfig:
    """Arena settings. `matches` is per game and pairing (seats alternate, so an even number gives each
    agent each seat equally often). `illegal`: `forfeit` (GTBench: the first illegal reply makes the
    match abnormal) or `retry` with `max_retries`. `parse`: `strict` (tags of the game's grammar only)
    or `lenient` (aliases and bare labels too). `replay_abnormal` > 0 replays abnormal matches, with new
    deals, until a game and pairing has that many matches in all or none is abnormal (GTBench's
    `--threshold-matches`).

    The player thinks when `think` is set (`<think>` prefilled; only text after `</think>` is read);
    `max_tokens` (None: 6,144 when thinking, else GTBench's 1,024) is its budget per reply. LLM
    opponents sample at `opponent_temperature` (None: the player's) with `opponent_think`, on the
    budget that follows from it. Up to `concurrency` matches play at once, their LLM requests pending at
    the same moment sent to the backend in one call (1: one match after another).
    """

    matches: int = 10
    mcts_simulations: int = 1000
    illegal: str = "forfeit"
    max_retries: int = 2
    parse: str = "strict"
    replay_abnormal: int = 0
    seed: int = 0
    round_robin: bool = False
    temperature: float = 0.6
    max_tokens: int | None = None
    think: bool = False
    opponent_temperature: float | None = None
    opponent_think: bool = False
    progress: bool = True
    concurrency: int = 16

    def __post_init__(self) -> None:
        if self.matches < 1:
            raise ValueError(f"matches must be >= 1, got {self.matches}")
        if self.illegal not in ILLEGAL_RULES:
            raise ValueError(f"illegal must be one of {ILLEGAL_RULES}, got {self.illegal!r}")
        if self.parse not in PARSE_MODES:
            raise ValueError(f"parse must be one of {PARSE_MODES}, got {self.parse!r}")
        if self.max_retries < 0 or self.mcts_simulations < 1 or self.replay_abnormal < 0 or self.concurrency < 1:
            raise ValueError("max_retries and replay_abnormal must be >= 0, mcts_simulations and concurrency >= 1")
        self.sampling(), self.sampling(opponent=True)  # bad sampling settings fail here

    def fingerprint(self) -> dict:
        """The settings a finished match depends on (a resumed run must keep them)."""
        d = dataclasses.asdict(self)
        for free in ("matches", "progress", "round_robin", "replay_abnormal", "concurrency"):
            d.pop(free)
        # a decision's seed goes into its request key (`LLMAgent.reply`), so its text does not depend on the
        # batch: transcripts seeded the earlier way (no such field) are not resumed into this run
        d["decision_seeds"] = "request-key"
        return d

    def sampling(self, opponent: bool = False):
        """Sampling of the player's replies, or of LLM opponents' (`opponent=True`)."""
        from recon.inference.base import SamplingParams

        think = self.opponent_think if opponent else self.think
        temperature = self.temperature
        if opponent and self.opponent_temperature is not None:
            temperature = self.opponent_temperature
        return SamplingParams(
            max_tokens=token_budget(None if opponent else self.max_tokens, think),
            temperature=temperature,
            seed=self.seed,
            stop_at_answer=False,
            prefill_think=think,
        )


def _as_agent(spec, config: ArenaConfig, opponent: bool) -> Agent:
    params = config.sampling(opponent)
    if hasattr(spec, "generate") and not isinstance(spec, Agent):
        return LLMAgent(spec, params=params)
    return make_agent(spec, config.mcts_simulations, prompt_params=params, cot_params=params)


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


def replay(match: dict, round_: int) -> dict:
    """A replay of an abnormal match: same pairing and seats, a new key and a new deal."""
    return {**match, "key": f"{match['key']}|replay{round_}", "seed": derive_seed(match["seed"], "replay", round_)}


def failed_requests(record: dict) -> int:
    """LLM replies of a match whose request to the backend failed (not a move the model chose)."""
    return sum(bool(a.get("error")) for move in record.get("moves", []) for a in move.get("attempts", []))


def load_transcripts(path: Path, retry_failed: bool = False) -> list[dict]:
    """Finished match records. A torn last line (a write interrupted before its newline) is cut off the
    file, so that match is replayed and appended cleanly; a corrupt complete line raises. With
    `retry_failed` matches that met a failed request are dropped, to be played again."""
    records, torn = read_appended_jsonl(path, repair=True)
    if torn:
        log.warning("dropped a torn last line in %s; that match is replayed", path)
    return drop_records(path, records, failed_requests) if retry_failed else records


def agent_identity(agent: Agent) -> dict:
    """What of an agent changes its moves: its description and, for an LLM, its model's identity
    (resolved revision, backend options; `recon.runs.backend_identity`)."""
    ident = agent.describe()
    if isinstance(agent, LLMAgent):
        ident = {**ident, "backend": backend_identity(agent.backend.describe())}
    return ident


def run_arena(
    agents: Sequence[str | Agent],
    games: str | Sequence[str] = "all",
    config: ArenaConfig | None = None,
    out_dir: str | Path = "runs/arena",
    overwrite: bool = False,
    retry_failed: bool = True,
) -> dict:
    """Play the arena and write transcripts, `results.json` and `table.md` into `out_dir`.

    `agents`: specs (`random`, `mcts[:SIMS]`, `tit_for_tat`, `llm:BACKEND:MODEL`, `cot:BACKEND:MODEL`),
    `Agent` objects or inference backends; the first is the player under test, the others its
    opponents. Returns the results dict (also in `results.json`).
    """
    config = config or ArenaConfig()
    resolved = [_as_agent(a, config, opponent=i > 0) for i, a in enumerate(agents)]
    names = [a.name for a in resolved]
    if len(resolved) < 2:
        raise ValueError("the arena needs a player and at least one opponent")
    if len(set(names)) != len(names):
        raise ValueError(f"agent names must be distinct, got {names}")
    by_name = dict(zip(names, resolved))
    arena_games = resolve_games(games if isinstance(games, str) else list(games))
    game_names = [g.name for g in arena_games]
    out = Path(out_dir)
    identity = {"config": config.fingerprint(), "agents": [agent_identity(a) for a in resolved]}
    with open_run(out, "arena", identity, overwrite=overwrite, info={"results": RESULTS, "games": game_names}):
        return _play(resolved, by_name, arena_games, config, out, retry_failed)


def _play(resolved: list[Agent], by_name: dict[str, Agent], arena_games: list, config: ArenaConfig, out: Path, retry_failed: bool) -> dict:
    """`run_arena` inside its locked run folder."""
    names = [a.name for a in resolved]
    game_names = [g.name for g in arena_games]
    plan = schedule(names, game_names, config)
    playable = [
        m
        for m in plan
        if not any(isinstance(by_name[n], TitForTatAgent) for n in m["pair"]) or m["game"] == "iterated_prisoners_dilemma"
    ]
    skipped = len(plan) - len(playable)
    transcript_path = out / TRANSCRIPTS
    done = {r["key"]: r for r in load_transcripts(transcript_path, retry_failed)}
    todo = [m for m in playable if m["key"] not in done]
    games_by_name = {g.name: g for g in arena_games}

    from tqdm.auto import tqdm

    coalescer = Coalescer()
    batched = {name: _batched(agent, coalescer) for name, agent in by_name.items()}
    lock = threading.Lock()
    played: list[dict] = list(playable)
    with transcript_path.open("a") as sink, tqdm(
        total=len(playable), initial=len(playable) - len(todo), desc="arena", unit="match", disable=not config.progress
    ) as bar:

        def play_one(m: dict, agents: dict[str, Agent]) -> None:
            with lock:
                bar.set_postfix_str(f"{m['game']}: {m['seats'][0]} vs {m['seats'][1]}")
            record = play_match(
                games_by_name[m["game"]],
                [agents[n] for n in m["seats"]],
                seed=m["seed"],
                illegal=config.illegal,
                max_retries=config.max_retries,
                parse=config.parse,
            )
            record = {"key": m["key"], "pair": m["pair"], "index": m["index"], **record}
            with lock:
                append_records(sink, [record])
                done[m["key"]] = record
                bar.update(1)

        def play(batch: list[dict]) -> None:
            batch = [m for m in batch if m["key"] not in done]
            workers = min(config.concurrency, len(batch))
            if workers <= 1:
                for m in batch:
                    play_one(m, by_name)
            else:
                coalescer.map(lambda m: play_one(m, batched), batch, workers)

        play(playable)
        batch, round_ = playable, 0
        totals = Counter((m["game"], *m["pair"]) for m in playable)
        while config.replay_abnormal and batch:
            round_ += 1
            again = []
            for m in batch:
                group = (m["game"], *m["pair"])
                if done[m["key"]]["status"] == "abnormal" and totals[group] < config.replay_abnormal:
                    again.append(replay(m, round_))
                    totals[group] += 1
            bar.total += len(again)
            play(again)
            played += again
            batch = again

    records = [done[m["key"]] for m in played]
    player = names[0]
    summaries = {name: summarize(records, name, game_names) for name in names}
    rated = ratings(records, seed=config.seed) if len(names) >= 3 else None
    results = {
        "player": player,
        "agents": [a.describe() for a in resolved],
        "games": game_names,
        "config": dataclasses.asdict(config),
        "matches_played": len(records),
        "matches_skipped": skipped,
        "failed_request_matches": sum(failed_requests(r) > 0 for r in records),
        "summary": summaries,
        "ratings": rated,
        "files": {"transcripts": TRANSCRIPTS, "table": TABLE},
    }
    write_json(out / RESULTS, results)
    table = ["# Arena (GTBench games on OpenSpiel)", "", protocol_note(config), "", markdown_table(summaries[player], player, game_names)]
    if config.round_robin:
        table += [""] + [markdown_table(summaries[n], n, game_names) for n in names[1:]]
    if rated:
        table += ["", "### Ratings", "", ratings_table(rated)]
    write_atomic(out / TABLE, "\n".join(table) + "\n")
    return results


def _batched(agent: Agent, coalescer: Coalescer) -> Agent:
    """The agent as concurrent matches use it: an LLM agent's requests go through the coalescer."""
    if not isinstance(agent, LLMAgent):
        return agent
    twin = copy.copy(agent)
    twin.backend = BatchedBackend(agent.backend, coalescer)
    return twin


def protocol_note(config: ArenaConfig) -> str:
    """How the matches were played and scored, for the head of the table."""
    illegal = (
        f"retried with feedback up to {config.max_retries} times, then the match is abnormal"
        if config.illegal == "retry"
        else "the first one makes the match abnormal (GTBench)"
    )
    parse = "strict (tags of the game's grammar only)" if config.parse == "strict" else "LENIENT (aliases and bare labels in prose accepted)"
    replay = f"; abnormal matches replayed up to {config.replay_abnormal} matches per game and pairing" if config.replay_abnormal else ""
    return (
        f"Parsing: {parse}. Illegal or unparsable replies: {illegal}{replay}. {config.matches} match(es) per game and "
        f"pairing, seats alternating; temperature {config.temperature}, thinking {'on' if config.think else 'off'}; "
        f"MCTS simulations {config.mcts_simulations}.\n"
        "Win and draw rates count normal matches only (GTBench); completion = normal / all matches; own abnormal = "
        "matches this agent abandoned / all. NRA over all matches: zero-sum f = win 1, draw 1/2, loss 0; general-sum "
        "f = payoff; an abnormal match is the offender's worst outcome. Rates with Wilson 95% intervals, NRA with "
        "bootstrap 95% intervals (Overall NRA: mean over games)."
    )
