"""Suite 2 of the games stage: a competitive arena on OpenSpiel's GTBench games (Duan et al. 2024).

    from recon.games.arena import ArenaConfig, run_arena
    results = run_arena(["llm:llamacpp:smollm2", "random", "mcts"], "tic_tac_toe,nim",
                        ArenaConfig(matches=4, mcts_simulations=200), "runs/arena")
"""

from __future__ import annotations

from recon.games.arena.agents import Agent, LLMAgent, MCTSAgent, RandomAgent, TitForTatAgent, make_agent
from recon.games.arena.games import GAME_NAMES, GAMES, ArenaGame, resolve_games
from recon.games.arena.match import play_match
from recon.games.arena.metrics import nra, ratings, table5
from recon.games.arena.parse import parse_action
from recon.games.arena.runner import ArenaConfig, run_arena

__all__ = [
    "GAMES",
    "GAME_NAMES",
    "Agent",
    "ArenaConfig",
    "ArenaGame",
    "LLMAgent",
    "MCTSAgent",
    "RandomAgent",
    "TitForTatAgent",
    "make_agent",
    "nra",
    "parse_action",
    "play_match",
    "ratings",
    "resolve_games",
    "run_arena",
    "table5",
]
