"""Concurrent arena matches: LLM requests pending at once share one backend call, and the records do not
depend on the concurrency."""

from __future__ import annotations

import json
import re
import threading

import pytest

from recon.games.arena import ArenaConfig, LLMAgent, run_arena
from recon.games.arena.batching import Coalescer
from recon.inference import SamplingParams, ScriptedBackend
from recon.inference.base import Completion, item_keys, item_seed


class SeededFake:
    """Picks a legal tag by the request's seed (`item_seed` of run seed and key), as a sampling backend
    would; records each call's size and thread."""

    name = "seeded"

    def __init__(self):
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def generate(self, conversations, params, progress=None, keys=None):
        self.calls.append(len(conversations))
        self.threads.add(threading.current_thread().name)
        out = []
        for messages, key in zip(conversations, item_keys(conversations, keys)):
            line = re.findall(r"Your legal actions: (.*)", messages[-1]["content"])[-1]
            tags = re.findall(r"<(?:->|[^<>])+>", line)
            out.append([Completion(tags[item_seed(params.seed, key, 0) % len(tags)], finish_reason="stop")])
        return out

    def describe(self):
        return {"backend": "seeded", "model": "fake", "revision": "1"}


def play(tmp_path, concurrency: int, backend=None, games="tic_tac_toe,nim"):
    backend = backend or SeededFake()
    config = ArenaConfig(matches=2, mcts_simulations=20, temperature=0.7, seed=3, concurrency=concurrency, progress=False)
    player = LLMAgent(backend, name="llm:fake", params=config.sampling())
    out = tmp_path / f"c{concurrency}"
    results = run_arena([player, "random", "mcts"], games, config, out)
    lines = (out / "transcripts.jsonl").read_text().splitlines()
    records = sorted(({k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines), key=lambda r: r["key"])
    return backend, results, records


@pytest.mark.timeout(120)
def test_concurrent_matches_batch_llm_requests_and_play_the_same_moves(tmp_path):
    alone, results1, records1 = play(tmp_path, 1)
    batched, results8, records8 = play(tmp_path, 8)
    decisions = sum(sum(r["llm_replies"]) for r in records1)
    assert len(records1) == 8 and decisions > 20
    assert alone.calls == [1] * decisions  # one request per call, one after another
    assert sum(batched.calls) == decisions and len(batched.calls) < decisions / 2
    assert batched.threads == {threading.main_thread().name}  # the backend is only called from one thread
    assert records8 == records1 and results8["summary"] == results1["summary"]
    assert len({r["moves"][0].get("label") for r in records1 if r["seats"][0] == "llm:fake"}) > 1  # the seed matters


@pytest.mark.timeout(60)
def test_a_failed_request_in_a_batch_is_recorded_in_its_match(tmp_path):
    def down(messages):
        raise ConnectionError("server down")

    _, results, records = play(tmp_path, 8, ScriptedBackend(down), games="nim")
    assert results["failed_request_matches"] == len(records) == 4
    assert all(r["status"] == "abnormal" and "server down" in r["moves"][-1]["attempts"][0]["error"] for r in records)


@pytest.mark.timeout(60)
def test_a_backend_that_raises_stops_the_arena_without_hanging(tmp_path):
    class Broken(SeededFake):
        def generate(self, conversations, params, progress=None, keys=None):
            raise RuntimeError("engine died")

    with pytest.raises(RuntimeError, match="engine died"):
        play(tmp_path, 8, Broken())


@pytest.mark.timeout(30)
def test_coalescer_groups_by_params_and_waits_for_busy_tasks():
    params = [SamplingParams(temperature=t) for t in (0.0, 0.5)]
    calls, seen = [], {}

    class Echo:
        def generate(self, conversations, params, keys=None):
            calls.append((params.temperature, len(conversations)))
            return [[Completion(k)] for k in keys]

    coalescer, backend = Coalescer(wait_s=1.0), Echo()

    def task(i):
        if i == 0:
            threading.Event().wait(0.2)  # busy: the batch waits for it (within wait_s)
        [[completion]] = coalescer.generate(backend, [[{"role": "user", "content": "hi"}]], params[i % 2], keys=[f"k{i}"])
        seen[i] = completion.text

    coalescer.map(task, range(6), workers=6)
    assert seen == {i: f"k{i}" for i in range(6)}
    assert sorted(calls) == [(0.0, 3), (0.5, 3)]
