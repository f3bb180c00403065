"""The thinking rule (one `<think>`, truncation from the effective state) on the real DeepSeek-R1-Distill
chat template, and per-item seeding (a sample depends on its item, never on its batch-mates)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from recon.evaluation import EvalConfig, evaluate, read_records
from recon.inference import SamplingParams, load_backend
from recon.inference.base import THINK_PREFILL, finish_text, item_seed, render_with_tokenizer, think_state

R1_TEMPLATE = (Path(__file__).resolve().parents[1] / "src/recon/recipes/paper/r1-distill-qwen-7b/chat_template.jinja").read_text()
QUESTION = [{"role": "user", "content": "Which option is the Nash equilibrium? Option 1: (A, A), Option 2: (B, B)"}]
# An R1 completion (its template opened `<think>`): a scratch value boxed while reasoning, then the answer.
R1_COMPLETION = (
    "Payoffs first: the row player's best reply to A is \\boxed{3}, a scratch value.\n"
    "Checking deviations, only (B, B) survives.\n</think>\n\nThe equilibrium is \\boxed{Option 2}. "
    "And some words after the answer."
)


def closes_final_box(tokenizer, ids: list[int], n: int) -> bool:
    """Token `n` (1-based) of `ids` is the one that closes the final answer's box."""
    return "\\boxed{Option 2}" in tokenizer.decode(ids[:n]) and "\\boxed{Option 2}" not in tokenizer.decode(ids[: n - 1])


@pytest.fixture(scope="module")
def r1_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.mark.parametrize("run_thinks", [True, False])
def test_r1_prompt_opens_think_once(r1_tokenizer, run_thinks):
    prompt, state = render_with_tokenizer(r1_tokenizer, R1_TEMPLATE, QUESTION, prefill_think=run_thinks)
    assert prompt.endswith("<｜Assistant｜><think>\n") and prompt.count("<think>") == 1  # never a second prefill
    assert state.thinking and state.prefill == "" and state.opened == THINK_PREFILL


def test_a_plain_template_gets_the_prefill_only_when_the_run_thinks(r1_tokenizer):
    prompt, state = render_with_tokenizer(r1_tokenizer, r1_tokenizer.chat_template, QUESTION, prefill_think=True)
    assert prompt.endswith("<|im_start|>assistant\n<think>\n") and state.thinking
    prompt, state = render_with_tokenizer(r1_tokenizer, r1_tokenizer.chat_template, QUESTION, prefill_think=False)
    assert "<think>" not in prompt and not state.thinking and state.opened == ""
    # a block opened and closed earlier in the conversation is not open at the prompt's end
    assert think_state("<think>\nold</think>\nanswer<|im_start|>assistant\n", False).thinking is False


@pytest.mark.parametrize("run_thinks", [True, False])
def test_an_interim_box_inside_r1_thinking_is_not_the_answer(r1_tokenizer, run_thinks):
    _, state = render_with_tokenizer(r1_tokenizer, R1_TEMPLATE, QUESTION, prefill_think=run_thinks)
    params = SamplingParams(stop_at_answer=True, prefill_think=run_thinks)
    text, cut = finish_text(R1_COMPLETION, params, state)
    # the text holds the whole reasoning (with its scratch box) and ends at the final answer after </think>
    assert cut and text == THINK_PREFILL + R1_COMPLETION[: R1_COMPLETION.index(". And some words")]


def test_hf_stopper_runs_past_an_interim_box_in_r1_thinking(r1_tokenizer):
    """The hf backend's per-token stop uses the effective state too: no stop at the scratch box."""
    import torch

    from recon.inference.hf import _TextStopper

    _, state = render_with_tokenizer(r1_tokenizer, R1_TEMPLATE, QUESTION, prefill_think=False)
    ids = r1_tokenizer(R1_COMPLETION, add_special_tokens=False)["input_ids"]
    stopper = _TextStopper(r1_tokenizer, 0, SamplingParams(stop_at_answer=True), [state.thinking], set())
    stopped_at = next((n for n in range(1, len(ids) + 1) if stopper(torch.tensor([ids[:n]]), None)[0]), None)
    assert stopped_at is not None and closes_final_box(r1_tokenizer, ids, stopped_at)


