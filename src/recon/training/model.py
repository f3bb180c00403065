"""Load the policy to train: a base model, or an SFT checkpoint/adapter merged or continued."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recon.training.args import ModelSource, resolve_model_source


def _dtype(name: str | None) -> Any:
    import torch

    if name in (None, "auto"):
        return "auto"
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


def _load_causal_lm(path: str, model_cfg, config):
    from transformers import AutoModelForCausalLM

    kwargs = dict(config.model_init_kwargs or {})
    kwargs.setdefault("dtype", _dtype(model_cfg.dtype))
    kwargs.setdefault("revision", model_cfg.model_revision)
    kwargs.setdefault("trust_remote_code", config.trust_remote_code)
    if model_cfg.attn_implementation:
        kwargs.setdefault("attn_implementation", model_cfg.attn_implementation)
    if Path(path).exists():
        kwargs.pop("revision")
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def merged_init(source: ModelSource, model_cfg, config, output_dir: str) -> str:
    """Merge an SFT adapter into its base once (main process) under `output_dir/init-merged`, so the new
    run's adapters and checkpoints name a base that really holds the SFT weights."""
    from accelerate import PartialState
    from peft import PeftModel

    target = Path(output_dir).resolve() / "init-merged"
    with PartialState().main_process_first():
        if not (target / "config.json").exists():
            base = _load_causal_lm(source.base, model_cfg, config)
            merged = PeftModel.from_pretrained(base, source.adapter).merge_and_unload()
            tmp = target.with_name("init-merged.tmp")
            merged.save_pretrained(tmp)
            load_tokenizer(_tokenizer_source(source)).save_pretrained(tmp)
            tmp.rename(target)
    return str(target)


def _tokenizer_source(source: ModelSource) -> str:
    if source.adapter and (Path(source.adapter) / "tokenizer_config.json").exists():
        return source.adapter
    return source.base


def load_policy(script, model_cfg, config):
    """(model, tokenizer, peft_config, description). A LoRA adapter folder as the model is merged
    (`adapter_mode=merge`, then a fresh LoRA when use_peft) or trained further (`continue`)."""
    from peft import PeftModel
    from trl import get_peft_config

    source = resolve_model_source(model_cfg.model_name_or_path)
    tokenizer = load_tokenizer(_tokenizer_source(source))
    peft_config = get_peft_config(model_cfg)
    if source.adapter is None:
        model = _load_causal_lm(source.base, model_cfg, config)
        described = f"base {source.base}"
    elif script.adapter_mode == "merge":
        path = merged_init(source, model_cfg, config, config.output_dir)
        model = _load_causal_lm(path, model_cfg, config)
        described = f"adapter {source.adapter} merged into {source.base} → {path}"
    else:
        base = _load_causal_lm(source.base, model_cfg, config)
        model = PeftModel.from_pretrained(base, source.adapter, is_trainable=True)
        peft_config = None
        described = f"adapter {source.adapter} (continued) on {source.base}"
    described += "; LoRA " + (
        f"r={peft_config.r} alpha={peft_config.lora_alpha} on {sorted(peft_config.target_modules or [])}"
        if peft_config is not None
        else ("continued" if isinstance(model, PeftModel) else "off (full fine-tuning)")
    )
    return model, tokenizer, peft_config, described
