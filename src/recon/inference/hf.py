"""transformers backend: batched generation with left padding, length-sorted batches, stop strings and
early stop once the final boxed answer is complete. CPU or GPU."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

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
    render_with_tokenizer,
    replicate,
)
from recon.inference.models import resolve_model

# CPU flags of native bf16 arithmetic (AMX tiles, AVX-512 BF16); without them bf16 matmuls are emulated
# and run many times slower than float32 (28× measured on an AVX2-only EPYC).
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The feature flags of the CPU (`/proc/cpuinfo`, or the given text of one); empty when unknown."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return flags


def auto_dtype(device: str, cpuinfo: str | None = None) -> str:
    """`dtype: auto`: bfloat16 on CUDA and on CPUs with native bf16, float32 on other CPUs."""
    if device.startswith("cuda"):
        return "bfloat16"
    return "bfloat16" if cpu_flags(cpuinfo) & set(NATIVE_BF16_FLAGS) else "float32"


def auto_threads() -> int:
    """`threads: auto`: $OMP_NUM_THREADS when set (an oversubscribed machine), else the cores this
    process may run on."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class HFBackend:
    """Generate with a transformers causal LM (a LoRA adapter is merged in for speed when the weights are float32)."""

    name = "hf"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        device: str | None = None,
        dtype: str = "auto",
        batch_size: int = 16,
        chat_template: str | None = None,
        threads: int | str | None = None,
        cache_dir: str | None = None,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if threads:
            torch.set_num_threads(auto_threads() if threads == "auto" else int(threads))
        self.spec = model
        self.resolved = resolve_model(model, cache_dir)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = auto_dtype(self.device) if dtype in (None, "auto") else dtype
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.resolved.tokenizer_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat_template = load_chat_template(chat_template) or self.tokenizer.chat_template
        if not self.chat_template:
            raise ValueError(f"{model!r} has no chat template; pass chat_template= (a Jinja file or text)")
        net = AutoModelForCausalLM.from_pretrained(self.resolved.hf_path, dtype=getattr(torch, self.dtype))
        if self.resolved.adapter_path:
            from peft import PeftModel

            net = PeftModel.from_pretrained(net, str(self.resolved.adapter_path))
            # Merge only into float32 weights: an SFT delta (~0.3% of |W|) is below bf16's spacing, so a merge
            # into half-precision weights loses about half of it. In half precision the adapter stays a
            # float32 side branch (PEFT's default), slower but the trained model.
            if self.dtype == "float32":
                net = net.merge_and_unload()
        self.model = net.to(self.device).train(False)  # inference mode: dropout off
        eos = self.model.generation_config.eos_token_id
        eos_ids = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {i for i in [*eos_ids, self.tokenizer.eos_token_id] if i is not None}

    def render(self, messages: list[dict], prefill_think: bool = False) -> str:
        return render_with_tokenizer(self.tokenizer, self.chat_template, messages, prefill_think)[0]

    def generate(
        self,
        conversations: list[list[dict]],
        params: SamplingParams,
        progress: ProgressFn | None = None,
        keys: list[str] | None = None,
    ) -> list[list[Completion]]:
        check_conversations(conversations)
        rendered = [render_with_tokenizer(self.tokenizer, self.chat_template, c, params.prefill_think) for c in conversations]
        encoded = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p, _ in rendered]
        # One row per (conversation, sample), each seeded by its own item key and sample index: a row's
        # draws do not depend on its batch-mates. Greedy samples are identical: one row per conversation.
        rows = [(i, k) for i in range(len(conversations)) for k in range(draws(params))]
        rows.sort(key=lambda row: -len(encoded[row[0]]))
        keyed = item_keys(conversations, keys)
        generated: list[list[tuple[int, Completion]]] = [[] for _ in conversations]
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            completions = self._generate_batch(
                [encoded[i] for i, _ in batch],
                [rendered[i][1] for i, _ in batch],
                [item_seed(params.seed, keyed[i], k) for i, k in batch],
                params,
            )
            for (i, k), completion in zip(batch, completions):
                generated[i].append((k, completion))
            if progress:  # before replicating: a greedy completion's tokens count once
                finished = sum(len(generated[i]) == draws(params) for i in {i for i, _ in batch})
                progress(finished, sum(c.completion_tokens for c in completions))
        return [replicate([c for _, c in sorted(comps, key=lambda kc: kc[0])], params) for comps in generated]

    def _generate_batch(
        self, batch_ids: list[list[int]], states: list[ThinkState], seeds: list[int], params: SamplingParams
    ) -> list[Completion]:
        """One completion per row; sampled rows draw from their own generator seeded by `seeds`."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        width = max(len(ids) for ids in batch_ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch_ids], device=self.device)
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch_ids], device=self.device)
        # Sampling is done by `_RowSampler` (one generator per row), which leaves one finite score per row:
        # the search itself is greedy.
        config = GenerationConfig(
            max_new_tokens=params.max_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=pad,
            eos_token_id=sorted(self.eos_ids),
        )
        processors = LogitsProcessorList([] if params.greedy else [_RowSampler(seeds, params.temperature, params.top_p)])
        stopper = _TextStopper(self.tokenizer, width, params, [s.thinking for s in states], self.eos_ids)
        started = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=StoppingCriteriaList([stopper]),
            )
        ended = time.perf_counter()
        return [
            self._completion(out[row, width:].tolist(), len(ids), params, state, stopper.finished.get(row, ended) - started)
            for row, (ids, state) in enumerate(zip(batch_ids, states))
        ]

    def _completion(self, row: list[int], prompt_tokens: int, params: SamplingParams, state: ThinkState, latency: float) -> Completion:
        generated, hit_eos = [], False
        for token in row:
            if token in self.eos_ids:
                hit_eos = True
                break
            generated.append(token)
        if not hit_eos:  # rows that stopped early are padded after their last token
            while generated and generated[-1] == self.tokenizer.pad_token_id:
                generated.pop()
        raw = self.tokenizer.decode(generated, skip_special_tokens=True)
        text, cut = finish_text(raw, params, state)
        finish = "stop" if hit_eos or cut or len(generated) < params.max_tokens else "length"
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(generated),
            latency_s=round(latency, 4),
        )

    def close(self) -> None:
        """Release the model (GPU memory when on CUDA) before another backend loads one."""
        import torch

        self.model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def describe(self) -> dict:
        import transformers

        settings = {
            "device": self.device,
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            "transformers": transformers.__version__,
        }
        return describe_local_model(self, settings, hf_path=str(self.resolved.hf_path))


class _TextStopper:
    """Per-row stop: a stop string appeared, or the final boxed answer is complete.

    Called after every generated token, so each call looks only at what is new since the last one (the
    text before it was already checked): stop strings are searched in the decoded tail (the new tokens
    plus at least the longest stop's length of earlier text), and the answer is re-checked in full only
    when the new text holds a `}` (a box closes on nothing else). A row's first check decodes it all."""

    MARGIN = 8  # characters of extra context, so a tail cut mid-character or mid-word hides no stop

    def __init__(self, tokenizer, prompt_width: int, params: SamplingParams, thinking: list[bool], eos_ids: set[int]):
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width
        self.stops = params.stop
        self.at_answer = params.stop_at_answer
        self.thinking = thinking  # per row: the effective state of `think_state`
        self.eos_ids = eos_ids
        self.context = max((len(s) for s in self.stops), default=0) + self.MARGIN
        self.done: dict[int, bool] = {}
        self.checked: dict[int, int] = {}  # row -> generated tokens at its last check
        self.finished: dict[int, float] = {}  # row -> when it stopped or wrote EOS (its own latency)

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        generated = input_ids[:, self.prompt_width :]
        now = time.perf_counter()
        flags = []
        for i in range(input_ids.shape[0]):
            if not self.done.get(i) and (self.stops or self.at_answer):
                seen = self.checked.get(i, 0)
                self.checked[i] = generated.shape[1]
                self.done[i] = self._check(generated[i], seen, self.thinking[i])
            if i not in self.finished and (self.done.get(i) or int(generated[i, -1]) in self.eos_ids):
                self.finished[i] = now
            flags.append(bool(self.done.get(i)))
        return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    def _decode(self, ids) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _check(self, row, seen: int, thinking: bool) -> bool:
        """Whether `row` (generated ids) stops, given that its first `seen` tokens did not."""
        new = self._decode(row[seen:])
        if not new:  # padding after EOS, a skipped special token: nothing new to find
            return False
        if self.stops:
            start, width = seen, self.context  # widen the context until it holds `self.context` characters
            while start > 0:
                start = max(0, seen - width)
                if len(self._decode(row[start:seen])) >= self.context:
                    break
                width *= 2
            tail = self._decode(row[start:])
            if any(s in tail for s in self.stops):
                return True
        return self.at_answer and "}" in new and answer_complete(self._decode(row), thinking)


class _RowSampler:
    """Temperature/top-p sampling with one `torch.Generator` per row, seeded per item and sample: a row
    draws the same tokens whatever its batch-mates. Returns scores where only the drawn token is finite,
    so that greedy search takes it."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float):
        import torch
        from transformers import TemperatureLogitsWarper, TopPLogitsWarper

        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.warpers = [TemperatureLogitsWarper(temperature)] + ([TopPLogitsWarper(top_p)] if top_p < 1 else [])

    def __call__(self, input_ids, scores):
        import torch

        for warper in self.warpers:
            scores = warper(input_ids, scores)
        probs = torch.softmax(scores.float(), dim=-1).cpu()
        drawn = torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)])
        chosen = torch.full_like(scores, float("-inf"))
        chosen[torch.arange(scores.shape[0]), drawn.to(scores.device)] = 0.0
        return chosen
