"""`bench/eval_throughput.py --isa avx2`: every Python process of the run sees torch.cpu's AVX-512 probes say
no (so vLLM's CPU platform loads `_C_AVX2`), and only in such a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ISA_AVX2 = Path(__file__).resolve().parents[1] / "bench" / "isa_avx2"
PROBE = "import torch.cpu; print(torch.cpu._is_avx512_supported(), torch.cpu._is_avx512_bf16_supported())"


def probe(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "RECON_BENCH_ISA"}
    environment.update(PYTHONPATH=os.pathsep.join([str(ISA_AVX2), os.environ.get("PYTHONPATH", "")]), **env)
    return subprocess.run([sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True).stdout.strip()


def test_an_avx2_run_hides_avx512_from_every_process():
    assert probe(RECON_BENCH_ISA="avx2") == "False False"


def test_other_runs_see_the_cpu_as_it_is():
    import torch.cpu

    assert probe() == f"{torch.cpu._is_avx512_supported()} {torch.cpu._is_avx512_bf16_supported()}"
