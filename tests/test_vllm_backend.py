"""The vLLM backend on CPU, against a fake `vllm` module injected into sys.modules: one engine at a time
(closed before the next model's starts, as in the pipeline's eval stage), token-id prompts with exactly
one BOS, LoRA requests for adapter folders, and every prompt handed over in one call."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import pytest
from rich.console import Console
from test_training import option_problem

from recon.data.problem import write_jsonl

ANSWER = "<think>\nreasoning\n</think>\n\n\\boxed{Option 1}"
# A chat template that writes BOS itself, as DeepSeek-R1-Distill's does.
BOS_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


class FakeLLM:
    """Stands in for `vllm.LLM`: refuses to start while another engine holds the GPU, records calls."""

    live: list["FakeLLM"] = []
    created: list["FakeLLM"] = []

    def __init__(self, model: str, tokenizer: str, **options):
        if FakeLLM.live:
            raise RuntimeError("GPU memory is held by another engine")  # what vLLM does at the second model
        from transformers import AutoTokenizer

        self.model, self.options, self.calls = model, options, []
        self._tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self.llm_engine = types.SimpleNamespace(engine_core=types.SimpleNamespace(shutdown=self._shutdown))
        FakeLLM.live.append(self)
        FakeLLM.created.append(self)

    def _shutdown(self):
        FakeLLM.live.remove(self)

    def get_tokenizer(self):
        return self._tokenizer

    def generate(self, prompts, sampling, lora_request=None, use_tqdm=True):
        self.calls.append({"prompts": prompts, "sampling": sampling, "lora": lora_request})
        done = types.SimpleNamespace(text=ANSWER, token_ids=[1, 2, 3], finish_reason="stop")
        return [types.SimpleNamespace(prompt_token_ids=p["prompt_token_ids"], outputs=[done] * sampling.n) for p in prompts]


@pytest.fixture()
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.__version__ = "0.30.0-fake"
    vllm.LLM = FakeLLM
    vllm.SamplingParams = lambda **kw: types.SimpleNamespace(**kw)
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, id_, path: types.SimpleNamespace(lora_name=name, lora_int_id=id_, lora_path=path)
    for name, module in {"vllm": vllm, "vllm.lora": lora, "vllm.lora.request": request}.items():
        monkeypatch.setitem(sys.modules, name, module)
    FakeLLM.live, FakeLLM.created = [], []
    yield FakeLLM
    FakeLLM.live, FakeLLM.created = [], []


@pytest.fixture(scope="module")
def bos_model(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with a chat template that writes BOS itself."""
    out = tmp_path_factory.mktemp("bos-model")
    for f in tiny_model_dir.iterdir():
        shutil.copy(f, out / f.name)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    tokenizer.chat_template = BOS_TEMPLATE
    tokenizer.save_pretrained(out)
    return out


