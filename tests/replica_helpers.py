"""Scripted responders for tests/test_replicas.py: module-level functions, so a spawned replica worker can
unpickle them."""

from __future__ import annotations

import json
import os


def echo(messages: list[dict], sample: int) -> str:
    """The question and sample index, answered: a reply that depends on the item and sample only."""
    return f"{messages[-1]['content']} #{sample} \\boxed{{{len(messages[-1]['content'])}}}"


def environment(messages: list[dict]) -> str:
    """The worker's CUDA_VISIBLE_DEVICES and process id, as JSON."""
    return json.dumps({"cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid()})


def exit_on_boom(messages: list[dict]) -> str:
    """Kills its worker process on the question `boom` (a crash no exception reports)."""
    if messages[-1]["content"] == "boom":
        os._exit(7)
    return "ok"


def no_text_on_bad(messages: list[dict]) -> str | None:
    """`ok`, but no text at all on the question `bad` (the backend then raises a TypeError)."""
    return None if messages[-1]["content"] == "bad" else "ok"


class ProjectSpecificError(Exception):
    """An exception type the replicas' parent does not rebuild (not built in, not a UserError)."""

