"""`recon train sft|grpo --config RECIPE.yaml [--any_trl_or_recon_field value ...]`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Post-train a model: SFT then GRPO (TRL), configured by a recipe YAML plus overrides.", no_args_is_help=True)

# Every argument, --help included, goes to TRL's parser: its help lists each field of the TRL config,
# ModelConfig and ReconScriptArguments (built only when asked, as TRL takes seconds to import).
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
EPILOG = (
    "Every field of TRL's {config}, ModelConfig and ReconScriptArguments is accepted as --field value, in the "
    "YAML or on the command line (the command line wins). Multi-GPU: accelerate launch --config_file "
    "recipes/accelerate_configs/zero2.yaml -m recon.training.{kind} --config RECIPE.yaml"
)


@app.command(context_settings=PASS_THROUGH, epilog=EPILOG.format(config="SFTConfig", kind="sft"))
def sft(ctx: typer.Context) -> None:
    """Supervised fine-tuning on worked solutions (e.g. --config recipes/cpu/smollm2/sft.yaml)."""
    from recon.training.sft import main

    main(ctx.args)


@app.command(context_settings=PASS_THROUGH, epilog=EPILOG.format(config="GRPOConfig", kind="grpo"))
def grpo(ctx: typer.Context) -> None:
    """GRPO with the grading rewards (e.g. --config recipes/cpu/smollm2/grpo.yaml)."""
    from recon.training.grpo import main

    main(ctx.args)


@app.command("grpo-server", context_settings=PASS_THROUGH)
def grpo_server(ctx: typer.Context) -> None:
    """GRPO against a separate vLLM server, one command: merge the SFT adapter, start `trl vllm-serve`, train,
    stop it (e.g. --server-gpus 4,5,6,7 --train-gpus 0,1,2,3 --config recipes/paper/r1-distill-qwen-7b/grpo.yaml)."""
    from recon.training.serve import main

    raise typer.Exit(main(ctx.args))
