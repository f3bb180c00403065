"""The one small interface every backend implements: chat conversations + sampling params → n completions each."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
THINK_PREFILL = THINK_OPEN + "\n"

# Called by a backend as work finishes: (conversations finished, completion tokens generated) since the last call.
ProgressFn = Callable[[int, int], None]


@dataclass
class SamplingParams:
    """How to sample. `temperature=0` is greedy. `seed` makes sampling reproducible per backend.

    `stop_at_answer` ends a completion as soon as its final `\\boxed{…}` (after `</think>` when the
    model thinks) is complete. `prefill_think`: the run thinks, so the assistant turn starts inside
    `<think>` — prefilled with `<think>\\n` unless the chat template already opens it (DeepSeek-R1's
    does); see `think_state`. The open think block is kept at the start of `Completion.text`.
    """

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int = 0
    stop: list[str] = field(default_factory=list)
    stop_at_answer: bool = True
    prefill_think: bool = False

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if not 0 <= self.temperature < float("inf"):  # NaN and infinity too
            raise ValueError(f"temperature must be a number >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        self.stop = [s for s in self.stop if s]

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Completion:
    """One generated answer. `text` includes a prefilled `<think>\\n`; `reasoning` holds a server's
    separate reasoning channel (`reasoning_content`), if any. A failed request has `error` set."""

    text: str
    reasoning: str | None = None
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: str | None = None

    @property
    def full_text(self) -> str:
        """What to grade: a separate reasoning channel is put back inside `<think>…</think>`."""
        if self.reasoning and "</think>" not in self.text:
            return f"<think>\n{self.reasoning}\n</think>\n{self.text}"
        return self.text

    def to_dict(self) -> dict:
        return asdict(self)


@runtime_checkable
class Backend(Protocol):
    """A text generator. `generate` returns, for each conversation in order, `params.n` completions, each
    with its own latency; a sampled completion depends only on (`params.seed`, the item's key, the sample
    index), never on the other conversations of the call."""

    name: str

    def generate(
        self,
        conversations: list[list[dict]],
        params: SamplingParams,
        progress: ProgressFn | None = None,
        keys: list[str] | None = None,
    ) -> list[list[Completion]]:
        """Sample `k` of conversation `i` is seeded by `item_seed(params.seed, keys[i], k)` (`item_keys`)."""
        ...

    def describe(self) -> dict:
        """Model id/path, revision, chat template text and backend settings, recorded with results."""
        ...


@contextlib.contextmanager
def closing_backend(backend):
    """Use `backend`, then release what it holds (its `close()`: a vLLM engine's GPU memory, a transformers
    model). Backends that hold nothing have no `close()`, and this is a no-op for them."""
    try:
        yield backend
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()


def describe_local_model(backend, settings: dict, **paths: str) -> dict:
    """`describe()` of a backend that runs a resolved local model (`backend.spec`, `.resolved`,
    `.chat_template`): the model's `paths` (`hf_path=…`, `gguf_path=…`), adapter, revision and template."""
    adapter = backend.resolved.adapter_path
    return {
        "backend": backend.name,
        "model": backend.spec,
        **paths,
        "adapter_path": str(adapter) if adapter else None,
        "revision": backend.resolved.revision,
        "chat_template": backend.chat_template,
        "settings": settings,
    }


def answer_complete(text: str, thinking: bool) -> bool:
    """True once the final answer is written: a closed `\\boxed{…}` after `</think>` (when the model
    thinks: a `<think>` was opened or prefilled), or anywhere in the text otherwise."""
    from recon.grading import find_boxed

    if thinking or "<think>" in text:
        cut = text.rfind("</think>")
        return cut >= 0 and bool(find_boxed(text[cut + len("</think>") :]))
    return bool(find_boxed(text))


def answer_end(text: str, thinking: bool) -> int | None:
    """Offset just past the first complete final `\\boxed{…}`, or None (see `answer_complete`)."""
    from recon.grading import find_boxed

    start = 0
    if thinking or "<think>" in text:
        cut = text.rfind("</think>")
        if cut < 0:
            return None
        start = cut + len("</think>")
    region = text[start:]
    boxes = find_boxed(region)
    if not boxes:
        return None
    offset, content = boxes[0]
    # The box ends at the closing brace after its content: find it from the content's end.
    close = region.index("{", offset) + 1 + len(content)
    return start + close + 1


@dataclass(frozen=True)
class ThinkState:
    """Where a completion starts, given its rendered prompt. `thinking`: it starts inside a think block
    (the template opened one, or `prefill` does); `prefill`: text to append to the prompt (`<think>\\n` or
    nothing); `opened`: the open think block's text at the prompt's end plus the prefill, which is put in
    front of the generated text so that `Completion.text` shows the whole assistant turn."""

    thinking: bool
    prefill: str
    opened: str


def open_think_block(prompt: str) -> str:
    """The text from the prompt's last `<think>` to its end when that block is still open (the template
    ends inside `<think>`, as DeepSeek-R1's does), else ''."""
    at = prompt.rfind(THINK_OPEN)
    return prompt[at:] if at >= 0 and THINK_CLOSE not in prompt[at:] else ""


