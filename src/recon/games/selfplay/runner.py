"""Run self-play: every trial of every game advances together, the open questions of all trials are
batched through the backend (identical prompts become one request with `n` samples), finished trials
are appended to `transcripts.jsonl` at once, and a rerun skips them."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from recon.games.answer import token_budget
from recon.games.library import PLAYERS, Game, select_games
from recon.games.selfplay.episode import Ask, Reading, play_trial
from recon.games.selfplay.parse import TAG_CHOICES
from recon.games.selfplay.metrics import blind_policy_table4, game_metrics, markdown, score_trial, table4
from recon.stats import derive_seed
from recon.runs import (
    append_records,
    backend_identity,
    digest,
    drop_records,
    open_run,
    read_appended_jsonl,
    write_atomic,
    write_json,
)

TRANSCRIPTS, RESULTS_JSON, RESULTS_MD = "transcripts.jsonl", "results.json", "results.md"
# Settings that change how trials are played: a resumed run must use the same ones.
_PLAY_SETTINGS = (
    "temperature", "top_p", "max_tokens", "max_retries", "negotiation_rounds", "seed", "think", "who_first", "tag"
)


@dataclass
class SelfPlayConfig:
    """How self-play is run. The paper's protocol: 20 trials, temperature 0.6, no negotiation.

    `think`: the model thinks (`<think>` prefilled; only text after `</think>` is read); `max_tokens`
    None gives the budget for that mode (6,144 thinking, else 1,024). `tag`: which `<s>` tag is the
    answer (Hua et al.: the first). `who_first`: who opens each negotiation round (Hua et al.: Alice)."""

    trials: int = 20
    temperature: float = 0.6
    top_p: float = 1.0
    max_tokens: int | None = None
    max_retries: int = 3
    negotiation_rounds: int = 0
    batch_size: int = 64
    seed: int = 0
    model_label: str | None = None
    think: bool = False
    tag: str = "first"
    who_first: str = "Alice"

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ValueError(f"trials must be >= 1, got {self.trials}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.negotiation_rounds < 0:
            raise ValueError(f"negotiation_rounds must be >= 0, got {self.negotiation_rounds}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.tag not in TAG_CHOICES or self.who_first not in PLAYERS:
            raise ValueError(f"tag must be one of {TAG_CHOICES} and who_first one of {PLAYERS}")
        self.sampling()  # bad temperature/top_p/max_tokens fail here, before a run folder is touched

    def sampling(self):
        """The sampling parameters of every question (each call sets its own `n` and `seed`)."""
        from recon.inference.base import SamplingParams

        return SamplingParams(
            max_tokens=token_budget(self.max_tokens, self.think),
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed,
            stop_at_answer=False,
            prefill_think=self.think,
        )


def run_identity(config: SelfPlayConfig, backend_info: dict, games: list[Game]) -> dict:
    """What changes the trials: the model (resolved revision, backend options), `_PLAY_SETTINGS` and the
    games' definitions. `trials` may grow (a rerun adds trials) and `batch_size` change."""
    return {
        "backend": backend_identity(backend_info),
        "play": {k: getattr(config, k) for k in _PLAY_SETTINGS},
        "games": {g.name: digest([g.kind, g.payoffs, asdict(g.tree) if g.tree else None])[:16] for g in games},
    }


def failed_requests(record: dict) -> int:
    """Questions of a trial whose request to the backend failed (not a reply the model gave)."""
    return sum(bool(turn.get("error")) for turn in record.get("turns", []))


def load_transcripts(path: Path, retry_failed: bool = False) -> dict[tuple[str, int], dict]:
    """Finished trials by (game, trial). A torn last line (an interrupted write) is cut off the file,
    so its trial is replayed and appended cleanly; a corrupt complete line raises. With `retry_failed`
    trials that met a failed request are dropped, to be played again."""
    records, _ = read_appended_jsonl(path, repair=True)
    if retry_failed:
        records = drop_records(path, records, failed_requests)
    return {(record["game"], record["trial"]): record for record in records}


def _requests(pending: dict[Any, list[Ask]], batch_size: int) -> list[tuple[str, list[tuple[Any, int]]]]:
    """Group open questions by prompt: one (prompt, [(trial key, question index), …]) per request,
    each at most `batch_size` samples."""
    by_prompt: dict[str, list[tuple[Any, int]]] = {}
    for key, asks in pending.items():
        for i, ask in enumerate(asks):
            by_prompt.setdefault(ask.prompt, []).append((key, i))
    return [
        (prompt, askers[k : k + batch_size]) for prompt, askers in by_prompt.items() for k in range(0, len(askers), batch_size)
    ]


def call_seed(seed: int, session: int, call: int) -> int:
    """The seed of one backend call (backends add the sample index): distinct for every call of a run and
    for every resumed session (`session` = trials finished before it), so neither a retry nor a replayed
    trial repeats an earlier sample of the same prompt."""
    return derive_seed(f"{seed}/{session}/{call}")


