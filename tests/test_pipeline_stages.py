import json

import pytest
from rich.console import Console

from recon.pipeline.stages import Stage, run_stages


def make_stages(calls):
    def make(name):
        def run(ctx):
            calls.append(name)
            return {"value": ctx.config.get("value", 0), "upstream": {k: v["value"] for k, v in ctx.outputs.items()}}

        return run

    return [
        Stage("a", make("a"), "first"),
        Stage("b", make("b"), "second", needs=("a",)),
        Stage("c", make("c"), "third", needs=("b",)),
    ]


def run(preset, tmp_path, calls, **kw):
    return run_stages(make_stages(calls), preset, tmp_path, console=Console(quiet=True), **kw)


def test_rerun_skips_finished_stages(tmp_path):
    calls = []
    preset = {"a": {"value": 1}, "b": {"value": 2}, "c": {"value": 3}}
    first = run(preset, tmp_path, calls)
    assert calls == ["a", "b", "c"]
    assert first["c"]["upstream"] == {"a": 1, "b": 2}
    second = run(preset, tmp_path, calls)
    assert calls == ["a", "b", "c"] and second == first
    assert json.loads((tmp_path / "pipeline.json").read_text())["stages"]["c"]["value"] == 3


def test_config_change_reruns_that_stage_and_downstream(tmp_path):
    calls = []
    run({"a": {"value": 1}, "b": {"value": 2}}, tmp_path, calls)
    calls.clear()
    run({"a": {"value": 1}, "b": {"value": 5}}, tmp_path, calls)
    assert calls == ["b", "c"]


def test_from_and_force(tmp_path):
    calls = []
    run({}, tmp_path, calls)
    calls.clear()
    run({}, tmp_path, calls, from_stage="b")
    assert calls == ["b", "c"]
    calls.clear()
    run({}, tmp_path, calls, force=True)
    assert calls == ["a", "b", "c"]


def test_only_needs_earlier_outputs(tmp_path):
    with pytest.raises(RuntimeError, match="never run"):
        run({}, tmp_path, [], only=["c"])
    with pytest.raises(ValueError, match="unknown stage"):
        run({}, tmp_path, [], from_stage="z")


def test_failed_stage_is_not_cached(tmp_path):
    def boom(ctx):
        raise RuntimeError("boom")

    stages = [Stage("a", lambda ctx: {"ok": 1}, "first"), Stage("b", boom, "fails", needs=("a",))]
    with pytest.raises(RuntimeError, match="boom"):
        run_stages(stages, {}, tmp_path, console=Console(quiet=True))
    assert json.loads((tmp_path / "stages" / "a.json").read_text())["status"] == "done"
    assert json.loads((tmp_path / "stages" / "b.json").read_text())["status"] == "running"  # not cached: rerun resumes it


def test_only_runs_a_prefix_without_later_stages(tmp_path):
    calls = []
    outputs = run({}, tmp_path, calls, only=["a"])
    assert calls == ["a"] and set(outputs) == {"a"}


def test_stage_inputs_rerun_a_stage_when_a_file_it_reads_changes(tmp_path):
    from recon.runs import file_digest

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("learning_rate: 1e-4\n")
    calls = []
    stages = [Stage("a", lambda ctx: calls.append("a") or {}, "reads a file", inputs=lambda cfg: file_digest(cfg["file"]))]
    preset = {"a": {"file": str(recipe)}}
    run_stages(stages, preset, tmp_path / "run", console=Console(quiet=True))
    run_stages(stages, preset, tmp_path / "run", console=Console(quiet=True))
    assert calls == ["a"]
    recipe.write_text("learning_rate: 2e-4\n")
    run_stages(stages, preset, tmp_path / "run", console=Console(quiet=True))
    assert calls == ["a", "a"]


def test_training_stage_keys_hash_the_recipe_content(tmp_path):
    from recon.pipeline.run import STAGES
    from recon.pipeline.stages import stage_key

    recipe = tmp_path / "sft.yaml"
    recipe.write_text("learning_rate: 1e-4\n")
    for stage in (s for s in STAGES if s.name in ("sft", "grpo")):
        before = stage_key(stage, {"recipe": str(recipe)}, {}, {})
        recipe.write_text(recipe.read_text() + "num_train_epochs: 2\n")
        assert stage_key(stage, {"recipe": str(recipe)}, {}, {}) != before


def test_training_stage_keys_hash_the_files_the_recipe_and_launcher_name(tmp_path):
    """Editing the chat template a recipe names, or the accelerate config the launcher names, reruns training."""
    from recon.pipeline.run import STAGES
    from recon.pipeline.stages import stage_key

    template, accelerate = tmp_path / "chat.jinja", tmp_path / "ddp.yaml"
    template.write_text("{{ messages }}")
    accelerate.write_text("num_processes: 1\n")
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(f"learning_rate: 1e-4\nchat_template_path: {template}\n")
    config = {"recipe": str(recipe), "launcher": ["accelerate", "launch", "--config_file", str(accelerate)]}
    for stage in (s for s in STAGES if s.name in ("sft", "grpo")):
        for edited in (template, accelerate):
            before = stage_key(stage, config, {}, {})
            edited.write_text(edited.read_text() + "# edited\n")
            assert stage_key(stage, config, {}, {}) != before


def test_the_compared_models_list_reruns_eval_and_games_not_training(tmp_path):
    """`--set 'models=[base,sft,grpo]'` on an ablation folder (models: [sft, grpo]) evaluates base too."""
    from recon.pipeline.run import STAGES
    from recon.pipeline.stages import stage_key

    ablation, full = {"models": ["sft", "grpo"]}, {"models": ["base", "sft", "grpo"]}
    changed = {s.name for s in STAGES if stage_key(s, {}, ablation, {}) != stage_key(s, {}, full, {})}
    assert changed == {"eval", "games"}  # the report follows through its upstream keys
    calls = []
    stages = [Stage("a", lambda ctx: calls.append("a") or {}, "first"),
              Stage("e", lambda ctx: calls.append("e") or {}, "compare", needs=("a",), reads=("models",))]  # fmt: skip
    for preset in (ablation, ablation, full):
        run_stages(stages, preset, tmp_path, console=Console(quiet=True))
    assert calls == ["a", "e", "e"]
