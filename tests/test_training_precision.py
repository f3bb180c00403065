"""Training precision: weights the optimiser updates and the merged SFT init that starts GRPO must not be
rounded to bf16. bf16 loading is forced here (`--dtype bfloat16`): on this AVX2-only CPU `dtype: auto` is
float32, while on CPUs with native bf16 and on GPUs it is bfloat16."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_training import option_problem, tiny_args
from recon.data.problem import write_jsonl


@pytest.fixture()
def problems_file(tmp_path) -> Path:
    path = tmp_path / "problems.jsonl"
    write_jsonl([option_problem(i) for i in range(8)], path)
    return path


def test_full_fine_tuning_in_bf16_keeps_small_updates(tiny_model_dir, problems_file, tmp_path):
    """3 AdamW steps at lr 5e-5 move (almost) every weight. With bf16 weights and no float32 master copy,
    an update of 5e-5 is below half the bf16 spacing of weights ~0.02, and most weights never change."""
    import torch

    from recon.training.args import parse_args
    from recon.training.sft import build_sft_trainer

    argv = tiny_args(tiny_model_dir, problems_file, tmp_path / "full", use_peft="false", dtype="bfloat16",
                     learning_rate="5e-5", max_steps=3, save_strategy="no", max_length=96)  # fmt: skip
    script, config, model_cfg = parse_args("sft", argv)
    trainer = build_sft_trainer(script, config, model_cfg)
    before = {n: p.detach().float().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    after = dict(trainer.model.named_parameters())
    changed = sum(int((after[n].detach().float() != w).sum()) for n, w in before.items())
    total = sum(w.numel() for w in before.values())
    assert changed / total > 0.95, f"only {changed / total:.1%} of the trained weights changed"
    assert all(p.dtype == torch.float32 for p in after.values() if p.requires_grad)


def sft_adapter(base_dir: Path, out: Path, relative_delta: float = 0.003) -> Path:
    """A LoRA adapter on every projection whose delta is ~`relative_delta` of |W| (an SFT run's size:
    ~0.3% for SmolLM2), saved with the base's tokenizer like an SFT checkpoint."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    model = get_peft_model(base, config)
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            weight = module.base_layer.weight
            a, b = module.lora_A["default"].weight, module.lora_B["default"].weight
            with torch.no_grad():
                b.copy_(torch.randn(b.shape, generator=generator))
                delta = b @ a
                b.mul_(relative_delta * weight.norm() / delta.norm())
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(out)
    return out


