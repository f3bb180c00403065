"""Any OpenAI-compatible server (vLLM `serve`, llama.cpp server, hosted APIs) through the official client.

Bounded async concurrency; retries with exponential backoff (or the server's `Retry-After`, capped at
`max_backoff`) on 429, 5xx, timeouts, dropped connections and malformed HTTP-200 replies (not JSON, HTML,
no or empty `choices`, a null message, a body cut short); a request that still fails becomes
`Completion(error=...)`, never a crash. The API key is read from the
environment only (`api_key_env`, default `OPENAI_API_KEY`) and never logged or recorded."""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import threading
import time

from recon.inference.base import (
    THINK_PREFILL,
    Completion,
    ProgressFn,
    SamplingParams,
    check_conversations,
    draws,
    finish_text,
    item_keys,
    item_seed,
    load_chat_template,
    render_chat,
    replicate,
    think_state,
)

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class MalformedReply(ValueError):
    """An HTTP-200 reply that is not a usable completion."""


def _first_choice(response, chat: bool):
    """The reply's first choice, or `MalformedReply` saying what is wrong with the reply."""
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list):
        kind = type(response).__name__ if not hasattr(response, "choices") else "JSON without choices"
        raise MalformedReply(f"not a completion ({kind}: {_short(str(response), 80)})")
    if not choices:
        raise MalformedReply("empty choices")
    if chat and getattr(choices[0], "message", None) is None:
        raise MalformedReply("choice without a message")
    return choices[0]


def _retry_after(response) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if any."""
    value = (getattr(response, "headers", None) or {}).get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):  # neither seconds nor a date: our own backoff applies
        return None


class OpenAIBackend:
    """Chat completions against `base_url`.

    With `chat_template` set, prompts are rendered locally and sent to the `/completions` endpoint, so the
    exact prompt (and a `<think>\\n` prefill) is under our control; otherwise the server applies its own
    template (recorded as `server-side`) and a prefill is sent as a final assistant message with
    `continue_final_message` (vLLM)."""

    name = "openai"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        served_model: str | None = None,
        concurrency: int = 8,
        max_retries: int = 5,
        timeout: float = 120.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        chat_template: str | None = None,
    ):
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - openai is a core dependency
            raise ImportError("the openai backend needs the `openai` package: pip install openai") from exc
        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ValueError("concurrency must be >= 1, max_retries >= 0 and timeout > 0")
        self.spec = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.api_key_env = api_key_env
        self.served_model = served_model or model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.chat_template = load_chat_template(chat_template)
        self._openai = openai

    def _client(self):
        # The key goes straight from the environment to the client; it is stored nowhere else.
        return self._openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=os.environ.get(self.api_key_env) or "EMPTY",
            max_retries=0,  # retries are ours: counted, backed off and recorded
            timeout=self.timeout,
        )

    def generate(
        self,
        conversations: list[list[dict]],
        params: SamplingParams,
        progress: ProgressFn | None = None,
        keys: list[str] | None = None,
    ) -> list[list[Completion]]:
        check_conversations(conversations)
        coro = self._generate_all(conversations, item_keys(conversations, keys), params, progress)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # Called from inside an event loop (a notebook, an async caller): run in a helper thread.
        box: dict = {}
        thread = threading.Thread(target=lambda: box.update(result=asyncio.run(coro)))
        thread.start()
        thread.join()
        return box["result"]

    async def _generate_all(self, conversations, keys: list[str], params: SamplingParams, progress) -> list[list[Completion]]:
        limit = asyncio.Semaphore(self.concurrency)
        async with self._client() as client:

            async def one_conversation(messages, key):
                requests = (
                    self._request(client, limit, messages, params, item_seed(params.seed, key, k)) for k in range(draws(params))
                )
                comps = await asyncio.gather(*requests)
                if progress:  # before replicating: a greedy completion's tokens count once
                    progress(1, sum(c.completion_tokens for c in comps))
                return replicate(comps, params)

            return list(await asyncio.gather(*(one_conversation(m, key) for m, key in zip(conversations, keys))))

    async def _request(self, client, limit: asyncio.Semaphore, messages, params: SamplingParams, seed: int) -> Completion:
        openai = self._openai
        started = time.perf_counter()
        last_error = ""
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                async with limit:
                    completion = await self._call(client, messages, params, seed)
                completion.latency_s = time.perf_counter() - started
                return completion
            except openai.APIStatusError as exc:
                last_error = f"HTTP {exc.status_code}: {_short(exc.message)}"
                if exc.status_code not in RETRYABLE_STATUS:
                    break
                wait = _retry_after(exc.response)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                last_error = f"{type(exc).__name__}: {_short(str(exc))}"
            except (ValueError, openai.APIResponseValidationError) as exc:  # JSON, schema or MalformedReply
                last_error = f"malformed reply: {_short(str(exc))}"
            if attempt < self.max_retries:
                delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
                await asyncio.sleep(min(self.max_backoff, wait) if wait is not None else delay)
        return Completion(
            text="",
            finish_reason="error",
            latency_s=time.perf_counter() - started,
            error=f"{last_error} (after {attempt + 1} attempt{'s' if attempt else ''})",
        )

    async def _call(self, client, messages, params: SamplingParams, seed: int) -> Completion:
        common = dict(
            model=self.served_model,
            max_tokens=params.max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            seed=seed,
        )
        if params.stop:
            common["stop"] = params.stop[:4]
        state = None  # a server-side template: the prefill alone decides (`finish_text`)
        if self.chat_template:
            prompt = render_chat(self.chat_template, messages)
            state = think_state(prompt, params.prefill_think)
            response = await client.completions.create(prompt=prompt + state.prefill, **common)
            choice = _first_choice(response, chat=False)
            text, reasoning = choice.text or "", None
        else:
            extra = {}
            if params.prefill_think:
                messages = [*messages, {"role": "assistant", "content": THINK_PREFILL}]
                extra = {"extra_body": {"add_generation_prompt": False, "continue_final_message": True}}
            response = await client.chat.completions.create(messages=messages, **common, **extra)
            choice = _first_choice(response, chat=True)
            message = choice.message
            text = message.content or ""
            extras = getattr(message, "model_extra", None) or {}
            reasoning = getattr(message, "reasoning_content", None) or extras.get("reasoning_content") or extras.get("reasoning")
        text, cut = finish_text(text, params, state, prefix_if_missing=True)  # the server may echo the prefill
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            reasoning=reasoning,
            finish_reason="stop" if cut else (choice.finish_reason or "stop"),
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "model": self.spec,
            "served_model": self.served_model,
            "base_url": self.base_url,
            "revision": None,
            "chat_template": self.chat_template or "server-side (the server's own template for this model)",
            "settings": {
                "concurrency": self.concurrency,
                "max_retries": self.max_retries,
                "timeout_s": self.timeout,
                "backoff_s": self.backoff,
                "api_key_env": self.api_key_env,
                "openai": self._openai.__version__,
            },
        }


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"
