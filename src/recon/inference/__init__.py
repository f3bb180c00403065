"""Inference backends behind one interface: chat conversations + `SamplingParams` → n `Completion`s each.

    backend = load_backend("llamacpp", "smollm2")
    [[completion]] = backend.generate([[{"role": "user", "content": "…"}]], SamplingParams(max_tokens=256))
"""

from __future__ import annotations

import json
from typing import Any

from recon.errors import UserError
from recon.inference.base import THINK_PREFILL, Backend, Completion, SamplingParams, answer_complete, truncate_completion
from recon.inference.models import ResolvedModel, ensure_gguf, resolve_model
from recon.inference.scripted import ScriptedBackend

BACKENDS: dict[str, tuple[str, str]] = {
    "hf": ("recon.inference.hf", "HFBackend"),
    "llamacpp": ("recon.inference.llamacpp", "LlamaCppBackend"),
    "openai": ("recon.inference.openai_compat", "OpenAIBackend"),
    "vllm": ("recon.inference.vllm_backend", "VLLMBackend"),
    "scripted": ("recon.inference.scripted", "ScriptedBackend"),
}


def check_backend(name: str) -> None:
    """Refuse an unknown backend name before anything is loaded."""
    if name not in BACKENDS:
        raise UserError(f"--backend {name!r}: unknown backend; choose one of {', '.join(sorted(BACKENDS))}")


def load_backend(name: str, model: str = "smollm2", **options: Any) -> Backend:
    """Build a backend by name (`hf`, `llamacpp`, `openai`, `vllm`, `scripted`).

    `options` go to the backend's constructor (e.g. `batch_size=` for hf, `threads=` for llamacpp,
    `base_url=`/`concurrency=` for openai). `scripted` takes `respond=` and ignores `model`."""
    import importlib

    check_backend(name)
    module, cls_name = BACKENDS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    if name == "scripted":
        if "respond" not in options:
            raise ValueError("the scripted backend needs respond= (a callable, dict or list of texts)")
        return cls(**options)
    return cls(model, **options)


def parse_backend_options(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` command-line backend options; values read as JSON when they parse (numbers,
    booleans), else as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UserError(f"--backend-option {pair!r}: must be KEY=VALUE")
        key, value = pair.split("=", 1)
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


__all__ = [
    "BACKENDS",
    "THINK_PREFILL",
    "Backend",
    "Completion",
    "ResolvedModel",
    "SamplingParams",
    "ScriptedBackend",
    "answer_complete",
    "check_backend",
    "ensure_gguf",
    "load_backend",
    "parse_backend_options",
    "resolve_model",
    "truncate_completion",
]