def prompt_batch(tokenizer, n: int) -> dict:
    """`n` chat prompts, left-padded into one batch."""
    texts = [
        tokenizer.apply_chat_template([{"role": "user", "content": f"Question {i}: which option pays {3 * i + 1}?"}],
                                      tokenize=False, add_generation_prompt=True)  # fmt: skip
        for i in range(n)
    ]
    tokenizer.padding_side = "left"
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def test_grpo_starts_from_the_sft_model_not_a_bf16_merge(tiny_model_dir, problems_file, tmp_path):
    """`adapter_mode: merge` with bf16 loading: the GRPO starting model gives the SFT model's logits (to float32
    rounding) and the same greedy answers on 50 prompts. A bf16 merge loses about half the SFT delta."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from recon.training.args import parse_args
    from recon.training.model import load_policy

    adapter = sft_adapter(tiny_model_dir, tmp_path / "sft")
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    sft = PeftModel.from_pretrained(base, str(adapter)).eval()  # the SFT model: float32 base + its adapter
    argv = tiny_args(adapter, problems_file, tmp_path / "grpo", dtype="bfloat16", num_generations=2)
    script, config, model_cfg = parse_args("grpo", [*argv, "--adapter_mode", "merge"])
    start, tokenizer, peft_config, described = load_policy(script, model_cfg, config)
    start.eval()
    assert peft_config is not None and "merged" in described

    batch = prompt_batch(AutoTokenizer.from_pretrained(tiny_model_dir), 50)
    with torch.no_grad():
        want = sft(**batch).logits
        diff = float((want - start(**batch).logits.float()).abs().max())
        with sft.disable_adapter():
            delta = float((want - base(**batch).logits).abs().max())
    print(f"max |logit difference|: SFT vs base {delta:.2e}, GRPO start vs SFT {diff:.2e}")
    assert delta > 1e-4, "the adapter does not change the logits: the test would prove nothing"
    assert diff < delta / 100, f"GRPO's starting logits differ from the SFT model's by up to {diff:.2e} (the SFT delta moves them {delta:.2e})"

    with torch.no_grad():
        answers = [
            model.generate(**batch, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)[:, batch["input_ids"].shape[1] :]
            for model in (sft, start)
        ]
    mismatched = int((answers[0] != answers[1]).any(dim=1).sum())
    assert not mismatched, f"greedy answers differ on {mismatched}/50 prompts"


def test_cpu_loss_scores_only_labelled_positions_with_the_same_value(tiny_model_dir, problems_file, tmp_path, monkeypatch):
    """The SFT loss on the CPU projects only the completion positions through the LM head (the prompt's are
    never scored) and gives the same loss and gradients as scoring every position."""
    import torch
    import trl.trainer.utils as trl_utils

    from recon.training.args import parse_args
    from recon.training.sft import build_sft_trainer

    monkeypatch.setattr(trl_utils, "_use_triton", trl_utils._use_triton)  # restored after the test
    argv = tiny_args(tiny_model_dir, problems_file, tmp_path / "sft", max_length=96, lora_dropout=0.0)  # deterministic
    script, config, model_cfg = parse_args("sft", argv)
    trainer = build_sft_trainer(script, config, model_cfg)
    batch = next(iter(trainer.get_train_dataloader()))
    rows: list[int] = []
    kernel = trl_utils._ChunkedLogProbFunction

    class Counting:
        @staticmethod
        def apply(hidden, *args):
            rows.append(hidden.shape[0])
            return kernel.apply(hidden, *args)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Counting)

    def loss_and_grads():
        trainer.model.zero_grad()
        loss = trainer.compute_loss(trainer.model, dict(batch))
        loss.backward()
        return loss.item(), [p.grad.clone() for p in trainer.model.parameters() if p.requires_grad]

    compact_loss, compact_grads = loss_and_grads()
    labelled = int((batch["labels"][:, 1:] != -100).sum())
    assert rows == [labelled] and labelled < batch["labels"][:, 1:].numel() / 2
    monkeypatch.setattr(trl_utils, "_use_triton", lambda device: False)  # TRL's own CPU path: every position
    full_loss, full_grads = loss_and_grads()
    assert rows[-1] == batch["labels"][:, 1:].numel()
    assert abs(compact_loss - full_loss) < 1e-5
    scale = max(float(b.abs().max()) for b in full_grads)
    worst = max(float((a - b).abs().max()) for a, b in zip(compact_grads, full_grads)) / scale
    print("worst relative gradient difference", worst)
    assert worst < 1e-4


def effective_weights(model) -> dict:
    """The q/down projections' weights as the model computes with them (base + LoRA delta when unmerged), float32,
    keyed from `layers.` on (the same key merged, unmerged and plain)."""
    out = {}
    for name, module in model.named_modules():
        if "layers." not in name or not name.endswith(("q_proj", "down_proj")):
            continue
        key = name[name.index("layers.") :]
        if hasattr(module, "get_delta_weight"):  # an unmerged LoRA layer
            out[key] = module.base_layer.weight.float() + module.get_delta_weight("default").float()
        else:
            out[key] = module.weight.float()
    return out


def test_hf_backend_evaluates_the_sft_model_not_a_bf16_merge(tiny_model_dir, tmp_path):
    """Evaluation in bf16 (`dtype: auto` on CPUs with native bf16 and on GPUs) computes with the SFT delta
    intact: the adapter is not merged into bf16 weights, whose rounding loses about half of an SFT-sized delta."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from recon.inference.hf import HFBackend

    adapter = sft_adapter(tiny_model_dir, tmp_path / "sft")
    base = effective_weights(AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32))
    sft = effective_weights(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32), str(adapter)))
    rounded = effective_weights(AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16))
    evaluated = effective_weights(HFBackend(str(adapter), dtype="bfloat16", device="cpu").model)
    assert base and set(base) == set(sft) == set(rounded) == set(evaluated)
    with torch.no_grad():
        want = torch.cat([(sft[k] - base[k]).flatten() for k in base])  # the SFT delta
        got = torch.cat([(evaluated[k] - rounded[k]).flatten() for k in base])  # what evaluation adds to the bf16 base
    error = float((got - want).norm() / want.norm())
    print(f"SFT delta carried into the evaluated bf16 model with {error:.1%} error")
    assert float(want.norm()) > 0, "the adapter changes nothing: the test would prove nothing"
    assert error < 0.01, f"the evaluated model carries the SFT delta with {error:.0%} error (a bf16 merge loses ~half)"


