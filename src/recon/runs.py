"""The run folder shared by every long command: eval, distill, self-play, arena, training and the pipeline.

A run folder holds `run.json`, its manifest: the run's kind, its *identity* (everything that changes
its results: the resolved model and revision, the backend and its options, sampling, a content hash
of the data, result-relevant settings) and, recorded but not compared, the package versions and
times. Reopening a folder with the same identity resumes it; another identity is refused with one
line naming the changed fields and the way out (`--out NEW`, or `--overwrite` to clear the folder).

While a command runs it holds an exclusive lock (`fcntl.flock` on `.lock` in the folder, released by
the kernel when the process dies, so `kill -9` never leaves a stale lock); a second writer is refused
naming the folder and the holding pid.

Records are appended to JSONL files in one write per batch and flushed, so a killed run leaves at
most a torn last line: `read_appended_jsonl` drops (and with `repair` cuts) it, while a bad line that
ends in a newline is corruption and is refused naming the file and line. Whole files are replaced
atomically (`write_atomic`: a uniquely named temp file, fsync, `os.replace`)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from recon.errors import UserError

MANIFEST = "run.json"
LOCK = ".lock"
SCHEMA = "recon.run/1"
# Exit status of a command that finished but left items failed (not 2: the input was fine).
EXIT_FAILED_ITEMS = 3
# The models a pipeline run trains and evaluates, in order (report tables follow it).
MODEL_STAGES = ("base", "sft", "grpo")

# Backend options and settings that change how a run is executed, never what a model answers, so a
# resumed run may change them: transport (where the server is, concurrency, retries, timeouts), CPU
# threads, caches, GPU memory and sharding, data-parallel replicas, and batch sizes. Batching can move
# floating-point rounding (padding), but every resume already re-batches the items left, so keying it
# would only forbid fitting a batch to memory. The device and dtype are keyed (they change precision).
EXECUTION_OPTIONS = frozenset(
    {"base_url", "api_key_env", "concurrency", "max_retries", "timeout", "timeout_s", "backoff", "backoff_s",
     "max_backoff", "threads", "batch_size", "chunk_size", "progress", "cache_dir", "gpu_memory_utilization",
     "tensor_parallel_size", "n_gpu_layers", "replicas"}
)
# Package versions in a backend's `describe()["settings"]`: recorded in the manifest, not keyed.
VERSION_KEYS = frozenset({"transformers", "openai", "llama_cpp_python", "vllm", "torch"})
PACKAGES = ("recon-econ", "torch", "transformers", "peft", "trl", "llama_cpp_python", "openai", "vllm", "numpy")


class RunConflict(UserError, ValueError):
    """The folder holds another run (other identity or kind), or is not a run folder."""


class RunLocked(UserError, RuntimeError):
    """Another process is writing to the run folder."""


class FailedItems(RuntimeError):
    """A command finished but left items whose request failed; rerunning it retries them (exit `EXIT_FAILED_ITEMS`)."""

    exit_code = EXIT_FAILED_ITEMS


class CorruptRecord(UserError, ValueError):
    """A complete line of an append-only JSONL file that is not a JSON record."""


# ------------------------------------------------------------------ hashing


def digest(value: Any) -> str:
    """SHA-256 of the canonical JSON of `value` (sorted keys)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def file_digest(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes; None when it does not exist."""
    try:
        with Path(path).open("rb") as fh:
            sha = hashlib.sha256()
            for block in iter(lambda: fh.read(1 << 20), b""):
                sha.update(block)
            return sha.hexdigest()
    except FileNotFoundError:
        return None


def named_file_digests(values: Iterable[Any], resolve: Callable[[str], Any] = str) -> dict[str, str | None]:
    """{value: content digest} for the string values that name an existing file (after `resolve`): a
    recipe's chat template, a dataset, an accelerate config, so editing the file changes an identity."""
    return {v: file_digest(resolve(v)) for v in values if isinstance(v, str) and Path(resolve(v)).is_file()}


def backend_identity(description: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """What of a backend changes its answers: `describe()` (backend, model, resolved revision — a content
    hash of the weights for local folders and adapters —, the chat template, served model, dtype, …) and
    the options it was built with, less `EXECUTION_OPTIONS` (none left: no `options`, as when none were
    given), package versions and file locations (the revision stands for the content when there is one)."""
    ident = {k: v for k, v in description.items() if k != "settings"}
    if ident.get("revision") is not None:
        ident = {k: v for k, v in ident.items() if not k.endswith("_path")}
    if isinstance(ident.get("chat_template"), str):
        ident["chat_template"] = digest(ident["chat_template"])[:16]
    settings = description.get("settings") or {}
    ident["settings"] = {k: v for k, v in settings.items() if k not in EXECUTION_OPTIONS | VERSION_KEYS}
    for key in EXECUTION_OPTIONS:
        ident.pop(key, None)
    keyed = {k: v for k, v in (options or {}).items() if k not in EXECUTION_OPTIONS}
    if keyed:
        ident["options"] = keyed
    return ident


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count(), "packages": package_versions()}


# ------------------------------------------------------------------ files


def read_appended_jsonl(path: str | Path, repair: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """Records of an append-only JSONL file and whether it had a torn tail (bytes after the last
    newline: a writer killed mid-line). With `repair` the tail is cut from the file so appends resume
    cleanly. A bad line that ends in a newline is corruption, not a torn write: `CorruptRecord`
    naming the file and line."""
    path = Path(path)
    if not path.exists():
        return [], False
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    records = []
    for lineno, line in enumerate(data[:end].split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise CorruptRecord(
                f"{path}:{lineno}: corrupt record ({type(exc).__name__}); not a torn tail, so not repaired: "
                "fix or delete that line, or start over with --overwrite"
            ) from None
        if not isinstance(record, dict):
            raise CorruptRecord(f"{path}:{lineno}: corrupt record (not a JSON object); fix or delete that line, or use --overwrite")
        records.append(record)
    torn = end < len(data)
    if repair and torn:
        with path.open("r+b") as fh:
            fh.truncate(end)
    return records, torn


def append_records(fh, rows: Iterable[dict[str, Any]]) -> None:
    """Append rows to an open JSONL file in one write, flushed to disk: a kill leaves at most a torn line."""
    text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
    if text:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def drop_records(path: str | Path, records: list[dict[str, Any]], drop: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The records `drop` rejects removed from an append-only JSONL file (rewritten atomically when any
    is); returns those kept. Used to ask failed requests again on resume."""
    kept = [r for r in records if not drop(r)]
    if len(kept) < len(records):
        write_atomic(path, (json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in kept))
    return kept


def write_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """Write a file so a reader sees the old or the new content, never a mix: a uniquely named temp
    file in the same folder (two writers never share one), fsync, then `os.replace`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines([text] if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The run manifest of `folder`, or None when it has none."""
    path = Path(folder) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        raise RunConflict(f"{path}: not a valid run manifest; use --out NEW or --overwrite") from None


# ------------------------------------------------------------------ the folder


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path; dicts and lists of dicts are walked (list items by index)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        value = {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def changed_fields(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Dotted names of the identity fields that differ (`backend.options.served_model`, `sampling.temperature`)."""
    a, b = _flatten(json.loads(json.dumps(before, default=str))), _flatten(json.loads(json.dumps(now, default=str)))
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (its `.lock` file records the holder's pid)."""
    fh = (folder / LOCK).open("a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "unknown"
            raise RunLocked(
                f"{folder} is being written by another recon process (pid {pid}); wait for it to finish or use --out NEW"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()  # closing releases the lock


def _clear(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.name == LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@dataclass
class Run:
    """An open run folder: `path`, the manifest written for this session, and whether it resumed one."""

    path: Path
    manifest: dict[str, Any]
    resumed: bool

    def file(self, name: str) -> Path:
        return self.path / name

    def record(self, **info: Any) -> None:
        """Add unkeyed facts (result file names, counts) to the manifest."""
        self.manifest.setdefault("info", {}).update(info)
        write_json(self.path / MANIFEST, self.manifest)


@contextlib.contextmanager
def open_run(
    folder: str | Path,
    kind: str,
    identity: dict[str, Any] | None,
    *,
    overwrite: bool = False,
    info: dict[str, Any] | None = None,
    adopt: Iterable[str] = (),
    flags: tuple[str, str] = ("--out NEW", "--overwrite"),
) -> Iterator[Run]:
    """Lock `folder`, check (or write) its manifest, and yield the open `Run`; the lock is held until exit.

    `identity` None: the caller versions its own content (the pipeline keys each stage). A folder
    holding a run of another kind is refused, `overwrite` or not, and never touched. With `overwrite`
    a folder holding a run manifest of this kind is emptied first; a folder holding other files and no
    manifest is refused and never touched (it is not a run folder), unless it holds one of the `adopt`
    names (a run of this kind written before manifests). `flags`: the command's options for another
    folder and for overwriting, named in the refusals."""
    new, replace = flags
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder):
        manifest = read_manifest(folder)
        others = [p.name for p in folder.iterdir() if p.name != LOCK]
        if manifest is None and others and not any((folder / name).exists() for name in adopt):
            raise RunConflict(
                f"{folder} holds files ({', '.join(sorted(others)[:3])}…) but no run manifest ({MANIFEST}): it is not a "
                f"run folder or was written by an older recon; use another folder ({new}) or delete it"
            )
        if manifest is not None and manifest.get("kind") != kind:
            raise RunConflict(f"{folder} holds a run of kind {manifest.get('kind')!r}, not {kind!r}; use {new}")
        if manifest is not None and overwrite:
            _clear(folder)
            manifest = None
        if manifest is not None:
            if identity is not None and manifest.get("key") != digest(identity):
                changed = changed_fields(manifest.get("identity") or {}, identity)
                raise RunConflict(
                    f"{folder}: the {kind} run there used other settings (changed: {', '.join(changed) or 'identity'}); "
                    f"rerun with the same settings to resume, use {new} for a new run, or {replace} to replace it"
                )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        current = {
            "schema": SCHEMA,
            "kind": kind,
            "key": digest(identity) if identity is not None else None,
            "identity": identity,
            "created": (manifest or {}).get("created", now),
            "updated": now,
            "environment": environment(),
            "info": {**((manifest or {}).get("info") or {}), **(info or {})},
        }
        write_json(folder / MANIFEST, current)
        yield Run(folder, current, resumed=manifest is not None)


# ------------------------------------------------------------------ what run folders hold, for their readers

PIPELINE_FILE = "pipeline.json"  # a pipeline run folder's state: its preset and each finished stage's outputs
HELDOUT_SUMMARY = "heldout/summary.jsonl"  # a training run folder's held-out evaluation, one line per checkpoint


def relative_to_run(value: Any, run_dir: Path) -> Any:
    """`value` (a stage's outputs) with every string naming a path inside `run_dir` (as the stage wrote it,
    `run_dir/...`) made relative to `run_dir`, so the state stays valid when the folder is moved or read
    from another working directory."""
    if isinstance(value, dict):
        return {k: relative_to_run(v, run_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [relative_to_run(v, run_dir) for v in value]
    if isinstance(value, str):
        for prefix in {str(run_dir), str(Path(run_dir).resolve())}:
            if value.startswith(prefix + os.sep):
                return Path(value[len(prefix) + 1 :]).as_posix()
    return value


@dataclass
class PipelineState:
    """A pipeline run folder's `pipeline.json`: the preset, the outputs of each finished stage (paths in them
    relative to the folder; `path` resolves one), the stage keys and the seconds of the last invocation."""

    root: Path
    preset: dict[str, Any]
    stages: dict[str, dict[str, Any]]
    keys: dict[str, str]
    seconds: float

    def path(self, value: str | Path) -> Path:
        """A path of a stage's outputs: relative to the run folder (absolute ones, from older folders, as they are)."""
        return self.root / value

    def stage_path(self, stage: str, value: str | Path, what: str) -> Path:
        """`path(value)`, which must exist: a missing one is a `UserError` naming the stage and the path."""
        path = self.path(value)
        if not path.exists():
            raise UserError(f"{self.root / PIPELINE_FILE}: stage {stage}'s {what} {path} is missing; rerun "
                            f"`recon pipeline --run-dir {self.root} --from {stage}` or pass the folder that holds it")
        return path

    def write(self) -> None:
        write_json(self.root / PIPELINE_FILE, {"preset": self.preset, "stages": relative_to_run(self.stages, self.root),
                                               "keys": self.keys, "seconds": self.seconds})


def read_pipeline_state(folder: str | Path) -> PipelineState | None:
    """The `pipeline.json` of `folder`, or None when it has none."""
    folder = Path(folder)
    value = _read_json_file(folder / PIPELINE_FILE)
    if value is None:
        return None
    return PipelineState(folder, value.get("preset") or {}, value.get("stages") or {}, value.get("keys") or {},
                         float(value.get("seconds") or 0))


def append_heldout(output_dir: str | Path, row: dict[str, Any]) -> None:
    """One checkpoint's held-out evaluation, appended to the training folder's `HELDOUT_SUMMARY`."""
    path = Path(output_dir) / HELDOUT_SUMMARY
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        append_records(fh, [row])


def read_heldout(output_dir: str | Path) -> list[dict[str, Any]]:
    """The held-out evaluations of a training folder, one per checkpoint (none without `heldout_size`)."""
    return read_appended_jsonl(Path(output_dir) / HELDOUT_SUMMARY)[0]


def _read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        raise UserError(f"{path}: not valid JSON; rerun the command that writes it") from None
