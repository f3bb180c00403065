"""Load the policy to train: a base model, or an SFT checkpoint/adapter merged or continued."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recon.inference.models import ResolvedModel, merge_adapter, resolve_model


def on_cpu(config) -> bool:
    """Whether this run trains on the CPU (`use_cpu`, or no CUDA device)."""
    import torch

    return bool(config.use_cpu) or not torch.cuda.is_available()


def _dtype(name: str | None, config) -> Any:
    """A torch dtype; `auto` is chosen from the hardware (`recon.inference.hf.auto_dtype`): bfloat16 on CUDA
    and on CPUs with native bf16, float32 elsewhere."""
    import torch

    if name in (None, "auto"):
        from recon.inference.hf import auto_dtype

        name = auto_dtype("cpu" if on_cpu(config) else "cuda")
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise SystemExit(f"unknown dtype {name!r} (use auto, float32, bfloat16 or float16)")
    return value


def load_tokenizer(path: str):
    """The tokenizer, with a pad token (models without one pad with EOS)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _load_causal_lm(path: str, model_cfg, config, dtype: Any = None):
    """The causal LM at `path` in `dtype` (default: the recipe's `dtype`, `auto` resolved)."""
    from transformers import AutoModelForCausalLM

    kwargs = dict(config.model_init_kwargs or {})
    kwargs.setdefault("dtype", dtype or _dtype(model_cfg.dtype, config))
    kwargs.setdefault("revision", model_cfg.model_revision)
    kwargs.setdefault("trust_remote_code", config.trust_remote_code)
    if model_cfg.attn_implementation:
        kwargs.setdefault("attn_implementation", model_cfg.attn_implementation)
    if Path(path).exists():
        kwargs.pop("revision")
    kwargs.setdefault("device_map", rank_device_map(config))
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def rank_device_map(config) -> dict | None:
    """`{"": this process's GPU}` on CUDA, so each rank reads the weights straight onto its own GPU instead of
    first materialising the whole model in host RAM (8 ranks × 15 GB for a 7B in bf16); None on the CPU and
    under DeepSpeed ZeRO-3, which places (shards) the weights itself."""
    import os

    from transformers.integrations import is_deepspeed_zero3_enabled

    if on_cpu(config) or is_deepspeed_zero3_enabled():
        return None
    return {"": int(os.environ.get("LOCAL_RANK", "0"))}  # set by accelerate launch / torchrun


def merged_init(source: ResolvedModel, model_cfg, config, output_dir: str) -> str:
    """Merge an SFT adapter into its base once (main process) under `output_dir/init-merged`, so the new
    run's adapters and checkpoints name a base that really holds the SFT weights. The merge is done and
    saved in float32 whatever the run's `dtype`: the SFT delta (~0.3% of |W| for SmolLM2) is below
    bfloat16's relative spacing, so a bf16 merge would lose about half of it."""
    import torch
    from accelerate import PartialState

    with PartialState().main_process_first():
        target = merge_adapter(
            source,
            out=Path(output_dir).resolve() / "init-merged",
            load_base=lambda path: _load_causal_lm(path, model_cfg, config, dtype=torch.float32),
        )
    return str(target)


# Where `compose_on_base` keeps the adapter GRPO trained on `init-merged` (the run folder's root then holds
# the composed adapter on the SFT run's base).
TRAINED_ADAPTER_DIR = "adapter-on-init-merged"


