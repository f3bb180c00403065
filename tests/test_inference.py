"""Backends: the shared helpers, the scripted backend, model resolution and the hf backend on a tiny model."""

from __future__ import annotations

import json

import pytest

from recon.errors import UserError
from recon.inference import Completion, SamplingParams, ScriptedBackend, load_backend, resolve_model
from recon.inference.base import answer_complete, answer_end, render_chat, truncate_completion
from recon.inference.models import ModelResolutionError

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a long list of colours please."}],
    [{"role": "user", "content": "Hi"}],
]


# ---------------------------------------------------------------- helpers


def test_answer_complete_needs_box_after_think_close():
    assert not answer_complete("<think>x \\boxed{1}", thinking=False)  # still thinking
    assert not answer_complete("reasoning \\boxed{1}", thinking=True)  # prefilled <think>, not closed
    assert answer_complete("<think>x</think> so \\boxed{Option 2: a}", thinking=False)
    assert answer_complete("no thinking \\boxed{Yes}", thinking=False)
    assert not answer_complete("no thinking \\boxed{Yes", thinking=False)  # box still open


def test_answer_end_handles_nested_braces():
    text = "</think> \\boxed{\\text{Option 2: $\\{a\\}$}} trailing words"
    end = answer_end(text, thinking=True)
    assert text[:end].endswith("$}}") and text[end:] == " trailing words"


def test_truncate_completion_stop_strings_and_answer():
    params = SamplingParams(stop=["STOP"], stop_at_answer=True)
    assert truncate_completion("abc STOP def", params) == ("abc ", True)
    assert truncate_completion("a \\boxed{1} then \\boxed{2}", params) == ("a \\boxed{1}", True)
    assert truncate_completion("nothing to cut", params) == ("nothing to cut", False)
    keep = SamplingParams(stop_at_answer=False)
    assert truncate_completion("a \\boxed{1} then \\boxed{2}", keep)[1] is False


def test_sampling_params_validate():
    for bad in (dict(max_tokens=0), dict(n=0), dict(temperature=-1), dict(top_p=0)):
        with pytest.raises(ValueError):
            SamplingParams(**bad)


def test_completion_full_text_restores_reasoning_channel():
    c = Completion(text="\\boxed{Yes}", reasoning="because")
    assert c.full_text == "<think>\nbecause\n</think>\n\\boxed{Yes}"
    assert Completion(text="plain").full_text == "plain"


