"""llama.cpp backend (llama-cpp-python, optional extra `recon-econ[llamacpp]`): fast single-stream CPU decoding.

The chat template is rendered here (from the GGUF's metadata unless one is given), so the exact prompt is
known and recorded; a transformers checkpoint or LoRA adapter is merged and converted to GGUF once."""

from __future__ import annotations

import os
import time
import weakref

from recon.inference.base import (
    Completion,
    ProgressFn,
    SamplingParams,
    ThinkState,
    answer_complete,
    check_conversations,
    describe_local_model,
    draws,
    finish_text,
    item_keys,
    item_seed,
    load_chat_template,
    render_chat,
    replicate,
    think_state,
)
from recon.inference.models import ensure_gguf, resolve_model


def import_llama_cpp():
    """llama_cpp, or a one-line error naming the `llamacpp` extra (it compiles llama.cpp, ~5-15 min on CPU)."""
    from recon.errors import require

    return require("llama_cpp", "llamacpp", "the llamacpp backend", "use --backend hf")


def use_plain_cpu_buffers() -> None:
    """Make every new llama.cpp model use plain CPU weight buffers.

    llama.cpp's extra CPU buffer types (AMX / repacked weights) segfault on multi-token batches on some
    CPUs and VMs (seen here on a Xeon with AMX_INT8); plain buffers cost little for small models. This
    patches llama-cpp-python's default model params (process-wide), so `python -m llama_cpp.server` can be
    run through `recon.inference.llamacpp_server` with the same fix."""
    import llama_cpp.llama_cpp as lib

    if getattr(lib.llama_model_default_params, "recon_plain_buffers", False):
        return
    default_params = lib.llama_model_default_params

    def plain_params():
        params = default_params()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    plain_params.recon_plain_buffers = True
    lib.llama_model_default_params = plain_params


class LlamaCppBackend:
    """Generate with llama.cpp from a GGUF (the default SmolLM2 ships as one)."""

    name = "llamacpp"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_ctx: int = 4096,
        threads: int | None = None,
        n_gpu_layers: int = 0,
        chat_template: str | None = None,
        cache_dir: str | None = None,
        gguf_outtype: str = "f16",
        extra_buffers: bool = False,
    ):
        llama_cpp = import_llama_cpp()
        if not extra_buffers:
            use_plain_cpu_buffers()
        self.extra_buffers = extra_buffers
        self.spec = model
        self.resolved = resolve_model(model, cache_dir, materialize_hf=False)
        self.gguf_path = ensure_gguf(self.resolved, cache_dir, outtype=gguf_outtype)
        # Half the cores by default (llama.cpp's own choice): more threads than free cores makes its
        # spinning workers collapse (measured here: 5x slower with 2 threads on a busy 2-core machine).
        self.threads = threads or max(1, (os.cpu_count() or 2) // 2)
        self.n_ctx = n_ctx
        self.n_gpu_layers = n_gpu_layers
        self.llm = llama_cpp.Llama(
            model_path=str(self.gguf_path),
            n_ctx=n_ctx,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            n_gpu_layers=n_gpu_layers,
            verbose=False,
        )
        # Free the model deterministically (llama-cpp-python's __del__ fails noisily at interpreter exit).
        weakref.finalize(self, self.llm.close)
        self.chat_template = load_chat_template(chat_template) or self.llm.metadata.get("tokenizer.chat_template")
        if not self.chat_template:
            raise ValueError(f"{self.gguf_path} has no tokenizer.chat_template; pass chat_template= (Jinja file or text)")
        self.special_tokens = {
            "bos_token": self._token_text(self.llm.token_bos()),
            "eos_token": self._token_text(self.llm.token_eos()),
        }

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def render(self, messages: list[dict], prefill_think: bool = False) -> tuple[str, ThinkState]:
        """The generation prompt (with `<think>\\n` appended by the thinking rule) and its `ThinkState`."""
        prompt = render_chat(self.chat_template, messages, **self.special_tokens)
        state = think_state(prompt, prefill_think)
        return prompt + state.prefill, state

    def generate(
        self,
        conversations: list[list[dict]],
        params: SamplingParams,
        progress: ProgressFn | None = None,
        keys: list[str] | None = None,
    ) -> list[list[Completion]]:
        check_conversations(conversations)
        results = []
        for messages, key in zip(conversations, item_keys(conversations, keys)):
            prompt, state = self.render(messages, params.prefill_think)
            tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) + params.max_tokens > self.n_ctx:
                raise ValueError(
                    f"prompt of {len(tokens)} tokens + max_tokens {params.max_tokens} exceeds n_ctx={self.n_ctx}"
                )
            # greedy samples are identical: decode once
            comps = [self._one(tokens, params, state, item_seed(params.seed, key, k)) for k in range(draws(params))]
            if progress:  # before replicating: a greedy completion's tokens count once
                progress(1, sum(c.completion_tokens for c in comps))
            results.append(replicate(comps, params))
        return results

    def _one(self, prompt_tokens: list[int], params: SamplingParams, state: ThinkState, seed: int) -> Completion:
        import llama_cpp

        width = len(prompt_tokens)
        llm = self.llm
        checked = {"at": width, "done": False}

        def detokenize(ids) -> str:
            return llm.detokenize(list(ids), special=False).decode("utf-8", errors="ignore")

        def answered(input_ids, _logits) -> bool:
            # Called once per token (and again after the last): re-check the whole text only when the new
            # tokens hold a `}`, since a box closes on nothing else. Sticky: llama-cpp-python's final call
            # must answer True again for the completion to end as "stop".
            if not checked["done"] and len(input_ids) > checked["at"]:
                new = detokenize(input_ids[checked["at"] :])
                checked["at"] = len(input_ids)
                if "}" in new:
                    checked["done"] = answer_complete(state.opened + detokenize(input_ids[width:]), state.thinking)
            return checked["done"]

        started = time.perf_counter()
        out = llm.create_completion(
            prompt_tokens,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
            stop=params.stop or None,
            seed=seed,
            stopping_criteria=llama_cpp.StoppingCriteriaList([answered]) if params.stop_at_answer else None,
        )
        elapsed = time.perf_counter() - started
        choice = out["choices"][0]
        text, cut = finish_text(choice["text"], params, state)
        usage = out.get("usage") or {}
        return Completion(
            text=text,
            finish_reason="stop" if cut else (choice.get("finish_reason") or "stop"),
            prompt_tokens=usage.get("prompt_tokens", width),
            completion_tokens=usage.get("completion_tokens", 0),
            latency_s=elapsed,
        )

    def describe(self) -> dict:
        import llama_cpp

        settings = {
            "n_ctx": self.n_ctx,
            "threads": self.threads,
            "n_gpu_layers": self.n_gpu_layers,
            "extra_buffers": self.extra_buffers,
            "sampler": "temperature/top_p only (top_k=0, min_p=0, repeat_penalty=1)",
            "llama_cpp_python": llama_cpp.__version__,
        }
        return describe_local_model(self, settings, gguf_path=str(self.gguf_path))
