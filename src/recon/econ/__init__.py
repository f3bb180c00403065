"""Exact economic solvers (pure functions, `fractions.Fraction` arithmetic)."""