def test_render_chat_matches_transformers(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    for conv in CONVERSATIONS:
        expected = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
        assert render_chat(tok.chat_template, conv) == expected


# ---------------------------------------------------------------- scripted


def test_scripted_backend_forms():
    by_prompt = ScriptedBackend({"What is 2+2?": ["a", "b"]}, default="?")
    out = by_prompt.generate(CONVERSATIONS, SamplingParams(n=2, temperature=1.0))
    assert [[c.text for c in comps] for comps in out] == [["a", "b"], ["?", "?"], ["?", "?"]]
    listed = ScriptedBackend(["x", "y"])
    assert [c[0].text for c in listed.generate(CONVERSATIONS, SamplingParams())] == ["x", "y", "x"]
    with_sample = ScriptedBackend(lambda messages, sample: f"{len(messages)}-{sample}")
    assert [c.text for c in with_sample.generate(CONVERSATIONS[1:2], SamplingParams(n=2, temperature=1))[0]] == ["2-0", "2-1"]


def test_scripted_backend_applies_stops_prefill_and_errors():
    def respond(messages):
        if messages[-1]["content"] == "Hi":
            raise RuntimeError("boom")
        return "x</think> \\boxed{4} and more"

    backend = ScriptedBackend(respond)
    out = backend.generate(CONVERSATIONS, SamplingParams(prefill_think=True))
    assert out[0][0].text == "<think>\nx</think> \\boxed{4}"
    assert out[2][0].error == "RuntimeError: boom" and out[2][0].finish_reason == "error"
    assert load_backend("scripted", respond=["a"]).describe()["backend"] == "scripted"


def test_load_backend_rejects_unknown_names():
    with pytest.raises(UserError, match="unknown backend"):
        load_backend("nope")
    with pytest.raises(ValueError, match="respond="):
        load_backend("scripted")


# ---------------------------------------------------------------- models


def test_resolve_model_forms(tiny_model_dir, tmp_path):
    local = resolve_model(str(tiny_model_dir))
    assert local.hf_path == tiny_model_dir.resolve() and local.gguf_path is None and local.revision
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct").hf_path == "HuggingFaceTB/SmolLM2-135M-Instruct"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    with_adapter = resolve_model(str(adapter))
    assert with_adapter.hf_path == tiny_model_dir.resolve() and with_adapter.adapter_path == adapter.resolve()
    for bad in ("", str(tmp_path / "missing.gguf"), str(tmp_path), "not a model"):
        with pytest.raises(ModelResolutionError):
            resolve_model(bad)


def test_smollm2_resolves_to_packaged_gguf_without_converting(tmp_path):
    resolved = resolve_model("smollm2", cache_dir=tmp_path, materialize_hf=False)
    assert resolved.gguf_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and resolved.gguf_path.exists()
    assert resolved.revision.startswith("sha256:") and str(resolved.hf_path).startswith(str(tmp_path))
    assert not resolved.hf_path.exists()


# ---------------------------------------------------------------- hf backend (tiny random model)


@pytest.fixture(scope="module")
def tiny_hf(tiny_model_dir):
    return load_backend("hf", str(tiny_model_dir), batch_size=2, device="cpu")


def test_hf_backend_returns_n_completions_in_order(tiny_hf):
    params = SamplingParams(max_tokens=6, temperature=1.0, n=2, seed=3)
    out = tiny_hf.generate(CONVERSATIONS, params)
    assert [len(c) for c in out] == [2, 2, 2]
    for conv, comps in zip(CONVERSATIONS, out):
        prompt_ids = tiny_hf.tokenizer(tiny_hf.render(conv), add_special_tokens=False)["input_ids"]
        assert all(c.prompt_tokens == len(prompt_ids) for c in comps)  # order survives length sorting
        assert all(0 < c.completion_tokens <= 6 and c.error is None for c in comps)


def test_hf_backend_seeds_and_greedy(tiny_hf):
    assert not any(module.training for module in tiny_hf.model.modules())  # dropout off
    def texts(params):
        return [c.text for comps in tiny_hf.generate(CONVERSATIONS, params) for c in comps]

    sampled = SamplingParams(max_tokens=8, temperature=1.0, seed=1)
    assert texts(sampled) == texts(sampled)
    assert texts(sampled) != texts(SamplingParams(max_tokens=8, temperature=1.0, seed=2))
    greedy = tiny_hf.generate(CONVERSATIONS[:1], SamplingParams(max_tokens=8, n=3))[0]
    assert len({c.text for c in greedy}) == 1 and greedy[0].finish_reason == "length"


def test_hf_backend_prefill_and_description(tiny_hf):
    out = tiny_hf.generate(CONVERSATIONS[:1], SamplingParams(max_tokens=4, prefill_think=True))
    assert out[0][0].text.startswith("<think>\n")
    assert tiny_hf.render(CONVERSATIONS[0], prefill_think=True).endswith("<|im_start|>assistant\n<think>\n")
    info = tiny_hf.describe()
    assert info["backend"] == "hf" and "<|im_start|>" in info["chat_template"] and info["revision"]


def test_hf_stopper_flags_rows_whose_answer_is_complete(tiny_hf):
    import torch

    from recon.inference.hf import _TextStopper

    tok = tiny_hf.tokenizer
    prompt = [1, 2, 3]
    rows = ["thinking </think> \\boxed{Option 1}", "still \\boxed{Opt", "x STOP y"]
    encoded = [prompt + tok(r, add_special_tokens=False)["input_ids"] for r in rows]
    width = max(len(e) for e in encoded)
    ids = torch.tensor([e + [tok.pad_token_id] * (width - len(e)) for e in encoded])
    stopper = _TextStopper(tok, len(prompt), SamplingParams(stop=["STOP"]), [False] * 3, tiny_hf.eos_ids)
    assert stopper(ids, None).tolist() == [True, False, True]


def test_hf_backend_loads_a_lora_adapter(tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(tmp_path / "lora")
    backend = load_backend("hf", str(tmp_path / "lora"), device="cpu")
    assert backend.describe()["adapter_path"] == str((tmp_path / "lora").resolve())
    assert backend.generate(CONVERSATIONS[:1], SamplingParams(max_tokens=3))[0][0].completion_tokens == 3


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_lora_checkpoint_is_merged_and_converted_for_llamacpp(tiny_model_dir, tmp_path):
    """A trained LoRA checkpoint runs on llama.cpp: merged, written as GGUF by llama.cpp's converter."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is an optional extra (make test installs it)")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(tmp_path / "lora")
    backend = load_backend("llamacpp", str(tmp_path / "lora"), n_ctx=512)
    assert backend.gguf_path.suffix == ".gguf" and backend.gguf_path.exists()
    assert backend.describe()["adapter_path"] == str((tmp_path / "lora").resolve())
    [[completion]] = backend.generate(CONVERSATIONS[:1], SamplingParams(max_tokens=4))
    assert completion.completion_tokens == 4 and completion.prompt_tokens > 0


def test_folder_revision_follows_weight_content(tiny_model_dir, tmp_path):
    import shutil

    from recon.inference.models import folder_revision

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert folder_revision(copy, tmp_path) == folder_revision(tiny_model_dir, tmp_path)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # same size, different weights
    weights.write_bytes(bytes(data))
    assert folder_revision(copy, tmp_path) != folder_revision(tiny_model_dir, tmp_path)
