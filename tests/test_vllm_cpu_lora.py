"""The CPU LoRA ops plugin (recon.inference.vllm_cpu_lora) computes what vLLM's own torch ops compute."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
import torch

lora_ops = pytest.importorskip("vllm.lora.ops.torch_ops.lora_ops")

from recon.inference import vllm_cpu_lora  # noqa: E402

# vLLM's own ops, kept before any test registers the plugin
ORIGINAL = {name: getattr(lora_ops, name) for name in vllm_cpu_lora.REPLACED}


def _case(slots: list[int], tokens: int = 37, inp: int = 24, out: int = 40, rank: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    indices = torch.tensor([slots[i % len(slots)] for i in range(tokens)])
    return g, indices, torch.randn(tokens, inp, generator=g), torch.randn(4, 1, rank, inp, generator=g), torch.randn(4, 1, out, rank, generator=g)


@pytest.mark.parametrize("slots", [[0], [2], [-1], [0, 1, 3], [1, -1]])
def test_ops_equal_vllms_own(slots):
    g, indices, x, a, b = _case(slots)
    shrunk = {}
    for impl in ("original", "plugin"):
        ops = ORIGINAL if impl == "original" else vllm_cpu_lora.REPLACED
        y = torch.zeros(x.shape[0], a.shape[2])
        ops["bgmv_shrink"](x, a, y, indices, 0.5)
        z = torch.ones(x.shape[0], b.shape[2])
        ops["bgmv_expand"](y, b, z, indices, add_inputs=True)
        s = torch.zeros(x.shape[0], 60)
        ops["bgmv_expand_slice"](y, b, s, indices, 10, b.shape[2], add_inputs=False)
        shrunk[impl] = (y, z, s)
    for got, want in zip(shrunk["plugin"], shrunk["original"]):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_bf16_outputs_match_within_bf16_rounding():
    g, indices, x, a, _ = _case([0])
    want, got = torch.zeros(x.shape[0], 8, dtype=torch.bfloat16), torch.zeros(x.shape[0], 8, dtype=torch.bfloat16)
    ORIGINAL["bgmv_shrink"](x, a, want, indices, 1.0)
    vllm_cpu_lora.bgmv_shrink(x, a, got, indices, 1.0)
    torch.testing.assert_close(got.float(), want.float(), rtol=2e-2, atol=2e-2)


def test_registered_as_a_vllm_general_plugin_and_installed_on_cpu(monkeypatch):
    import vllm.lora.punica_wrapper.punica_cpu as punica_cpu

    names = {e.name: e.value for e in entry_points(group="vllm.general_plugins")}
    assert names.get("recon_cpu_lora") == "recon.inference.vllm_cpu_lora:register"
    for module in (lora_ops, punica_cpu):
        for name in vllm_cpu_lora.REPLACED:
            monkeypatch.setattr(module, name, getattr(module, name))  # restored after the test
    vllm_cpu_lora.register()
    for name, op in vllm_cpu_lora.REPLACED.items():
        assert getattr(lora_ops, name) is op and getattr(punica_cpu, name) is op