def test_grpo_final_adapter_is_sft_plus_grpo_on_the_base(tiny_model_dir, problems_file, tmp_path):
    """A GRPO run from an SFT adapter (`adapter_mode: merge`) ends with one adapter on the SFT run's base —
    the SFT and GRPO adapters concatenated (rank 8 + 8) — equal to the trained float32 model (init-merged +
    the GRPO adapter, kept under adapter-on-init-merged/): served in bf16, the base is not rounded with the
    SFT delta in it, and one engine serves base, SFT and GRPO."""
    import json

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from recon.inference.models import resolve_model
    from recon.training.grpo import main as grpo_main
    from recon.training.model import TRAINED_ADAPTER_DIR, compose_on_base

    adapter = sft_adapter(tiny_model_dir, tmp_path / "sft")
    out = tmp_path / "grpo"
    grpo_main([*tiny_args(adapter, problems_file, out, num_generations=2, max_steps=2, learning_rate=0.05), "--adapter_mode", "merge"])
    config = json.loads((out / "adapter_config.json").read_text())
    kept = json.loads((out / TRAINED_ADAPTER_DIR / "adapter_config.json").read_text())
    assert config["r"] == 16 and config["lora_alpha"] == 16 and not config["use_rslora"]
    assert Path(config["base_model_name_or_path"]).resolve() == Path(tiny_model_dir).resolve()
    assert Path(kept["base_model_name_or_path"]).resolve() == (out / "init-merged").resolve()
    assert Path(resolve_model(str(out)).hf_path).resolve() == Path(tiny_model_dir).resolve()

    # GRPO's tiny run barely moves (equal rewards): compose a GRPO-sized adapter on init-merged the same way
    grpo = sft_adapter(out / "init-merged", tmp_path / "grpo-like")
    compose_on_base(resolve_model(str(adapter)), str(grpo))
    batch = prompt_batch(AutoTokenizer.from_pretrained(tiny_model_dir), 8)
    load = lambda path: AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        trained = PeftModel.from_pretrained(load(out / "init-merged"), str(grpo / TRAINED_ADAPTER_DIR)).eval()(**batch).logits
        composed = PeftModel.from_pretrained(load(tiny_model_dir), str(grpo)).eval()(**batch).logits
        sft = PeftModel.from_pretrained(load(tiny_model_dir), str(adapter)).eval()(**batch).logits
    grpo_delta = float((trained - sft).abs().max())
    diff = float((trained - composed).abs().max())
    print(f"max |logit difference|: GRPO vs SFT {grpo_delta:.2e}, composed vs trained {diff:.2e}")
    assert grpo_delta > 1e-4, "the GRPO adapter does not change the logits: the test would prove nothing"
    assert diff < grpo_delta / 100, f"the composed adapter differs from the trained model by {diff:.2e}"
