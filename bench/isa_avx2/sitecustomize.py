"""Imported at start-up by every Python process of a `bench/eval_throughput.py --isa avx2` run (the script
puts this folder first on PYTHONPATH): torch.cpu's AVX-512 probes answer no, so vLLM's CPU platform loads
its `_C_AVX2` kernel build, as on an AVX2-only CPU (torch's own kernels follow `ATEN_CPU_CAPABILITY=avx2`)."""

import os

if os.environ.get("RECON_BENCH_ISA") == "avx2":
    try:
        import torch.cpu
    except ImportError:
        pass
    else:
        torch.cpu._is_avx512_supported = lambda: False
        torch.cpu._is_avx512_bf16_supported = lambda: False
        torch.cpu._is_amx_tile_supported = lambda: False
