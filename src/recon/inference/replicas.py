"""Data-parallel replicas of a backend (`--backend-option replicas=N`): N copies of one backend, each in a
spawned worker process of its own pinned to one GPU (`CUDA_VISIBLE_DEVICES`, set before the worker imports
torch or vLLM; without CUDA the copies share the CPU). Each `generate` call's conversations are split into
at most N contiguous shards, answered in parallel and returned in the caller's order. A sample is seeded by
the run seed, its item's key and its index only (`item_seed`), so the output is the single backend's (up
to the floating-point rounding that another batching can move, as on any resume).
Cost: every replica loads the whole model (the paper's 7B in bf16: ~15 GB on each GPU) in a process of its
own (host RAM per worker)."""

from __future__ import annotations

import builtins
import multiprocessing
import os
import queue
import signal
import time
import traceback
import weakref
from typing import Any

from recon.errors import UserError
from recon.inference.base import Completion, ProgressFn, SamplingParams, check_conversations

# Seconds the workers have to close their backends (a vLLM engine's shutdown) once told to stop, before they are killed.
STOP_GRACE_S = 60.0
# How often a side that waits checks that the other side is still alive.
POLL_S = 1.0


class ReplicaError(RuntimeError):
    """A replica's worker died, or (as the cause of the exception re-raised in the parent) its traceback."""


def check_replicas(value: Any) -> int:
    """The `replicas` option as a whole number >= 1, else a UserError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"--backend-option replicas={value!r}: expected a whole number >= 1 (one backend copy per GPU)")
    return value


def replica_devices(replicas: int) -> list[str]:
    """Each replica's `CUDA_VISIBLE_DEVICES`: GPU i, or the i-th device of the parent's own
    `CUDA_VISIBLE_DEVICES` when that is set (empty: GPUs hidden, the replicas share the CPU)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return [str(i) for i in range(replicas)]
    devices = [d.strip() for d in visible.split(",") if d.strip()]
    if not devices:
        return [visible] * replicas
    if replicas > len(devices):
        raise UserError(f"--backend-option replicas={replicas}: CUDA_VISIBLE_DEVICES={visible} names only {len(devices)} devices")
    return devices[:replicas]


def shard_bounds(count: int, replicas: int) -> list[tuple[int, int]]:
    """Contiguous `[start, end)` ranges splitting `count` items over at most `replicas` workers, their sizes
    differing by at most one (no empty shard)."""
    shards = min(count, replicas)
    if shards == 0:
        return []
    size, extra = divmod(count, shards)
    bounds, start = [], 0
    for index in range(shards):
        end = start + size + (index < extra)
        bounds.append((start, end))
        start = end
    return bounds


class ReplicaBackend:
    """`replicas` copies of backend `name` built with `options`, one worker process each (see the module's
    docstring). `describe()` is the inner backend's: replicas change no result. `close()` stops the workers."""

    def __init__(self, name: str, model: str, options: dict[str, Any], replicas: int):
        context = multiprocessing.get_context("spawn")
        self.name = name
        self.devices = replica_devices(replicas)
        self.results = context.Queue()
        self.inboxes = [context.Queue() for _ in self.devices]
        self.workers = [
            context.Process(target=_serve, args=(index, device, name, model, options, inbox, self.results), name=f"recon-replica-{index}")
            for index, (device, inbox) in enumerate(zip(self.devices, self.inboxes))
        ]
        self._stop = weakref.finalize(self, _stop_workers, self.workers, self.inboxes)
        try:
            for worker in self.workers:
                worker.start()
            ready = self._collect(range(replicas), None)
        except BaseException:
            self.close()
            raise
        self.description, per_call = ready[0]
        # A backend that schedules its own batches (vLLM) takes its own share of prompts on every replica.
        self.prompts_per_call = per_call * replicas if per_call else None

    def generate(
        self,
        conversations: list[list[dict]],
        params: SamplingParams,
        progress: ProgressFn | None = None,
        keys: list[str] | None = None,
    ) -> list[list[Completion]]:
        """The conversations in contiguous shards, one per replica, answered in parallel; in their order."""
        if not self._stop.alive:
            raise RuntimeError("the replicas are closed")
        check_conversations(conversations)
        if keys is not None and len(keys) != len(conversations):
            raise ValueError(f"{len(keys)} keys for {len(conversations)} conversations")
        bounds = shard_bounds(len(conversations), len(self.workers))
        for index, (start, end) in enumerate(bounds):
            shard_keys = keys[start:end] if keys is not None else None
            self.inboxes[index].put((conversations[start:end], params, shard_keys, progress is not None))
        try:
            answers = self._collect(range(len(bounds)), progress)
        except KeyboardInterrupt:
            self.close()  # the workers' answers to this call would otherwise reach the next one
            raise
        return [completions for index in range(len(bounds)) for completions in answers[index]]

    def _collect(self, indices: range, progress: ProgressFn | None) -> dict[int, Any]:
        """The answer of each worker in `indices` (its backend's description, or its shard's completions),
        passing progress on. A worker's exception is re-raised once all have answered (the backend stays
        usable); a worker that dies closes all of them and raises `ReplicaError`."""
        answers: dict[int, Any] = {}
        failures: dict[int, tuple[str, str, bool, str]] = {}
        while len(answers) + len(failures) < len(indices):
            try:
                kind, index, payload = self.results.get(timeout=POLL_S)
            except queue.Empty:
                dead = [i for i in indices if i not in answers and i not in failures and not self.workers[i].is_alive()]
                if dead:
                    code = self.workers[dead[0]].exitcode
                    self.close()
                    raise ReplicaError(f"replica {dead[0]} (CUDA_VISIBLE_DEVICES={self.devices[dead[0]]}) exited with code {code}; all replicas stopped") from None
                continue
            if kind == "progress":
                progress(*payload)
            elif kind == "failed":
                failures[index] = payload
            else:
                answers[index] = payload
        if failures:
            index = min(failures)
            name, message, user_error, text = failures[index]
            raise _rebuilt(name, message, user_error) from ReplicaError(f"in replica {index} (CUDA_VISIBLE_DEVICES={self.devices[index]}):\n{text}")
        return answers

    def describe(self) -> dict:
        return self.description

    def close(self) -> None:
        """Stop the workers, each closing its backend (a vLLM engine's GPU memory); idempotent."""
        self._stop()


