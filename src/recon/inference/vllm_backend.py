"""vLLM backend for GPU users (optional extra `vllm`): offline `vllm.LLM`, LoRA adapters served through
`LoRARequest` without merging.

    recon eval --backend vllm --model Qwen/Qwen2.5-7B-Instruct --think required
    recon eval --backend vllm --model runs/grpo/checkpoint-500   # a LoRA adapter folder: base + adapter

One engine holds most of the GPU (`gpu_memory_utilization`), so a process can hold only one at a time:
use the backend as a context manager (or call `close()`), which shuts the engine down and releases its
GPU memory before the next model's engine starts. Prompts go to vLLM as token ids rendered exactly as
the hf backend and training render them (the chat template's own BOS, never a second one).
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

from recon.inference.base import (
    Completion,
    ProgressFn,
    SamplingParams,
    check_conversations,
    describe_local_model,
    draws,
    finish_text,
    load_chat_template,
    render_with_tokenizer,
    replicate,
)
from recon.inference.models import resolve_model

# LoRA ranks vLLM accepts for `max_lora_rank`.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def single_bos(ids: list[int], bos_id: int | None) -> list[int]:
    """`ids` with a repeated leading BOS collapsed to one (a template that writes BOS, tokenized by a
    tokenizer that adds one too)."""
    start = 0
    while bos_id is not None and start + 1 < len(ids) and ids[start] == ids[start + 1] == bos_id:
        start += 1
    return ids[start:]


def adapter_rank(adapter_path: str | Path) -> int:
    """The LoRA rank `r` of a PEFT adapter folder, rounded up to a rank vLLM accepts."""
    rank = int(json.loads((Path(adapter_path) / "adapter_config.json").read_text()).get("r", 8))
    return next((allowed for allowed in VLLM_LORA_RANKS if allowed >= rank), rank)


class VLLMBackend:
    """Offline batched generation with vLLM (continuous batching, paged attention)."""

    name = "vllm"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        chat_template: str | None = None,
        gpu_memory_utilization: float = 0.85,
        max_model_len: int = 8192,
        tensor_parallel_size: int = 1,
        max_lora_rank: int | None = None,
        dtype: str = "auto",
        prompts_per_call: int = 4096,
        cache_dir: str | None = None,
    ):
        from recon.errors import require

        vllm = require("vllm", "vllm", "the vllm backend (a CUDA GPU; on CPU use --backend hf or llamacpp)")
        from vllm.lora.request import LoRARequest

        self.spec = model
        self.resolved = resolve_model(model, cache_dir)
        adapter = self.resolved.adapter_path
        # vLLM schedules its own batches: the evaluator hands it this many prompts per call (everything,
        # for Recon's datasets); calls are bounded only so that a killed run keeps what it finished.
        self.prompts_per_call = prompts_per_call
        self.settings = {
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
            "tensor_parallel_size": tensor_parallel_size,
            "dtype": dtype,
            "vllm": vllm.__version__,
        }
        lora_options = {"enable_lora": False}
        if adapter is not None:
            lora_options = {"enable_lora": True, "max_lora_rank": max_lora_rank or adapter_rank(adapter)}
            self.settings["max_lora_rank"] = lora_options["max_lora_rank"]
        self.llm = vllm.LLM(
            model=str(self.resolved.hf_path),
            tokenizer=str(self.resolved.tokenizer_path),  # an SFT checkpoint's own tokenizer and template
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            **lora_options,
        )
        self.lora = LoRARequest("adapter", 1, str(adapter)) if adapter is not None else None
        self.tokenizer = self.llm.get_tokenizer()
        self.chat_template = load_chat_template(chat_template) or self.tokenizer.chat_template
        if not self.chat_template:
            self.close()
            raise ValueError(f"{model!r} has no chat template; pass chat_template= (a Jinja file or text)")
        self._vllm = vllm

    def prompt_ids(self, messages: list[dict], prefill_think: bool = False) -> list[int]:
        """The generation prompt as token ids: the chat template rendered as the hf backend and TRL render
        it, tokenized without adding special tokens, with at most one leading BOS."""
        text = render_with_tokenizer(self.tokenizer, self.chat_template, messages, prefill_think)
        return single_bos(self.tokenizer(text, add_special_tokens=False)["input_ids"], self.tokenizer.bos_token_id)

    def generate(
        self, conversations: list[list[dict]], params: SamplingParams, progress: ProgressFn | None = None
    ) -> list[list[Completion]]:
        check_conversations(conversations)
        if self.llm is None:
            raise RuntimeError("this vllm backend was closed")
        prompts = [{"prompt_token_ids": self.prompt_ids(c, params.prefill_think)} for c in conversations]
        sampling = self._vllm.SamplingParams(
            n=draws(params),
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            seed=params.seed,
            stop=params.stop or None,
        )
        started = time.perf_counter()
        outputs = self.llm.generate(prompts, sampling, lora_request=self.lora, use_tqdm=progress is None)
        elapsed = time.perf_counter() - started
        results = []
        for out in outputs:
            comps = []
            for o in out.outputs:
                text, cut = finish_text(o.text, params)
                comps.append(
                    Completion(
                        text=text,
                        finish_reason="stop" if cut else (o.finish_reason or "stop"),
                        prompt_tokens=len(out.prompt_token_ids or []),
                        completion_tokens=len(o.token_ids),
                        latency_s=elapsed,
                    )
                )
            if progress:
                progress(1, sum(c.completion_tokens for c in comps))
            results.append(replicate(comps, params))
        return results

    def close(self) -> None:
        """Shut the engine down and release its GPU memory (idempotent)."""
        llm, self.llm = self.llm, None
        if llm is None:
            return
        shutdown = getattr(llm, "shutdown", None) or getattr(getattr(llm.llm_engine, "engine_core", None), "shutdown", None)
        if shutdown is not None:
            shutdown()
        del llm
        try:
            from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
        except ImportError:  # older layouts: memory is released by garbage collection below
            cleanup_dist_env_and_memory = None
        if cleanup_dist_env_and_memory is not None:
            cleanup_dist_env_and_memory()
        gc.collect()
        try:
            import torch
        except ImportError:
            return
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def __enter__(self) -> "VLLMBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict:
        return describe_local_model(self, self.settings, hf_path=str(self.resolved.hf_path))
