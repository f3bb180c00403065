"""The vLLM backend's GPU path, against a fake `vllm` module injected into sys.modules: what the CPU engine
cannot show (GPU memory share, tensor parallelism), and the pipeline's calling pattern (one engine per model,
every prompt in one call). The real engine on CPU is tested in test_vllm_cpu.py."""

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
        per_prompt = sampling if isinstance(sampling, list) else [sampling] * len(prompts)
        return [
            types.SimpleNamespace(prompt_token_ids=p["prompt_token_ids"], outputs=[done] * s.n, metrics=None)
            for p, s in zip(prompts, per_prompt)
        ]


@pytest.fixture()
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.__version__ = "0.30.0-fake"
    vllm.LLM = FakeLLM
    vllm.SamplingParams = lambda **kw: types.SimpleNamespace(**kw)
    platforms = types.ModuleType("vllm.platforms")
    platforms.current_platform = types.SimpleNamespace(is_cpu=lambda: False)  # a CUDA build
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, id_, path: types.SimpleNamespace(lora_name=name, lora_int_id=id_, lora_path=path)
    # The real package may already be imported by an earlier test: its cleanup would meet the fake platform.
    distributed = types.ModuleType("vllm.distributed")
    parallel_state = types.ModuleType("vllm.distributed.parallel_state")
    parallel_state.cleanup_dist_env_and_memory = lambda shutdown_ray=False: None
    fakes = {"vllm": vllm, "vllm.platforms": platforms, "vllm.lora": lora, "vllm.lora.request": request,
             "vllm.distributed": distributed, "vllm.distributed.parallel_state": parallel_state}  # fmt: skip
    for name, module in fakes.items():
        monkeypatch.setitem(sys.modules, name, module)
    FakeLLM.live, FakeLLM.created = [], []
    yield FakeLLM
    FakeLLM.live, FakeLLM.created = [], []


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


def test_gpu_engine_gets_its_memory_share_and_tensor_parallelism(fake_vllm, tiny_model_dir):
    from recon.inference import SamplingParams, load_backend

    with load_backend("vllm", str(tiny_model_dir), gpu_memory_utilization=0.5, tensor_parallel_size=2) as backend:
        backend.generate([CONVERSATION], SamplingParams(max_tokens=4))
        settings = backend.describe()["settings"]
    options = fake_vllm.created[0].options
    assert options["gpu_memory_utilization"] == 0.5 and options["tensor_parallel_size"] == 2
    assert options["enable_prefix_caching"] is True and "enforce_eager" not in options  # CUDA graphs on GPU
    assert settings["device"] == "cuda" and settings["tensor_parallel_size"] == 2


def test_a_duplicated_bos_is_dropped():
    from recon.inference.vllm_backend import single_bos

    assert single_bos([7, 7, 7, 5, 6], 7) == [7, 5, 6]
    assert single_bos([7, 5, 7], 7) == [7, 5, 7]
    assert single_bos([5, 6], None) == [5, 6]


def test_core_list_is_vllms_bind_syntax():
    from recon.inference.vllm_backend import core_list

    assert core_list([0, 1]) == "0-1" and core_list([3, 0, 1, 2, 6]) == "0-3,6" and core_list([5]) == "5"


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
