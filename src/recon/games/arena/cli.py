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
    **config,
) -> dict:
    """Build the player (`llm`/`cot` agent on `backend`/`model`) and its opponents, run, print the table."""
    from rich.console import Console
    from rich.markdown import Markdown

    from recon.games.arena.agents import LLMAgent, make_agent
    from recon.inference import load_backend, parse_backend_options

    arena_config = ArenaConfig(**config)
    engine = load_backend(backend, model=model, **parse_backend_options(backend_options))
    kind = "cot" if cot else "llm"
    player = LLMAgent(engine, name=f"{kind}:{backend}:{model}", cot=cot, params=arena_config.sampling(cot))
    specs = [s.strip() for s in opponents.split(",") if s.strip()]
    if not specs:
        raise ValueError("give at least one opponent (random, mcts[:SIMS], tit_for_tat, llm:BACKEND:MODEL, cot:BACKEND:MODEL)")
    opponent_kwargs = parse_backend_options(opponent_options)
    rivals = [
        make_agent(
            s,
            arena_config.mcts_simulations,
            prompt_params=arena_config.sampling(False),
            cot_params=arena_config.sampling(True),
            backend_options=opponent_kwargs,
        )
        for s in specs
    ]
    out_dir = out or Path("runs/games/arena") / model.replace("/", "_")
    results = run_arena([player, *rivals], games, arena_config, out_dir)
    console = Console()
    console.print(Markdown((Path(out_dir) / "table.md").read_text()))
    console.print(f"transcripts.jsonl, results.json and table.md in {out_dir}")
    return results