def _answer(
    backend: Any, pending: dict[Any, list[Ask]], config: SelfPlayConfig, session: int, call: int, progress: Any = None
) -> tuple[dict, int]:
    """One completion per open question; calls group requests with the same sample count.
    `progress(prompts, tokens)` is handed to the backend."""
    base = config.sampling()
    replies = {key: [None] * len(asks) for key, asks in pending.items()}
    by_n: dict[int, list[tuple[str, list[tuple[Any, int]]]]] = {}
    for request in _requests(pending, config.batch_size):
        by_n.setdefault(len(request[1]), []).append(request)
    asks_of = {ask.prompt: ask for asks in pending.values() for ask in asks}
    for n, requests in sorted(by_n.items()):
        per_call = max(1, config.batch_size // n)
        for k in range(0, len(requests), per_call):
            chunk = requests[k : k + per_call]
            params = dataclasses.replace(base, n=n, seed=call_seed(config.seed, session, call))
            call += 1
            outputs = backend.generate([asks_of[prompt].messages for prompt, _ in chunk], params, progress)
            for (_, askers), completions in zip(chunk, outputs):
                if len(completions) != len(askers):
                    raise RuntimeError(f"backend returned {len(completions)} completions, asked for {len(askers)}")
                for (key, i), completion in zip(askers, completions):
                    replies[key][i] = completion
    return replies, call


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="self-play trials", unit="trial", disable=not enabled)


def run_selfplay(
    backend: Any,
    games: Iterable[Game] | str = "all",
    config: SelfPlayConfig | None = None,
    out_dir: str | Path = "runs/games/selfplay",
    progress: bool = True,
    overwrite: bool = False,
    retry_failed: bool = True,
) -> dict[str, Any]:
    """Self-play `games` (Game objects, or ids: `all`, `pd,stag_hunt`, ["pd", "bos"]) with `backend` as both Alice and Bob.
    Writes `transcripts.jsonl` (one line per finished trial), `results.json` and `results.md` to `out_dir`
    and returns the results. Trials already in the transcripts are not replayed."""
    config = config or SelfPlayConfig()
    games = [games] if isinstance(games, str) else list(games)
    if all(isinstance(g, str) for g in games):
        games = select_games(",".join(games))
    out_dir = Path(out_dir)
    backend_info = backend.describe()
    identity = run_identity(config, backend_info, games)
    with open_run(out_dir, "selfplay", identity, overwrite=overwrite, info={"results": RESULTS_JSON, "label": config.model_label}):
        return _play(backend, games, config, out_dir, backend_info, progress, retry_failed)


def _play(
    backend: Any, games: list[Game], config: SelfPlayConfig, out_dir: Path, backend_info: dict, progress: bool, retry_failed: bool
) -> dict[str, Any]:
    """`run_selfplay` inside its locked run folder."""
    transcripts = out_dir / TRANSCRIPTS
    done = load_transcripts(transcripts, retry_failed)
    session = len(done)
    by_name = {g.name: g for g in games}
    todo = [(g.name, t) for g in games for t in range(config.trials) if (g.name, t) not in done]

    reading = Reading(config.tag, config.think)
    trials = {
        key: play_trial(by_name[key[0]], config.max_retries, config.negotiation_rounds, config.who_first, reading)
        for key in todo
    }
    pending = {key: next(gen) for key, gen in trials.items()}
    call = 0
    with transcripts.open("a") as sink, _progress(len(todo), progress) as bar:
        generated = {"prompts": 0, "tokens": 0}

        def on_progress(prompts: int, tokens: int) -> None:
            generated["prompts"] += prompts
            generated["tokens"] += tokens
            bar.set_postfix(generated, refresh=True)

        while pending:
            replies, call = _answer(backend, pending, config, session, call, on_progress)
            for key in list(pending):
                try:
                    pending[key] = trials[key].send(replies[key])
                except StopIteration as stop:
                    del pending[key]
                    game = by_name[key[0]]
                    record = {"game": game.name, "kind": game.kind, "trial": key[1], **stop.value}
                    if record["outcome"]:
                        record["payoffs"] = list(game.payoff(tuple(record["outcome"])))
                    record.update(score_trial(game, record["outcome"]))
                    append_records(sink, [record])
                    done[key] = record
                    bar.update(1)

    records = {g.name: [done[(g.name, t)] for t in range(config.trials)] for g in games}
    results = {
        "model": config.model_label or backend_info.get("model") or backend_info.get("backend", "model"),
        "backend": backend_info,
        "config": asdict(config),
        "games": {g.name: game_metrics(g, records[g.name]) for g in games},
        "table4": table4(games, records),
        "blind_policies": blind_policy_table4(games),  # exact NE rates of first-action and uniform-random play
        "transcripts": str(transcripts),
        "failed_request_trials": sum(failed_requests(r) > 0 for rs in records.values() for r in rs),
    }
    write_json(out_dir / RESULTS_JSON, results)
    write_atomic(out_dir / RESULTS_MD, markdown(results))
    return results
