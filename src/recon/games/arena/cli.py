"""What `recon games arena` does (the Typer command in `recon.games.cli` only forwards its options)."""

from __future__ import annotations

from pathlib import Path

from recon.games.arena.runner import ArenaConfig, run_arena


def arena_command(
    model: str,
    backend: str,
    games: str,
    opponents: str,
    out: Path | None,
    backend_options: list[str],
    opponent_options: list[str],
    cot: bool = False,
    overwrite: bool = False,
    retry_failed: bool = True,
    **config,
) -> dict:
    """Build the player (`llm`/`cot` agent on `backend`/`model`) and its opponents, run, print the table.
    The player is named `KIND:BACKEND:MODEL`; a scripted backend, which ignores the model, is `scripted`."""
    from rich.console import Console
    from rich.markdown import Markdown

    from recon.errors import user_input, writable_folder
    from recon.games.arena.agents import LLMAgent, make_agent
    from recon.games.arena.games import resolve_games
    from recon.inference import check_backend, load_backend, parse_backend_options

    with user_input("recon games arena"):  # bad settings, games or backend refused before a model loads
        arena_config = ArenaConfig(**config)
        resolve_games(games)
        check_backend(backend)
    specs = [s.strip() for s in opponents.split(",") if s.strip()]
    with user_input("recon games arena --opponents"):
        if not specs:
            raise ValueError("give at least one opponent (random, mcts[:SIMS], tit_for_tat, llm:BACKEND:MODEL[@URL], cot:…)")
        opponent_kwargs = parse_backend_options(opponent_options)
        rivals = [
            make_agent(s, arena_config.mcts_simulations, arena_config.sampling(True), arena_config.sampling(True), opponent_kwargs)
            for s in specs
        ]
    label = "scripted" if backend == "scripted" else model
    out_dir = writable_folder(out or Path("runs/games/arena") / label.replace("/", "_"), "--out")
    engine = load_backend(backend, model=model, **parse_backend_options(backend_options))
    player = LLMAgent(engine, name=f"{'cot' if cot else 'llm'}:{backend}:{label}", cot=cot, params=arena_config.sampling())
    results = run_arena([player, *rivals], games, arena_config, out_dir, overwrite=overwrite, retry_failed=retry_failed)
    console = Console()
    console.print(Markdown((Path(out_dir) / "table.md").read_text()))
    console.print(f"transcripts.jsonl, results.json and table.md in {out_dir}")
    if results["failed_request_matches"]:
        import typer

        from recon.runs import EXIT_FAILED_ITEMS

        console.print(
            f"[red]error:[/red] {results['failed_request_matches']} matches met a failed backend request; "
            "rerun the same command to play them again"
        )
        raise typer.Exit(EXIT_FAILED_ITEMS)
    return results