def test_grpo_answer_stop_reads_the_r1_prompt(r1_tokenizer):
    """GRPO's early stop (think `optional`, R1 template): EOS is forced after the final box only."""
    import torch

    from recon.training.generation import answer_stop_processor

    prompt, _ = render_with_tokenizer(r1_tokenizer, R1_TEMPLATE, QUESTION)
    prompt_ids = r1_tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = r1_tokenizer(R1_COMPLETION, add_special_tokens=False)["input_ids"]
    eos = r1_tokenizer.eos_token_id
    stop = answer_stop_processor(r1_tokenizer, len(prompt_ids), eos, "optional")
    forced = None
    for n in range(1, len(ids) + 1):
        scores = stop(torch.tensor([prompt_ids + ids[:n]]), torch.zeros(1, len(r1_tokenizer)))
        if scores[0].argmax().item() == eos and torch.isinf(scores[0]).sum() == scores.shape[1] - 1:
            forced = n
            break
    assert forced is not None and closes_final_box(r1_tokenizer, ids, forced)


# ---------------------------------------------------------------- per-item seeds


def test_item_seed_depends_on_seed_key_and_sample_only():
    seeds = {item_seed(s, k, i) for s in (0, 1) for k in ("a", "b") for i in (0, 1)}
    assert len(seeds) == 8 and all(0 <= s < 2**31 for s in seeds)
    assert item_seed(3, "x#p0", 1) == item_seed(3, "x#p0", 1)


@pytest.fixture(scope="module")
def tiny_hf(tiny_model_dir):
    return load_backend("hf", str(tiny_model_dir), batch_size=5, dtype="float32")


def test_hf_samples_do_not_depend_on_batch_mates(tiny_hf):
    conversations = [[{"role": "user", "content": f"Tell me about number {i}."}] for i in range(6)]
    params = SamplingParams(max_tokens=12, temperature=0.7, n=2, seed=5, stop_at_answer=False)
    together = tiny_hf.generate(conversations, params)
    alone = [tiny_hf.generate([c], params)[0] for c in reversed(conversations)][::-1]
    assert [[c.text for c in comps] for comps in together] == [[c.text for c in comps] for comps in alone]
    assert len({c.text for comps in together for c in comps}) > 6  # they are samples, not one greedy text
    other_seed = tiny_hf.generate(conversations[:1], dataclasses.replace(params, seed=6))
    assert [c.text for c in other_seed[0]] != [c.text for c in together[0]]


class Interrupted:
    """A backend killed (like a process) on its n-th generate call."""

    def __init__(self, backend, calls_before_kill: int):
        self.backend, self.left, self.name = backend, calls_before_kill, backend.name

    def generate(self, conversations, params, progress=None, keys=None):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return self.backend.generate(conversations, params, progress, **({"keys": keys} if keys else {}))

    def describe(self):
        return self.backend.describe()


def test_an_interrupted_eval_draws_the_same_samples(tiny_hf, data_dir, tmp_path):
    """12 items at temperature 0.7 in one go, and in three pieces (killed twice, resumed): same texts."""
    from recon.data.published import load_split

    problems = load_split("eval", data_dir)[::25][:12]
    config = dict(backend="hf", temperature=0.7, samples=2, max_tokens=10, seed=3)
    evaluate(tiny_hf, problems, EvalConfig(**config, chunk_size=12), tmp_path / "one", show_progress=False, baselines_train=None)
    pieces = tmp_path / "pieces"
    for kill_after in (1, 1):
        with pytest.raises(KeyboardInterrupt):
            evaluate(Interrupted(tiny_hf, kill_after), problems, EvalConfig(**config, chunk_size=4), pieces,
                     show_progress=False, baselines_train=None)  # fmt: skip
    evaluate(tiny_hf, problems, EvalConfig(**config, chunk_size=4), pieces, show_progress=False, baselines_train=None)
    one = {r["key"]: r["completion"] for r in read_records(tmp_path / "one" / "samples.jsonl")}
    resumed = {r["key"]: r["completion"] for r in read_records(pieces / "samples.jsonl")}
    assert len(one) == 24 and resumed == one
    assert json.loads((pieces / "results.json").read_text())["complete"]