def think_state(prompt: str, run_thinks: bool) -> ThinkState:
    """The one thinking rule of eval, games and GRPO: a completion is thinking when the run thinks or
    its rendered prompt already ends inside `<think>`; `<think>\\n` is prefilled only when the run thinks
    and the prompt does not already open the block (never a second `<think>`)."""
    opened = open_think_block(prompt)
    prefill = THINK_PREFILL if run_thinks and not opened else ""
    return ThinkState(thinking=bool(run_thinks or opened), prefill=prefill, opened=opened + prefill)


def truncate_completion(text: str, params: SamplingParams, thinking: bool | None = None) -> tuple[str, bool]:
    """Cut `text` at the first stop string (excluded, as OpenAI does) and, with `stop_at_answer`,
    just after the final boxed answer (after `</think>` when `thinking`, the effective state from
    `think_state`; `params.prefill_think` when not given). Returns (text, whether it was cut)."""
    cut = len(text)
    for stop in params.stop:
        at = text.find(stop)
        if at >= 0:
            cut = min(cut, at)
    if params.stop_at_answer:
        end = answer_end(text[:cut], params.prefill_think if thinking is None else thinking)
        if end is not None:
            cut = min(cut, end)
    return text[:cut], cut < len(text)


def finish_text(raw: str, params: SamplingParams, state: ThinkState | None = None, *, prefix_if_missing: bool = False) -> tuple[str, bool]:
    """A backend's generated `raw` text as `Completion.text`: the open think block (`state.opened`: the
    template's `<think>…` and/or the prefill) put back in front and cut by `truncate_completion` with the
    effective thinking state. Without `state` (a server-side template), the prefill alone counts. With
    `prefix_if_missing`, the block is added only when `raw` does not already start with it (a server or
    script may echo it)."""
    if state is None:
        state = ThinkState(params.prefill_think, THINK_PREFILL if params.prefill_think else "", THINK_PREFILL if params.prefill_think else "")
    if state.opened and not (prefix_if_missing and raw.startswith(state.opened)):
        raw = state.opened + raw
    return truncate_completion(raw, params, state.thinking)


def item_keys(conversations: list[list[dict]], keys: list[str] | None) -> list[str]:
    """The key that seeds each conversation's samples: the caller's item key (eval: problem id and option
    order), else the conversation itself, so that a sample never depends on which other items share its
    call."""
    if keys is None:
        return [json.dumps(c, sort_keys=True, ensure_ascii=False) for c in conversations]
    if len(keys) != len(conversations):
        raise ValueError(f"{len(keys)} keys for {len(conversations)} conversations")
    return [str(k) for k in keys]


def item_seed(seed: int, key: str, sample: int) -> int:
    """The seed of one sampled completion: from the run seed, the item's key and the sample index only
    (31 bits: every backend's seed type holds it)."""
    digest = hashlib.sha256(f"{seed}\x1f{key}\x1f{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def draws(params: SamplingParams) -> int:
    """How many completions a backend must generate per conversation: greedy ones are identical, so one."""
    return 1 if params.greedy else params.n


def replicate(comps: list[Completion], params: SamplingParams) -> list[Completion]:
    """The `params.n` completions of a conversation from its `draws(params)` generated ones (a greedy
    completion repeated). Report progress before replicating, so repeated tokens are not counted."""
    comps = list(comps)
    return comps * params.n if params.greedy else comps


def load_chat_template(chat_template: str | None) -> str | None:
    """A template given as Jinja text or as the path of a file holding it."""
    if not chat_template or "{{" in chat_template or "{%" in chat_template:
        return chat_template
    path = Path(chat_template)
    if not path.is_file():
        raise FileNotFoundError(f"chat template file not found: {path}")
    return path.read_text()


def render_chat(
    template: str, messages: list[dict], *, add_generation_prompt: bool = True, **special_tokens: str
) -> str:
    """Render a Jinja chat template exactly as transformers does (sandboxed environment)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(f"chat template error: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    env.filters["tojson"] = lambda x, **kw: __import__("json").dumps(x, ensure_ascii=False, **kw)
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt, **special_tokens)


def render_with_tokenizer(tokenizer, chat_template: str, messages: list[dict], prefill_think: bool = False) -> tuple[str, ThinkState]:
    """The generation prompt of a conversation through a transformers tokenizer's chat template, with
    `<think>\\n` appended by the thinking rule (`think_state`), and that state."""
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, chat_template=chat_template)
    state = think_state(prompt, prefill_think)
    return prompt + state.prefill, state


def check_conversations(conversations: list[list[dict]]) -> None:
    """Fail clearly on malformed input instead of deep inside a backend."""
    if not isinstance(conversations, list):
        raise TypeError("conversations must be a list of message lists")
    for i, conv in enumerate(conversations):
        if not conv or not all(isinstance(m, dict) and "role" in m and "content" in m for m in conv):
            raise ValueError(f"conversation {i} must be a non-empty list of {{'role', 'content'}} dicts")
