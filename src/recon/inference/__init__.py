"""Inference backends behind one interface: chat conversations + `SamplingParams` → n `Completion`s each.

    backend = load_backend("llamacpp", "smollm2")
    [[completion]] = backend.generate([[{"role": "user", "content": "…"}]], SamplingParams(max_tokens=256))
"""

from __future__ import annotations

import json
from typing import Any

from recon.errors import UserError, http_url, user_input
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


# `auto`: the fastest engine this machine has (`auto_backend`).
AUTO = "auto"


def check_backend(name: str) -> None:
    """Refuse an unknown backend name before anything is loaded."""
    if name != AUTO and name not in BACKENDS:
        raise UserError(f"--backend {name!r}: unknown backend; choose one of {', '.join(sorted([*BACKENDS, AUTO]))}")


def auto_backend() -> str:
    """`--backend auto`: vLLM when it is installed (its CPU build on a CPU; on AVX2-only CPUs too, where it
    runs float32: bench/eval_throughput.py), else transformers."""
    import importlib.util

    return "vllm" if importlib.util.find_spec("vllm") is not None else "hf"


def load_backend(name: str, model: str = "smollm2", **options: Any) -> Backend:
    """Build a backend by name (`hf`, `llamacpp`, `openai`, `vllm`, `scripted`, or `auto`: `auto_backend`).

    `options` go to the backend's constructor (e.g. `batch_size=` for hf, `threads=` for llamacpp,
    `base_url=`/`concurrency=` for openai). `scripted` takes `respond=` and ignores `model`. `replicas=N`
    (N > 1) runs N copies of the backend, one worker process per GPU (`recon.inference.replicas`)."""
    import importlib

    from recon.inference.replicas import ReplicaBackend, check_replicas

    check_backend(name)
    replicas = check_replicas(options.pop("replicas", 1))
    if name == AUTO:
        name = auto_backend()
        options = accepted_options(name, options)
    module, cls_name = BACKENDS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    check_backend_options(name, cls, options)
    if replicas > 1:
        return ReplicaBackend(name, model, options, replicas)
    with user_input(f"--backend-option ({name} backend)"):  # a bad option value, e.g. concurrency=0
        return cls(**options) if name == "scripted" else cls(model, **options)


def check_backend_options(name: str, cls: type, options: dict[str, Any]) -> None:
    """Refuse options the backend does not take, a malformed `base_url`, and a scripted `respond` that is
    not a non-empty list or mapping of texts (or a callable), naming the option."""
    import inspect

    accepted = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        known = sorted(k for k in accepted if k not in ("self", "model"))
        unknown = sorted(k for k in options if k not in accepted or k in ("self", "model"))
        if unknown:
            raise UserError(f"--backend-option {unknown[0]}: the {name} backend has no such option; it takes {', '.join(known)}")
    if options.get("base_url") is not None:
        http_url(options["base_url"], "--backend-option base_url")
    if options.get("chat_template") is not None and not isinstance(options["chat_template"], str):
        raise UserError(f"--backend-option chat_template: expected a file or template text, got {options['chat_template']!r:.60}")
    if name == "scripted":
        respond = options.get("respond")
        texts = respond.values() if isinstance(respond, dict) else respond if isinstance(respond, list) else None
        if callable(respond):
            return
        if respond is None:
            raise UserError('the scripted backend needs --backend-option respond=[…], a JSON list of texts, e.g. respond=["\\boxed{Yes}"]')
        if not texts or not all(isinstance(t, str) or (isinstance(t, list) and t and all(isinstance(x, str) for x in t)) for t in texts):
            raise UserError(
                f"--backend-option respond={respond!r:.60}: the scripted backend needs respond= a non-empty JSON list of "
                'texts (e.g. respond=["\\boxed{Yes}"]) or a mapping prompt → text'
            )


def accepted_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options backend `name` takes, for `auto`: a preset's options may name another engine's
    (`batch_size` is transformers'; vLLM schedules its own batches)."""
    import importlib
    import inspect

    module, cls_name = BACKENDS[name]
    accepted = inspect.signature(getattr(importlib.import_module(module), cls_name)).parameters
    return {k: v for k, v in options.items() if k in accepted}


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
    "AUTO",
    "BACKENDS",
    "THINK_PREFILL",
    "Backend",
    "Completion",
    "ResolvedModel",
    "SamplingParams",
    "ScriptedBackend",
    "answer_complete",
    "auto_backend",
    "check_backend",
    "ensure_gguf",
    "load_backend",
    "parse_backend_options",
    "resolve_model",
    "truncate_completion",
]
