"""Scoring self-play trials against solver-computed equilibria, and the tables (per game and the
paper's Table 4: simultaneous average, sequential average, overall)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from recon.games.library import SEQUENTIAL, SIMULTANEOUS, Game, Move, choice_label
from recon.stats import Interval, stratified_bootstrap_interval, wilson_interval


def score_trial(game: Game, outcome: list[str] | None) -> dict[str, bool | None]:
    """Flags of one trial. `ne`: the joint action is a pure NE (sequential: the path is subgame
    perfect); `pareto_ne`: a Pareto-optimal NE (simultaneous only, else None); `nash_outcome`: the path
    of some Nash equilibrium, subgame perfect or not (sequential only, else None). A failed trial
    (no outcome) scores False on every flag that applies."""
    eq = game.equilibria
    played = tuple(outcome) if outcome else None
    simultaneous = game.kind == SIMULTANEOUS
    return {
        "ne": played in eq.nash,
        "pareto_ne": (played in eq.pareto_nash) if simultaneous else None,
        "nash_outcome": None if simultaneous else played in eq.nash_outcomes,
    }


def _show(outcome: tuple[str, ...] | list[str], kind: str) -> str:
    digits = [label.rsplit("_", 1)[1] for label in outcome]
    return f"({','.join(digits)})" if kind == SIMULTANEOUS else "→".join(digits)


def game_metrics(game: Game, records: list[dict]) -> dict[str, Any]:
    """Rates with 95% Wilson intervals over all trials (failures count as misses)."""
    n = len(records)
    flags = [score_trial(game, r.get("outcome")) for r in records]
    count = lambda key: sum(bool(f[key]) for f in flags)  # noqa: E731
    failures = sum(r.get("failure") is not None for r in records)
    metrics: dict[str, Any] = {
        "title": game.title,
        "kind": game.kind,
        "trials": n,
        "failures": failures,
        "ne_rate": wilson_interval(count("ne"), n).to_dict(),
        "failure_rate": wilson_interval(failures, n).to_dict(),
    }
    if game.kind == SIMULTANEOUS:
        metrics["pareto_ne_rate"] = wilson_interval(count("pareto_ne"), n).to_dict()
    else:
        metrics["nash_outcome_rate"] = wilson_interval(count("nash_outcome"), n).to_dict()
    played = Counter(_show(r["outcome"], game.kind) for r in records if r.get("outcome"))
    metrics["outcomes"] = dict(played.most_common())
    metrics["equilibria"] = game.equilibria.to_dict(game.kind)
    return metrics


def blind_policy_rates(game: Game) -> dict[str, float]:
    """Exact NE rates of two policies that read only the action list, Table 4's baselines:
    `first_action` (both players always take the first listed action — what a model copying the prompt's
    example tag `<s>choice_1</s>` plays) and `uniform_random` (each move uniform over the listed actions)."""
    nash = game.equilibria.nash
    if game.kind == SIMULTANEOUS:
        rows, cols = game.n_choices
        cells = [(choice_label(i), choice_label(j)) for i in range(rows) for j in range(cols)]
        return {"first_action": float(cells[0] in nash), "uniform_random": sum(c in nash for c in cells) / len(cells)}

    def paths(node, path: tuple[str, ...], probability: float):
        if not isinstance(node, Move):
            yield path, probability
            return
        for label, child in node.children.items():
            yield from paths(child, path + (label,), probability / len(node.children))

    first, node = (), game.tree
    while isinstance(node, Move):
        label = next(iter(node.children))
        first, node = first + (label,), node.children[label]
    return {"first_action": float(first in nash), "uniform_random": sum(p for path, p in paths(game.tree, (), 1.0) if path in nash)}


def blind_policy_table4(games: list[Game]) -> dict[str, dict[str, float]]:
    """`blind_policy_rates` averaged like Table 4 (unweighted over games): policy → part → rate."""
    rates = {g.name: blind_policy_rates(g) for g in games}
    parts = {"simultaneous": {SIMULTANEOUS}, "sequential": {SEQUENTIAL}, "overall": {SIMULTANEOUS, SEQUENTIAL}}
    return {
        policy: {part: sum(rates[g.name][policy] for g in chosen) / len(chosen)
                 for part, kinds in parts.items() if (chosen := [g for g in games if g.kind in kinds])}
        for policy in ("first_action", "uniform_random")
    }


def table4(games: list[Game], records: dict[str, list[dict]]) -> dict[str, dict | None]:
    """Average NE rate over simultaneous games, over sequential games and over all games (unweighted
    mean of per-game rates), each with a stratified-bootstrap 95% interval."""
    indicators = {
        g.name: [float(score_trial(g, r.get("outcome"))["ne"]) for r in records.get(g.name, [])] for g in games
    }
    pick = lambda kinds: [indicators[g.name] for g in games if g.kind in kinds]  # noqa: E731
    return {
        "simultaneous": stratified_bootstrap_interval(pick({SIMULTANEOUS})).to_dict(),
        "sequential": stratified_bootstrap_interval(pick({SEQUENTIAL})).to_dict(),
        "overall": stratified_bootstrap_interval(pick({SIMULTANEOUS, SEQUENTIAL})).to_dict(),
    }


def _pct(interval: dict | None) -> str:
    """An interval stored as `Interval.to_dict()` (NaN as None), shown in percent."""
    if not interval or interval.get("estimate") is None:
        return "n/a"
    return Interval(interval["estimate"], interval["low"], interval["high"]).format(percent=True)


def _equilibria_cell(metrics: dict) -> str:
    eq, kind = metrics["equilibria"], metrics["kind"]
    if kind == SIMULTANEOUS:
        nash = " ".join(_show(o, kind) for o in eq["pure_nash"]) or "none"
        pareto = " ".join(_show(o, kind) for o in eq["pareto_optimal_nash"]) or "none"
        return f"NE {nash}; Pareto {pareto}"
    spe = " ".join(_show(o, kind) for o in eq["subgame_perfect_paths"])
    other = " ".join(_show(o, kind) for o in eq["non_subgame_perfect_nash_outcomes"]) or "none"
    return f"SPE {spe}; other NE {other}"


def markdown(results: dict[str, Any]) -> str:
    """The per-game table and the Table 4 summary as markdown."""
    config = results["config"]
    lines = [
        f"# Self-play on complete-information games: {results['model']}",
        "",
        f"{config['trials']} trials per game, temperature {config['temperature']}, "
        f"{config['negotiation_rounds']} negotiation rounds, up to {config['max_retries']} retries per question. "
        "Rates in % with 95% intervals (Wilson per game, stratified bootstrap for averages); "
        "a failed trial counts as a miss.",
        "",
        "| Game | Kind | Trials | NE rate | Pareto-NE rate | Failure rate | Played (count) | Equilibria (solver) |",
        "|---|---|---:|---|---|---|---|---|",
    ]
    for name, m in results["games"].items():
        played = ", ".join(f"{o} ×{c}" for o, c in m["outcomes"].items()) or "none"
        pareto = _pct(m.get("pareto_ne_rate")) if m["kind"] == SIMULTANEOUS else "n/a"
        lines.append(
            f"| {m['title']} | {m['kind']} | {m['trials']} | {_pct(m['ne_rate'])} | {pareto} | "
            f"{_pct(m['failure_rate'])} | {played} | {_equilibria_cell(m)} |"
        )
    t4 = results["table4"]
    lines += [
        "",
        "## Table 4: NE rate (sequential games: subgame-perfect path reached), %",
        "",
        "| Model | Simultaneous | Sequential | Overall |",
        "|---|---|---|---|",
        f"| {results['model']} | {_pct(t4['simultaneous'])} | {_pct(t4['sequential'])} | {_pct(t4['overall'])} |",
        "",
    ]
    return "\n".join(lines)


def describe_library(games) -> str:
    """A markdown table of games with their solver-computed equilibria."""
    lines = ["| Id | Game | Kind | Equilibria (solver) |", "|---|---|---|---|"]
    for g in games:
        cell = _equilibria_cell({"kind": g.kind, "equilibria": g.equilibria.to_dict(g.kind)})
        lines.append(f"| {g.name} | {g.title} | {g.kind} | {cell} |")
    return "\n".join(lines)
