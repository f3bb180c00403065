"""A deterministic backend for tests of the evaluator, games and distillation: no model, scripted answers."""

from __future__ import annotations

import hashlib
import inspect
from typing import Callable

from recon.inference.base import (
    Completion,
    ProgressFn,
    SamplingParams,
    check_conversations,
    finish_text,
)

Responder = Callable[[list[dict]], str]


def _positional_count(fn: Callable) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


class ScriptedBackend:
    """Answers from a script.

    `respond` is one of:
    - a callable `messages -> text` (may also accept `(messages, sample_index)`),
    - a dict mapping the last user message's content (exact) to a text, or a list of texts cycled over samples,
    - a list of texts returned in call order (cycling).
    `revision` names the script in results (default: a hash of the script's repr, or of a callable's
    qualified name).
    Stop strings and `stop_at_answer` are applied as a real backend would; a response that raises
    becomes `Completion(error=...)`.
    """

    name = "scripted"

    def __init__(self, respond: Responder | dict | list, default: str | None = None, revision: str | None = None):
        if not (callable(respond) or isinstance(respond, (dict, list))):
            raise TypeError("respond must be a callable, a dict or a list of texts")
        if isinstance(respond, list) and not respond:
            raise ValueError("a scripted list of responses must not be empty")
        self.respond = respond
        self.default = default
        self.revision = revision
        self._takes_sample = callable(respond) and _positional_count(respond) >= 2
        self.calls: list[list[dict]] = []
        self._next = 0

    def _text(self, messages: list[dict], sample: int) -> str:
        if callable(self.respond):
            return self.respond(messages, sample) if self._takes_sample else self.respond(messages)
        if isinstance(self.respond, dict):
            key = messages[-1]["content"]
            if key not in self.respond:
                if self.default is None:
                    raise KeyError(f"no scripted response for prompt starting {key[:60]!r}")
                return self.default
            value = self.respond[key]
            return value[sample % len(value)] if isinstance(value, list) else value
        text = self.respond[self._next % len(self.respond)]
        self._next += 1
        return text

    def generate(
        self,
        conversations: list[list[dict]],
        params: SamplingParams,
        progress: ProgressFn | None = None,
        keys: list[str] | None = None,
    ) -> list[list[Completion]]:
        check_conversations(conversations)
        out = []
        for messages in conversations:
            self.calls.append(messages)
            completions = []
            for sample in range(params.n):
                try:
                    raw = self._text(messages, sample)
                except Exception as exc:  # a scripted failure is recorded like a failed request
                    completions.append(Completion("", finish_reason="error", error=f"{type(exc).__name__}: {exc}"))
                    continue
                text, cut = finish_text(raw, params, prefix_if_missing=True)
                words = text.split()
                finish = "stop" if cut else ("length" if len(words) > params.max_tokens else "stop")
                completions.append(
                    Completion(
                        text=" ".join(words[: params.max_tokens]) if len(words) > params.max_tokens else text,
                        finish_reason=finish,
                        prompt_tokens=sum(len(m["content"].split()) for m in messages),
                        completion_tokens=min(len(words), params.max_tokens),
                    )
                )
            out.append(completions)
            if progress:
                progress(1, sum(c.completion_tokens for c in completions))
        return out

    def describe(self) -> dict:
        script = repr(self.respond) if not callable(self.respond) else getattr(self.respond, "__qualname__", "callable")
        return {
            "backend": self.name,
            "model": "scripted",
            "revision": self.revision or hashlib.sha256(script.encode()).hexdigest()[:16],
            "chat_template": None,
            "settings": {"tokens": "whitespace-separated words"},
        }
