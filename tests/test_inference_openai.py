"""The openai backend: retries, backoff and recorded failures against a fault-injecting local server, and
real generation against `python -m llama_cpp.server` serving SmolLM2 on 127.0.0.1 (slow)."""

from __future__ import annotations

import json
import time

import pytest
from fake_openai_server import MALFORMED, FakeOpenAIServer, Reply

from recon.inference import SamplingParams, load_backend
from recon.inference.base import item_seed

SECRET = "sk-test-do-not-log-0123456789"
THREADS = 1  # server and in-process llama.cpp alike, so greedy decoding sums in the same order


def conversation(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def backend_for(url: str, **options):
    options = {"max_retries": 3, "backoff": 0.01, "timeout": 0.5, "concurrency": 4, **options}
    return load_backend("openai", "fake-model", base_url=url, **options)


def fault_responder(body: dict, attempt: int):
    prompt = body["messages"][-1]["content"]
    if prompt == "429 twice":
        return Reply.error(429) if attempt < 2 else Reply("</think> \\boxed{Option 1}")
    if prompt == "500 once":
        return Reply.error(500) if attempt < 1 else Reply("fine")
    if prompt == "hang once":
        return Reply.hang(2.0) if attempt < 1 else Reply("woke up")
    if prompt == "always 503":
        return Reply.error(503)
    if prompt == "bad request":
        return Reply.error(400)
    if prompt == "thinker":
        return Reply("\\boxed{Yes}", reasoning="the premise implies it")
    return Reply(f"echo {prompt} \\boxed{{1}} more text")


def test_retries_backoff_and_recorded_failures(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    prompts = ["429 twice", "500 once", "hang once", "always 503", "bad request", "thinker", "plain"]
    with FakeOpenAIServer(fault_responder) as server:
        backend = backend_for(server.url)
        started = time.time()
        out = backend.generate([conversation(p) for p in prompts], SamplingParams(max_tokens=32))
        elapsed = time.time() - started
        attempts = {}
        for key, attempt, _status in server.calls:
            text = json.loads(key)[-1]["content"]
            attempts[text] = max(attempts.get(text, 0), attempt + 1)
    result = {p: comps[0] for p, comps in zip(prompts, out)}
    assert result["429 twice"].text == "</think> \\boxed{Option 1}" and result["429 twice"].error is None
    assert result["500 once"].text == "fine" and result["hang once"].text == "woke up"
    assert result["always 503"].error.startswith("HTTP 503") and "4 attempts" in result["always 503"].error
    assert result["bad request"].error.startswith("HTTP 400") and attempts["bad request"] == 1  # not retried
    assert result["thinker"].reasoning == "the premise implies it"
    assert result["thinker"].full_text.startswith("<think>\nthe premise implies it\n</think>")
    assert result["plain"].text == "echo plain \\boxed{1}"  # cut after the final answer
    assert result["plain"].completion_tokens > 0 and result["plain"].finish_reason == "stop"
    assert attempts["429 twice"] == 3 and attempts["always 503"] == 4
    assert elapsed < 20
    assert SECRET not in json.dumps(backend.describe()) and SECRET not in repr(out)


def test_concurrency_is_bounded_and_order_kept():
    active, peak = [0], [0]

    def slow(body, attempt):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        active[0] -= 1
        return Reply(body["messages"][-1]["content"].upper())

    with FakeOpenAIServer(slow) as server:
        backend = backend_for(server.url, concurrency=3, timeout=5)
        out = backend.generate([conversation(f"p{i}") for i in range(9)], SamplingParams(max_tokens=8, n=1))
    assert [c[0].text for c in out] == [f"P{i}" for i in range(9)]
    assert peak[0] <= 3


def test_sampling_sends_one_request_per_sample_with_per_item_seeds():
    seeds = []

    def by_seed(body, attempt):
        seeds.append(body["seed"])
        return Reply(f"seed {body['seed']}")

    params = SamplingParams(n=3, temperature=0.8, seed=10)
    with FakeOpenAIServer(by_seed) as server:
        out = backend_for(server.url).generate([conversation("x"), conversation("y")], params, keys=["item-x", "item-y"])
    expected = [[item_seed(10, key, k) for k in range(3)] for key in ("item-x", "item-y")]
    assert [[c.text for c in comps] for comps in out] == [[f"seed {s}" for s in row] for row in expected]
    assert sorted(seeds) == sorted(s for row in expected for s in row) and len(set(seeds)) == 6


@pytest.mark.parametrize("variant", sorted(MALFORMED))
def test_every_malformed_reply_is_recorded_then_retried(variant):
    """Malformed once: retried like a 5xx and answered. Malformed always: a recorded error, no crash."""

    def responder(body, attempt):
        prompt = body["messages"][-1]["content"]
        return MALFORMED[variant] if prompt == "always" or attempt == 0 else Reply("recovered")

    with FakeOpenAIServer(responder) as server:
        out = backend_for(server.url, max_retries=2, timeout=2).generate(
            [conversation("once"), conversation("always")], SamplingParams(max_tokens=8)
        )
        attempts = len([c for c in server.calls if "always" in c[0]])
    once, always = out[0][0], out[1][0]
    assert once.text == "recovered" and once.error is None
    assert always.error is not None and always.text == "" and always.finish_reason == "error"
    assert "3 attempts" in always.error and attempts == 3
    expected = "APIConnectionError" if variant == "truncated" else "malformed reply"
    assert expected in always.error


def test_retry_after_is_honoured_and_capped(monkeypatch):
    """The client waits what `Retry-After` says (not its own 10 ms backoff), at most `max_backoff`."""
    import asyncio

    from recon.inference import openai_compat

    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds, *args, **kwargs):
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(openai_compat.asyncio, "sleep", recording_sleep)

    def responder(body, attempt):
        prompt = body["messages"][-1]["content"]
        return Reply.error(429, retry_after=prompt) if attempt == 0 else Reply("ok")

    with FakeOpenAIServer(responder) as server:
        backend = backend_for(server.url, max_backoff=5.0, backoff=0.01, concurrency=1)
        for header in ("2", "3600", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"):
            assert backend.generate([conversation(header)], SamplingParams(max_tokens=8))[0][0].text == "ok"
    # honoured, capped at max_backoff, a date in the past: no wait; unreadable: the jittered 10 ms backoff
    assert waits[:3] == [2.0, 5.0, 0.0] and 0.005 <= waits[3] <= 0.01


# ---------------------------------------------------------------- real llama.cpp server (slow)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_openai_backend_against_real_llama_cpp_server(smollm2_server):
    conversations = [conversation("What is 2+2? Answer with \\boxed{}."), conversation("Say hello.")]
    chat = load_backend("openai", "smollm2", base_url=smollm2_server, concurrency=2, timeout=120)
    out = chat.generate(conversations, SamplingParams(max_tokens=16))
    assert all(c[0].error is None and c[0].text and 0 < c[0].completion_tokens <= 16 for c in out)

    # With the chat template rendered locally (the /completions endpoint) the server sees exactly the
    # in-process llama.cpp backend's prompt, and greedy decoding agrees (the server reuses its KV cache
    # across requests, so late tokens may differ by float rounding: compare the opening words).
    local = load_backend("llamacpp", "smollm2", n_ctx=2048, threads=THREADS)
    templated = load_backend(
        "openai", "smollm2", base_url=smollm2_server, chat_template=local.chat_template, timeout=120
    )
    params = SamplingParams(max_tokens=16)
    remote = [c[0] for c in templated.generate(conversations, params)]
    here = [c[0] for c in local.generate(conversations, params)]
    assert [c.prompt_tokens for c in remote] == [c.prompt_tokens for c in here]
    assert [c.text.split()[:4] for c in remote] == [c.text.split()[:4] for c in here]
