"""A training run's identity: what it is keyed by (files, folders, every value of a list flag)."""

from __future__ import annotations

import json

import pytest

from recon.training.args import recipe_values
from recon.training.run import main_for, train_identity


def test_list_flags_keep_every_value_in_the_identity(tmp_path):
    recipe = tmp_path / "grpo.yaml"
    recipe.write_text("model_name_or_path: m\nlearning_rate: 1.0e-6\n")
    base = ["--config", str(recipe)]
    assert recipe_values([*base, "--rewards", "hierarchical", "format"])["rewards"] == ["hierarchical", "format"]
    assert recipe_values([*base, "--rewards", "hierarchical", "--seed", "3"]) == {
        "model_name_or_path": "m", "learning_rate": 1.0e-6, "rewards": "hierarchical", "seed": 3}  # fmt: skip
    for flag, a, b in (("--rewards", ["hierarchical", "format"], ["hierarchical", "accuracy"]),
                       ("--reward_weights", ["1.0", "0.5"], ["1.0", "2.0"]),
                       ("--lora_target_modules", ["q_proj", "v_proj"], ["q_proj", "k_proj"])):  # fmt: skip
        assert train_identity("grpo", [*base, flag, *a]) != train_identity("grpo", [*base, flag, *b]), flag
        assert train_identity("grpo", [*base, flag, *a]) == train_identity("grpo", [*base, flag, *a])


def test_a_model_folder_retrained_in_place_is_another_identity(tmp_path, capsys):
    """GRPO from an SFT folder: after SFT is retrained in place (same file names and sizes, other weights or a
    tokenizer file over 1 MB changed), `recon train grpo` into the same output_dir refuses the old checkpoints
    and `init-merged`, never resumes them; reopening the SFT run folder (its run.json, its lock) changes nothing."""
    sft = tmp_path / "sft"
    sft.mkdir()
    (sft / "config.json").write_text('{"model_type": "llama"}')
    (sft / "model.safetensors").write_bytes(b"a" * 64)
    (sft / "tokenizer.json").write_bytes(b"t" * 1_200_000)
    (sft / "run.json").write_text('{"updated": 1}')
    verified = tmp_path / "verified"
    verified.mkdir()
    (verified / "train.jsonl").write_text('{"id": "a"}\n')
    recipe = tmp_path / "grpo.yaml"
    recipe.write_text("learning_rate: 1.0e-6\nuse_cpu: true\nbf16: false\n")
    out = tmp_path / "out"
    trained = []

    def train(script, config, model_cfg):  # stands in for GRPO: merges its start once, leaves a checkpoint
        trained.append(sorted(p.name for p in out.iterdir() if not p.name.startswith((".", "run.json"))))
        (out / "init-merged").mkdir(exist_ok=True)
        (out / f"checkpoint-{len(trained)}").mkdir()
        return {}

    def launch(*extra):
        return main_for("grpo", train, ["--config", str(recipe), "--model_name_or_path", str(sft),
                                        "--dataset", f"verified:{verified}", "--output_dir", str(out), *extra])  # fmt: skip

    launch()
    (sft / "run.json").write_text('{"updated": 2}')  # the SFT run folder reopened: same model
    (sft / ".lock").write_text("123")
    launch()
    edits = [(sft / "model.safetensors", b"b" * 64), (sft / "tokenizer.json", b"u" * 1_200_000),
             (verified / "train.jsonl", b'{"id": "b"}\n')]  # fmt: skip
    for path, content in edits:
        launch("--overwrite", "true")
        path.write_bytes(content)
        with pytest.raises(SystemExit) as exit_:
            launch()
        assert exit_.value.code == 2
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and "folders." in error and "--overwrite true" in error
    assert trained == [[], ["checkpoint-1", "init-merged"], [], [], []]


RANK_SCRIPT = """
import json, os, sys
from pathlib import Path
from recon.training.run import main_for

out = Path(sys.argv[1])
seen = Path(sys.argv[2])

def train(script, config, model_cfg):  # stands in for training: what each rank finds in output_dir
    (seen / f"rank{os.environ['RANK']}.json").write_text(json.dumps(sorted(p.name for p in out.iterdir())))
    return {}

try:
    main_for("sft", train, sys.argv[3:])
finally:  # what each rank leaves behind: a live process group aborts some exits
    import torch.distributed as dist
    (seen / f"pg{os.environ['RANK']}").write_text(str(dist.is_initialized()))
"""


@pytest.mark.slow
def test_every_rank_waits_for_the_main_process_decision_and_exits_with_it(tmp_path):
    """Two processes (torch.distributed, gloo on CPU): a refusal on rank 0 stops rank 1 too (exit 2, nothing
    trained); with `--overwrite true` no rank starts before rank 0 has cleared the old checkpoints; every rank
    closes the process group before it exits."""
    import os
    import subprocess
    import sys

    from test_training_distributed import free_port

    script = tmp_path / "ranks.py"
    script.write_text(RANK_SCRIPT)
    recipe = tmp_path / "sft.yaml"
    recipe.write_text("model_name_or_path: m\ndataset: d.jsonl\nuse_cpu: true\nbf16: false\n")
    out, seen = tmp_path / "out", tmp_path / "seen"
    seen.mkdir()

    def launch(*extra):
        for stale in seen.iterdir():
            stale.unlink()
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port()),
               str(script), str(out), str(seen), "--config", str(recipe), "--output_dir", str(out), *extra]  # fmt: skip
        env = dict(os.environ, OMP_NUM_THREADS="1")
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)

    out.mkdir()
    first = launch("--learning_rate", "1e-4")
    assert first.returncode == 0, first.stderr[-3000:]
    (out / "checkpoint-5").mkdir()
    refused = launch("--learning_rate", "2e-4")
    assert refused.returncode != 0 and "changed: config.learning_rate" in refused.stderr
    assert sorted(p.name for p in seen.iterdir()) == ["pg0", "pg1"]  # no rank went on to load a model
    assert [(seen / f"pg{rank}").read_text() for rank in (0, 1)] == ["False", "False"]
    assert (out / "checkpoint-5").is_dir()
    replaced = launch("--learning_rate", "2e-4", "--overwrite", "true")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    for rank in (0, 1):
        assert "checkpoint-5" not in json.loads((seen / f"rank{rank}.json").read_text())
        assert (seen / f"pg{rank}").read_text() == "False"  # the process group closed before exit