def _stop_workers(workers: list, inboxes: list) -> None:
    """Tell the started workers to stop, wait up to `STOP_GRACE_S` for them all, then kill what is left."""
    started = [(worker, inbox) for worker, inbox in zip(workers, inboxes) if worker.pid is not None]
    for worker, inbox in started:
        inbox.put(None)
    deadline = time.monotonic() + STOP_GRACE_S
    for worker, inbox in started:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join()
        inbox.cancel_join_thread()  # a dead worker's unread task must not block this process's exit


def _serve(index: int, device: str, name: str, model: str, options: dict, inbox, results) -> None:
    """A replica's worker: builds the backend on its device, says it is ready, then answers
    `(conversations, params, keys, report_progress)` tasks until told to stop (None) or the parent is gone."""
    os.environ["CUDA_VISIBLE_DEVICES"] = device  # before the backend imports torch or vLLM
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the workers
    from recon.inference import load_backend
    from recon.inference.base import closing_backend

    try:
        backend = load_backend(name, model, **options)
    except Exception as exc:  # noqa: BLE001 - re-raised in the parent
        results.put(("failed", index, _portable(exc)))
        return
    with closing_backend(backend):
        results.put(("ready", index, (backend.describe(), getattr(backend, "prompts_per_call", None))))
        while (task := _next_task(inbox)) is not None:
            conversations, params, keys, report_progress = task
            progress = (lambda done, tokens: results.put(("progress", index, (done, tokens)))) if report_progress else None
            try:
                results.put(("done", index, backend.generate(conversations, params, progress, keys)))
            except Exception as exc:  # noqa: BLE001 - re-raised in the parent
                results.put(("failed", index, _portable(exc)))


def _next_task(inbox) -> Any:
    """The next task, or None once told to stop or once the parent process is gone."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            return inbox.get(timeout=POLL_S)
        except queue.Empty:
            if parent is None or not parent.is_alive():
                return None


def _portable(exc: Exception) -> tuple[str, str, bool, str]:
    """A worker's exception as plain text for the parent: (type name, message, whether it is a UserError,
    traceback). Nothing executable crosses: the parent rebuilds it (`_rebuilt`) from an allow-list."""
    return type(exc).__name__, str(exc), isinstance(exc, UserError), "".join(traceback.format_exception(exc))


def _rebuilt(name: str, message: str, user_error: bool) -> Exception:
    """A worker's exception in the parent: a UserError (bad input: exit 2) or a built-in exception of the
    same name with the same message; any other type becomes a RuntimeError naming it."""
    if user_error:
        return UserError(message)
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:  # noqa: BLE001 - a built-in whose constructor takes other arguments
            pass
    return RuntimeError(f"{name}: {message}")