def lora_adapter(base: Path, out: Path, r: int = 8) -> Path:
    """A PEFT LoRA adapter folder (with the base's tokenizer, as an SFT checkpoint has)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=r, target_modules=["q_proj", "v_proj"]))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    config = json.loads((out / "adapter_config.json").read_text())
    assert Path(config["base_model_name_or_path"]) == base
    return out


CONVERSATION = [{"role": "user", "content": "Which option? Option 1: a, Option 2: b"}]


def test_prompts_are_token_ids_with_one_bos(fake_vllm, bos_model):
    from recon.inference import SamplingParams, load_backend

    with load_backend("vllm", str(bos_model)) as backend:
        tok = backend.tokenizer
        [[completion]] = backend.generate([CONVERSATION], SamplingParams(max_tokens=8, prefill_think=True))
        [call] = fake_vllm.created[0].calls
    ids = call["prompts"][0]["prompt_token_ids"]
    text = tok.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True) + "<think>\n"
    assert ids == tok(text, add_special_tokens=False)["input_ids"]  # what the hf backend and TRL feed the model
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    assert completion.text.startswith("<think>\n") and completion.prompt_tokens == len(ids)


def test_a_duplicated_bos_is_dropped():
    from recon.inference.vllm_backend import single_bos

    assert single_bos([7, 7, 7, 5, 6], 7) == [7, 5, 6]
    assert single_bos([7, 5, 7], 7) == [7, 5, 7]
    assert single_bos([5, 6], None) == [5, 6]


def test_one_engine_at_a_time_and_memory_released_on_close(fake_vllm, tiny_model_dir):
    from recon.inference import load_backend

    first = load_backend("vllm", str(tiny_model_dir))
    with pytest.raises(RuntimeError, match="held by another engine"):
        load_backend("vllm", str(tiny_model_dir))  # the failure the pipeline had at its second model
    first.close()
    first.close()  # idempotent
    with load_backend("vllm", str(tiny_model_dir)):
        assert len(fake_vllm.live) == 1
    assert fake_vllm.live == [] and len(fake_vllm.created) == 2
    with pytest.raises(RuntimeError, match="closed"):
        first.generate([CONVERSATION], __import__("recon.inference", fromlist=["SamplingParams"]).SamplingParams())


def test_adapter_folders_are_served_as_lora_requests(fake_vllm, tiny_model_dir, tmp_path):
    from recon.inference import SamplingParams, load_backend

    adapter = lora_adapter(tiny_model_dir, tmp_path / "sft", r=12)
    with load_backend("vllm", str(adapter)) as backend:
        backend.generate([CONVERSATION], SamplingParams(max_tokens=4))
        assert backend.describe()["adapter_path"] == str(adapter.resolve())
    engine = fake_vllm.created[0]
    assert Path(engine.model) == tiny_model_dir.resolve()  # the base model is loaded, the adapter is not merged
    assert engine.options["enable_lora"] is True and engine.options["max_lora_rank"] == 16  # r=12 rounded up
    lora = engine.calls[0]["lora"]
    assert Path(lora.lora_path) == adapter.resolve() and lora.lora_int_id >= 1
    with load_backend("vllm", str(tiny_model_dir)) as backend:
        backend.generate([CONVERSATION], SamplingParams(max_tokens=4))
    assert fake_vllm.created[1].options["enable_lora"] is False and fake_vllm.created[1].calls[0]["lora"] is None


def test_greedy_draws_once_and_replicates(fake_vllm, tiny_model_dir):
    from recon.inference import SamplingParams, load_backend

    with load_backend("vllm", str(tiny_model_dir)) as backend:
        [greedy] = backend.generate([CONVERSATION], SamplingParams(max_tokens=4, n=3))
        [sampled] = backend.generate([CONVERSATION], SamplingParams(max_tokens=4, n=3, temperature=0.7))
    first, second = fake_vllm.created[0].calls
    assert (first["sampling"].n, second["sampling"].n) == (1, 3)
    assert len(greedy) == len(sampled) == 3


def test_pipeline_eval_stage_runs_one_engine_per_model_with_all_prompts(fake_vllm, tiny_model_dir, tmp_path):
    from recon.pipeline.run import eval_plan
    from recon.pipeline.stages import StageContext

    problems = [option_problem(i) for i in range(40)]
    write_jsonl(problems, tmp_path / "eval.jsonl")
    write_jsonl([option_problem(100 + i) for i in range(8)], tmp_path / "train.jsonl")
    sft = lora_adapter(tiny_model_dir, tmp_path / "sft")
    grpo = lora_adapter(tiny_model_dir, tmp_path / "grpo")
    outputs = {
        "data": {"eval": str(tmp_path / "eval.jsonl"), "train": str(tmp_path / "train.jsonl")},
        "sft": {"checkpoint": str(sft)},
        "grpo": {"checkpoint": str(grpo)},
    }
    config = {"backend": "vllm", "max_tokens": 32, "datasets": {"verified": {"permutations": 2}}}
    preset = {"model": str(tiny_model_dir), "think": "required", "seed": 0}
    ctx = StageContext(tmp_path / "run", config, preset, outputs, Console(quiet=True))
    result = eval_plan(ctx).execute()

    assert [run["model"] for run in result["runs"]] == ["base", "sft", "grpo"]
    assert all(run["accuracy"] is not None for run in result["runs"])
    engines = fake_vllm.created
    assert len(engines) == 3 and fake_vllm.live == []  # each closed before the next one started
    for engine in engines:  # 40 items × 2 option orders in ONE call, not chunks of 16
        assert [len(call["prompts"]) for call in engine.calls] == [80]
    assert engines[0].calls[0]["lora"] is None
    assert [Path(e.calls[0]["lora"].lora_path) for e in engines[1:]] == [sft.resolve(), grpo.resolve()]
