"""`recon games …`: one sub-command per suite; each body is a thin call into its module."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Multi-agent games: self-play equilibrium rate and a competitive arena.", no_args_is_help=True)


@app.command("selfplay")
def selfplay(
    model: str = typer.Option("smollm2", help="Model name or path, as the backend understands it."),
    backend: str = typer.Option("hf", help="Inference backend: hf, llamacpp, openai, vllm, …"),
    games: str = typer.Option("all", help="`all` or comma-separated game ids (see `recon games list`)."),
    trials: int = typer.Option(20, min=1, help="Self-play trials per game."),
    temperature: float = typer.Option(0.6, min=0.0),
    top_p: float = typer.Option(1.0),
    max_tokens: int = typer.Option(None, min=1, help="Completion budget per question (default 6144 with --think, else 1024)."),
    max_retries: int = typer.Option(3, min=0, help="Re-asks of an unparsable reply before the trial fails."),
    negotiation_rounds: int = typer.Option(0, min=0, help="Message exchanges before each move (Hua et al.)."),
    think: bool = typer.Option(False, help="The model thinks: `<think>` prefilled, only text after `</think>` read."),
    tag: str = typer.Option("first", help="Which <s> tag is the answer: first (Hua et al.) or last."),
    who_first: str = typer.Option("Alice", help="Who opens each negotiation round: Alice (Hua et al.) or Bob."),
    batch_size: int = typer.Option(64, min=1, help="Most samples per backend call."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(None, help="Output directory (default runs/games/selfplay/<model>); reruns resume."),
    option: list[str] = typer.Option([], "--backend-option", help="Backend option KEY=VALUE (repeatable); replicas=N: one copy per GPU (each loads the whole model)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out made with other settings."),
    retry_failed: bool = typer.Option(True, "--retry-failed/--no-retry-failed", help="Replay trials that met a failed request."),
) -> None:
    """Complete-information self-play (Hua et al. 2024): NE, Pareto-NE and failure rates, Table 4."""
    from rich.console import Console
    from rich.markdown import Markdown

    from recon.errors import user_input, writable_folder
    from recon.games.selfplay.metrics import markdown
    from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay, select_games
    from recon.inference import check_backend, load_backend, parse_backend_options
    from recon.runs import EXIT_FAILED_ITEMS

    config = dict(
        trials=trials, temperature=temperature, top_p=top_p,
        max_tokens=max_tokens, max_retries=max_retries, negotiation_rounds=negotiation_rounds,
        batch_size=batch_size, seed=seed, think=think, tag=tag, who_first=who_first,
    )
    with user_input("recon games selfplay"):  # bad games or settings refused before a model loads
        selected = select_games(games)
        SelfPlayConfig(model_label=model, **config)
        check_backend(backend)
    out_dir = writable_folder(out or Path("runs/games/selfplay") / model.replace("/", "_"), "--out")
    engine = load_backend(backend, model=model, **parse_backend_options(option))
    label = "scripted" if backend == "scripted" else model  # a scripted backend ignores the model name
    results = run_selfplay(engine, selected, SelfPlayConfig(model_label=label, **config), out_dir, overwrite=overwrite, retry_failed=retry_failed)
    console = Console()
    console.print(Markdown(markdown(results)))
    console.print(f"transcripts, results.json and results.md in {out_dir}")
    if results["failed_request_trials"]:
        console.print(
            f"[red]error:[/red] {results['failed_request_trials']} trials met a failed backend request (scored as failures); "
            "rerun the same command to play them again"
        )
        raise typer.Exit(EXIT_FAILED_ITEMS)


@app.command("list")
def list_games() -> None:
    """The self-play games with their solver-computed equilibria."""
    from recon.games.library import load_library
    from recon.games.selfplay.metrics import describe_library

    typer.echo(describe_library(load_library().values()))


@app.command("arena")
def arena(
    model: str = typer.Option("smollm2", help="The player's model, as the backend understands it."),
    backend: str = typer.Option("hf", help="The player's inference backend: hf, llamacpp, openai, vllm, …"),
    games: str = typer.Option("all", help="`all` or comma-separated: tic_tac_toe, connect_four, breakthrough, "
                              "first_sealed_auction, kuhn_poker, liars_dice, negotiation, nim, pig, "
                              "iterated_prisoners_dilemma."),
    opponents: str = typer.Option("random,mcts", help="Comma-separated: random, mcts[:SIMS], tit_for_tat, "
                                  "llm:BACKEND:MODEL[@URL], cot:BACKEND:MODEL[@URL] "
                                  "(the paper: llm:openai:gpt-4o-mini@https://api.openai.com/v1)."),
    matches: int = typer.Option(10, min=1, help="Matches per game and opponent (seats alternate)."),
    mcts_simulations: int = typer.Option(1000, min=1, help="MCTS simulations per move (GTBench: 1000)."),
    cot: bool = typer.Option(False, help="Chain-of-thought player (reason, then `Action: <…>`)."),
    illegal: str = typer.Option("forfeit", help="forfeit (GTBench: the first illegal reply makes the match "
                                "abnormal) or retry (with feedback)."),
    max_retries: int = typer.Option(2, min=0, help="Re-asks after an illegal or unparsable reply under `retry`."),
    parse: str = typer.Option("strict", help="strict (tags of the game's grammar only, outside thinking) or "
                              "lenient (also aliases and bare labels in prose; reported in the results)."),
    replay_abnormal: int = typer.Option(0, min=0, help="GTBench's replay mode: replay abnormal matches until a game "
                                        "and pairing has this many matches (0: off)."),
    temperature: float = typer.Option(0.6, min=0.0, help="The player's temperature (the paper: 0.6)."),
    max_tokens: int = typer.Option(None, min=1, help="Budget per reply (default 6144 with --think, else 1024)."),
    think: bool = typer.Option(False, help="The player thinks: `<think>` prefilled, only text after `</think>` read."),
    opponent_temperature: float = typer.Option(None, min=0.0, help="LLM opponents' temperature (default: the player's)."),
    round_robin: bool = typer.Option(False, help="Opponents also play each other (Bradley–Terry ratings over all pairs)."),
    seed: int = typer.Option(0),
    concurrency: int = typer.Option(16, min=1, help="Matches played at once, their LLM requests batched (1: one by one)."),
    out: Path = typer.Option(None, help="Output directory (default runs/games/arena/<model>); reruns resume."),
    option: list[str] = typer.Option([], "--backend-option", help="Player backend option KEY=VALUE (repeatable)."),
    opponent_option: list[str] = typer.Option([], "--opponent-option", help="LLM opponents' backend option KEY=VALUE."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --out made with other settings."),
    retry_failed: bool = typer.Option(True, "--retry-failed/--no-retry-failed", help="Replay matches that met a failed request."),
) -> None:
    """Competitive arena on OpenSpiel (GTBench): win rate over normal matches, completion, NRA, ratings; Table 5."""
    from recon.games.arena.cli import arena_command

    arena_command(
        model, backend, games, opponents, out, option, opponent_option, cot=cot, matches=matches,
        mcts_simulations=mcts_simulations, illegal=illegal, max_retries=max_retries, parse=parse,
        replay_abnormal=replay_abnormal, temperature=temperature, max_tokens=max_tokens, think=think,
        opponent_temperature=opponent_temperature, round_robin=round_robin, seed=seed, concurrency=concurrency,
        overwrite=overwrite, retry_failed=retry_failed,
    )