def compose_on_base(sft: ResolvedModel, output_dir: str) -> Path:
    """Replace the final adapter in `output_dir` (trained on `init-merged`, the float32 merge of the SFT
    adapter `sft`) by one adapter on the SFT run's own base: the SFT and GRPO adapters concatenated along
    the rank (PEFT's `cat`, each adapter's scaling folded into its A; rank r_sft + r_grpo), which equals
    the float32 model exactly. Served in bf16 (vLLM, the hf backend), `init-merged` would be rounded to
    bf16 and lose about half of the SFT delta (< bf16's relative spacing); the base and the adapters are
    not. The GRPO adapter itself is kept under `output_dir/adapter-on-init-merged`; one base model then
    serves the base, SFT and GRPO models (one vLLM engine, adapters as LoRA requests)."""
    import json
    import shutil

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = Path(output_dir)
    kept = out / TRAINED_ADAPTER_DIR
    kept.mkdir(exist_ok=True)
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        if (out / name).exists():
            shutil.move(str(out / name), kept / name)
    base = AutoModelForCausalLM.from_pretrained(str(sft.hf_path), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(sft.adapter_path), adapter_name="sft")
    model.load_adapter(str(kept), adapter_name="grpo")
    model.add_weighted_adapter(["sft", "grpo"], [1.0, 1.0], "composed", combination_type="cat")
    model.peft_config["composed"].use_rslora = False  # scaling folded into A: alpha = r, scaling 1
    tmp = out / ".composed.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, selected_adapters=["composed"])
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        shutil.move(str(tmp / "composed" / name), out / name)
    shutil.rmtree(tmp)
    config = json.loads((out / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(sft.hf_path)
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return out


def trained_dtype(model_cfg, config, full_fine_tuning: bool, merged: bool) -> tuple[Any, str | None]:
    """(dtype to load the policy in, why it differs from the recipe's `dtype`, or None).

    Half-precision weights are kept in float32 where rounding would erase what training put there:
    - full fine-tuning without DeepSpeed (which keeps its own float32 master copy): an AdamW update of
      5e-5 is below half the bf16 spacing of most weights, so updated bf16 weights barely move;
    - a merged SFT init trained on the CPU (no autocast): a bf16 copy would round the SFT delta away.
    LoRA adapters need nothing: PEFT keeps them in float32 over a half-precision base."""
    import torch

    dtype = _dtype(model_cfg.dtype, config)
    if dtype not in (torch.bfloat16, torch.float16):
        return dtype, None
    name = str(dtype).removeprefix("torch.")
    if full_fine_tuning and not config.deepspeed:
        return torch.float32, f"full fine-tuning: weights kept in float32 (master weights), not {name}"
    if merged and on_cpu(config):
        return torch.float32, f"merged SFT init kept in float32, not {name} (a {name} copy rounds the SFT delta away)"
    return dtype, None


def server_model(script, model_cfg, config) -> str:
    """The model a `trl vllm-serve` server must load for this GRPO run: the merged SFT init (written once
    under output_dir/init-merged) when starting from an adapter with `adapter_mode=merge`, else the base
    (TRL pushes merged LoRA weights into the server as it trains)."""
    source = resolve_model(model_cfg.model_name_or_path)
    if source.adapter_path is None or script.adapter_mode != "merge":
        return str(source.hf_path)
    return merged_init(source, model_cfg, config, config.output_dir)


def load_policy(script, model_cfg, config):
    """(model, tokenizer, peft_config, description). A LoRA adapter folder as the model is merged
    (`adapter_mode=merge`, then a fresh LoRA when use_peft) or trained further (`continue`). Weights the
    optimiser updates, and a merged SFT init on the CPU, are float32 (`trained_dtype`)."""
    import torch
    from peft import PeftModel
    from trl import get_peft_config

    source = resolve_model(model_cfg.model_name_or_path)
    base_path, adapter = str(source.hf_path), source.adapter_path
    tokenizer = load_tokenizer(str(source.tokenizer_path))
    peft_config = get_peft_config(model_cfg)
    notes: list[str] = []
    if adapter is None:
        dtype, why = trained_dtype(model_cfg, config, full_fine_tuning=peft_config is None, merged=False)
        model = _load_causal_lm(base_path, model_cfg, config, dtype=dtype)
        described = f"base {base_path}"
        notes.append(why)
    elif script.adapter_mode == "merge":
        path = merged_init(source, model_cfg, config, config.output_dir)
        dtype, why = trained_dtype(model_cfg, config, full_fine_tuning=peft_config is None, merged=True)
        model = _load_causal_lm(path, model_cfg, config, dtype=dtype)
        described = f"adapter {adapter} merged (float32) into {base_path} → {path}"
        notes.append(why)
        if why is None and dtype != torch.float32:
            notes.append("note: bf16/fp16 compute rounds the merged SFT delta; `adapter_mode: continue` starts exactly from the SFT model")
    else:
        base = _load_causal_lm(base_path, model_cfg, config)
        model = PeftModel.from_pretrained(base, str(adapter), is_trainable=True)
        peft_config = None
        described = f"adapter {adapter} (continued) on {base_path}"
    described += "; LoRA " + (
        f"r={peft_config.r} alpha={peft_config.lora_alpha} on {sorted(peft_config.target_modules or [])}"
        if peft_config is not None
        else ("continued" if isinstance(model, PeftModel) else "off (full fine-tuning)")
    )
    described += "".join(f"; {note}" for note in notes if note)
    return model, tokenizer, peft_config, described


def score_labelled_positions_only() -> None:
    """Make TRL's fused LM head project only the positions that carry a label on the CPU too.

    TRL 1.16's SFT loss and GRPO log-probabilities (`add_fused_lm_head`) score only the labelled positions on
    Triton devices, but every position elsewhere, to keep tile shapes fixed for compilers such as Neuron's. The
    CPU compiles nothing, and with a completion-only loss (and in GRPO) most positions are prompt: for SmolLM2
    (a 49k × 576 head) on answer-only rows the head then runs on ~1/10 of the tokens. The loss and its gradient
    are unchanged (same kernel, fewer rows). Idempotent."""
    import trl.trainer.utils as trl_utils

    use_triton = trl_utils._use_triton
    if getattr(use_triton, "recon_compact_cpu", False):
        return

    def compact_on_cpu(device) -> bool:
        return device.type == "cpu" or use_triton(device)

    compact_on_cpu.recon_compact_cpu = True
    compact_on_cpu.trl_use_triton = use_triton  # TRL's own rule (bench/train_step.py times both)
    trl_utils._use_triton = compact_on_cpu
