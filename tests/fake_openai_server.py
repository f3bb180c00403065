"""A small fault-injecting OpenAI-compatible server for tests (stdlib only, 127.0.0.1, free port).

A `responder(body, attempt)` decides each reply to `POST /v1/chat/completions`: `attempt` counts
earlier requests with the same messages (0 for the first), so a test can script "429 once, then
answer". It returns one `Reply` (repeated for `n` choices) or a list of `n` replies. Replies can be
errors (any status, optionally with `Retry-After`), hangs (sleep longer than the client's timeout),
truncated outputs (`finish_reason="length"`), with or without `reasoning_content`, and every
malformed HTTP-200 reply in `MALFORMED` (garbage, empty, HTML, JSON without or with empty `choices`,
`"message": null`, a body cut off mid-JSON). Streaming (`stream: true`) is served as server-sent events.

    with FakeOpenAIServer(responder) as server:
        client = OpenAI(base_url=server.url, api_key="x")
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

MODEL = "fake-teacher"


@dataclass
class Reply:
    """One scripted reply: an HTTP error when `status != 200`, else one choice."""

    content: str = ""
    reasoning: str | None = None
    finish_reason: str = "stop"
    status: int = 200
    hang_s: float = 0.0  # sleep before replying; longer than the client timeout = a hang
    retry_after: str | None = None  # a `Retry-After` header on an error reply
    raw: bytes | None = None  # a 200 reply with exactly this body (a malformed reply)
    content_type: str = "application/json"
    cut: bool = False  # announce the full body but close the connection halfway through it

    @classmethod
    def error(cls, status: int, retry_after: str | None = None) -> "Reply":
        return cls(status=status, retry_after=retry_after)

    @classmethod
    def malformed(cls, name: str) -> "Reply":
        """One of `MALFORMED` by name."""
        return MALFORMED[name]

    @classmethod
    def hang(cls, seconds: float) -> "Reply":
        return cls(hang_s=seconds)


Responder = Callable[[dict, int], "Reply | list[Reply]"]

_VALID = {"id": "x", "object": "chat.completion", "created": 0, "model": MODEL}
# HTTP-200 replies that are not a chat completion; a client must record each as a failed request.
MALFORMED: dict[str, Reply] = {
    "garbage": Reply(raw=b"{not json at all"),
    "empty": Reply(raw=b""),
    "html": Reply(raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"),
    "no_choices": Reply(raw=json.dumps(_VALID).encode()),
    "empty_choices": Reply(raw=json.dumps({**_VALID, "choices": []}).encode()),
    "null_message": Reply(raw=json.dumps({**_VALID, "choices": [{"index": 0, "message": None, "finish_reason": "stop"}]}).encode()),
    "not_an_object": Reply(raw=b"[1, 2, 3]"),
    "truncated": Reply(
        raw=json.dumps({**_VALID, "choices": [{"index": 0, "message": {"role": "assistant", "content": "x" * 200}}]}).encode(),
        cut=True,
    ),
}


def messages_key(body: dict) -> str:
    return json.dumps(body.get("messages", []), sort_keys=True)


class FakeOpenAIServer:
    """Runs in a daemon thread; use as a context manager. `calls` lists (messages key, attempt, status)."""

    def __init__(self, responder: Responder, model: str = MODEL):
        self.responder = responder
        self.model = model
        self.calls: list[tuple[str, int, int]] = []
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_attempt(self, key: str) -> int:
        with self._lock:
            attempt = self._attempts.get(key, 0)
            self._attempts[key] = attempt + 1
            return attempt

    def _record(self, key: str, attempt: int, status: int) -> None:
        with self._lock:
            self.calls.append((key, attempt, status))

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

            def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict | None = None, cut: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if cut:  # half the body, then the connection drops
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send_json(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self._send_json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send_json(404, {"error": {"message": "not found"}})
                    return
                key = messages_key(body)
                attempt = server._next_attempt(key)
                n = int(body.get("n") or 1)
                replies = server.responder(body, attempt)
                replies = replies if isinstance(replies, list) else [replies] * n
                first = replies[0]
                server._record(key, attempt, first.status)
                try:
                    if first.hang_s:
                        time.sleep(first.hang_s)
                    if first.status != 200:
                        headers = {"Retry-After": first.retry_after} if first.retry_after else None
                        self._send_json(first.status, {"error": {"message": f"injected {first.status}", "type": "injected"}}, headers)
                    elif first.raw is not None:
                        self._send_raw(200, first.raw, first.content_type, cut=first.cut)
                    elif body.get("stream"):
                        self._stream(body, replies)
                    else:
                        self._send_json(200, self._completion(body, replies))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): that is the point of a hang

            def _completion(self, body: dict, replies: list[Reply]) -> dict:
                choices = []
                for i, r in enumerate(replies):
                    message = {"role": "assistant", "content": r.content}
                    if r.reasoning is not None:
                        message["reasoning_content"] = r.reasoning
                    choices.append({"index": i, "message": message, "finish_reason": r.finish_reason})
                tokens = sum(len((r.content + (r.reasoning or "")).split()) for r in replies)
                return {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", server.model),
                    "choices": choices,
                    "usage": {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens},
                }

            def _stream(self, body: dict, replies: list[Reply]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

                def event(choices: list[dict], usage: dict | None = None) -> None:
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body.get("model", server.model),
                        "choices": choices,
                    }
                    if usage is not None:
                        chunk["usage"] = usage
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                for i, r in enumerate(replies):
                    if r.reasoning is not None:
                        event([{"index": i, "delta": {"role": "assistant", "reasoning_content": r.reasoning}, "finish_reason": None}])
                    event([{"index": i, "delta": {"role": "assistant", "content": r.content}, "finish_reason": None}])
                    event([{"index": i, "delta": {}, "finish_reason": r.finish_reason}])
                if (body.get("stream_options") or {}).get("include_usage"):
                    tokens = sum(len((r.content + (r.reasoning or "")).split()) for r in replies)
                    event([], {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler
