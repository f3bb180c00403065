"""Concurrent matches with batched LLM requests: each match plays on its own thread, and the calling
thread serves their `generate` requests, so the backend (vLLM's offline engine is not thread-safe) is only
ever called from there, with one call per backend and sampling params for all requests pending at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from recon.inference.base import item_keys


@dataclass(eq=False)
class _Request:
    backend: Any
    conversations: list
    params: Any
    keys: list[str]
    result: list | None = None
    error: BaseException | None = None

    @property
    def answered(self) -> bool:
        return self.result is not None or self.error is not None


class Coalescer:
    """Runs tasks on threads (`map`) while the calling thread answers their `generate` requests in batches:
    a batch goes out when every running task waits on a request, or when no request came for `wait_s`
    seconds (a task busy with something else, such as an MCTS search)."""

    def __init__(self, wait_s: float = 0.05):
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._running = 0
        self._unfinished = 0
        self._error: BaseException | None = None

    def generate(self, backend, conversations: list[list[dict]], params, keys: list[str] | None = None) -> list:
        """`backend.generate(conversations, params, keys=keys)`, answered in a batch; called from a task."""
        request = _Request(backend, conversations, params, item_keys(conversations, keys))
        with self._cond:
            if self._error is not None:
                raise RuntimeError("the arena stopped before this request was sent") from self._error
            self._pending.append(request)
            self._cond.notify_all()
            while not request.answered:
                self._cond.wait()
        if request.error is not None:
            raise request.error
        return request.result

    def map(self, fn: Callable[[Any], None], items: Iterable, workers: int) -> None:
        """`fn(item)` for every item, at most `workers` at once. After the first error no new item starts,
        and it is raised once the running ones have finished."""
        items = list(items)
        self._unfinished = len(items)
        with ThreadPoolExecutor(workers) as pool:
            for item in items:
                pool.submit(self._task, fn, item)
            try:
                self._serve()
            except BaseException as exc:  # Ctrl-C: fail the waiting requests so the threads end
                self._stop(exc)
                raise
        if self._error is not None:
            raise self._error

    def _task(self, fn, item) -> None:
        with self._cond:
            skip = self._error is not None
            self._running += not skip
        try:
            if not skip:
                fn(item)
        except BaseException as exc:
            self._stop(exc)
        finally:
            with self._cond:
                self._running -= not skip
                self._unfinished -= 1
                self._cond.notify_all()

    def _stop(self, exc: BaseException) -> None:
        with self._cond:
            self._error = self._error or exc
            for request in self._pending:
                request.error = RuntimeError("the arena stopped before this request was sent")
            self._pending = []
            self._cond.notify_all()

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._pending and self._unfinished:
                    self._cond.wait()
                if not self._pending:
                    return
                while len(self._pending) < self._running and self._cond.wait(self.wait_s):
                    pass
                batch, self._pending = self._pending, []
            self._answer(batch)

    def _answer(self, batch: list[_Request]) -> None:
        """One `generate` call per backend and params for the batch's requests, in arrival order."""
        groups: list[list[_Request]] = []
        for request in batch:
            group = next((g for g in groups if g[0].backend is request.backend and g[0].params == request.params), None)
            if group is None:
                groups.append([request])
            else:
                group.append(request)
        try:
            for group in groups:
                conversations = [c for r in group for c in r.conversations]
                keys = [k for r in group for k in r.keys]
                try:
                    out = group[0].backend.generate(conversations, group[0].params, keys=keys)
                except Exception as exc:
                    for r in group:
                        r.error = exc
                    continue
                start = 0
                for r in group:
                    r.result, start = out[start : start + len(r.conversations)], start + len(r.conversations)
        finally:
            with self._cond:
                for r in batch:
                    if not r.answered:
                        r.error = RuntimeError("the arena stopped before this request was answered")
                self._cond.notify_all()


class BatchedBackend:
    """A backend as the match threads see it: its requests go through a `Coalescer`."""

    def __init__(self, backend, coalescer: Coalescer):
        self.backend, self.coalescer = backend, coalescer

    def generate(self, conversations: list[list[dict]], params, keys: list[str] | None = None) -> list:
        return self.coalescer.generate(self.backend, conversations, params, keys)

    def describe(self) -> dict:
        return self.backend.describe()
