"""Suite 1 of the games evaluation: self-play on the complete-information games of Hua et al. (2024),
scored against solver-computed equilibria."""

from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay

__all__ = ["SelfPlayConfig", "run_selfplay"]
