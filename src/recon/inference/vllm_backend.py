"""vLLM backend for GPU users (optional extra `recon[vllm]`): offline `vllm.LLM`, LoRA adapters served
through `LoRARequest` without merging. It needs a CUDA GPU and is not exercised by the CPU test suite.

    recon eval --backend vllm --model Qwen/Qwen2.5-7B-Instruct --think required
    recon eval --backend vllm --model runs/grpo/checkpoint-500   # a LoRA adapter folder: base + adapter
"""

from __future__ import annotations

import time

from recon.inference.base import (
    Completion,
    ProgressFn,
    SamplingParams,
    check_conversations,
    finish_text,
    load_chat_template,
    render_with_tokenizer,
)
from recon.inference.models import resolve_model


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
        max_lora_rank: int = 64,
        dtype: str = "auto",
        cache_dir: str | None = None,
    ):
        try:
            import vllm
            from vllm.lora.request import LoRARequest
        except ImportError as exc:
            raise ImportError(
                "the vllm backend needs vLLM and a CUDA GPU: pip install 'recon[vllm]' (see README, GPU section); "
                "on CPU use --backend llamacpp or hf"
            ) from exc
        self.spec = model
        self.resolved = resolve_model(model, cache_dir)
        self.settings = {
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
            "tensor_parallel_size": tensor_parallel_size,
            "dtype": dtype,
            "vllm": vllm.__version__,
        }
        self.llm = vllm.LLM(
            model=str(self.resolved.hf_path),
            enable_lora=self.resolved.adapter_path is not None,
            max_lora_rank=max_lora_rank,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
        )
        self.lora = (
            LoRARequest("adapter", 1, str(self.resolved.adapter_path)) if self.resolved.adapter_path else None
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.chat_template = load_chat_template(chat_template) or self.tokenizer.chat_template
        if not self.chat_template:
            raise ValueError(f"{model!r} has no chat template; pass chat_template= (a Jinja file or text)")
        self._vllm = vllm

    def render(self, messages: list[dict], prefill_think: bool = False) -> str:
        return render_with_tokenizer(self.tokenizer, self.chat_template, messages, prefill_think)

    def generate(
        self, conversations: list[list[dict]], params: SamplingParams, progress: ProgressFn | None = None
    ) -> list[list[Completion]]:
        check_conversations(conversations)
        prompts = [self.render(c, params.prefill_think) for c in conversations]
        sampling = self._vllm.SamplingParams(
            n=params.n,
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
            results.append(comps)
            if progress:
                progress(1, sum(c.completion_tokens for c in comps))
        return results

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "model": self.spec,
            "hf_path": str(self.resolved.hf_path),
            "adapter_path": str(self.resolved.adapter_path) if self.resolved.adapter_path else None,
            "revision": self.resolved.revision,
            "chat_template": self.chat_template,
            "settings": self.settings,
        }
