"""Arena metrics from match records: win, draw and completion rates (Wilson 95% intervals), GTBench's
normalised relative advantage (NRA), Elo over all matches, and the markdown table (the paper's Table 5).

Scores for NRA: in zero-sum games the win outcome (1 for a win, 0 otherwise); in general-sum games
the payoff. NRA = (Σ own − Σ opponent) / (Σ|own| + Σ|opponent|), 0 when every score is 0.
A forfeited match is the offender's loss; in general-sum games its scores are the payoffs accrued
before the forfeit.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from recon.games.stats import Interval, bootstrap_interval, wilson_interval

ELO_K = 32.0
ELO_INITIAL = 1500.0


def nra(own: Sequence[float], opponent: Sequence[float]) -> float:
    """Normalised relative advantage in [-1, 1]."""
    if len(own) != len(opponent):
        raise ValueError("own and opponent scores must pair up")
    denom = sum(abs(x) for x in own) + sum(abs(x) for x in opponent)
    return 0.0 if denom == 0 else (sum(own) - sum(opponent)) / denom


def match_view(record: dict, agent: str) -> dict:
    """One match from `agent`'s side: outcome, whether it completed its moves legally, and scores."""
    seats = record["seats"]
    if agent not in seats:
        raise ValueError(f"{agent!r} did not play this match ({seats})")
    seat = seats.index(agent)
    other = 1 - seat
    winner = record["winner_seat"]
    if record["zero_sum"]:
        own, opp = float(winner == seat), float(winner == other)
    else:
        own, opp = record["returns"][seat], record["returns"][other]
    forfeit = record.get("forfeit")
    return {
        "opponent": seats[other],
        "seat": seat,
        "win": winner == seat,
        "draw": winner is None,
        "loss": winner == other,
        "completed": not (forfeit and forfeit["seat"] == seat),
        "own_score": own,
        "opponent_score": opp,
    }


def _nra_interval(views: list[dict], seed: int = 0) -> Interval:
    """NRA with a percentile-bootstrap interval over matches."""
    if not views:
        return Interval(math.nan, math.nan, math.nan)

    def stat(indices: Sequence[float]) -> float:
        picked = [views[int(i)] for i in indices]
        return nra([v["own_score"] for v in picked], [v["opponent_score"] for v in picked])

    return bootstrap_interval(list(range(len(views))), statistic=stat, seed=seed)


def summarize_views(views: list[dict]) -> dict:
    """Rates and NRA for a list of `match_view`s."""
    n = len(views)
    count = lambda key: sum(bool(v[key]) for v in views)  # noqa: E731
    return {
        "matches": n,
        "wins": count("win"),
        "draws": count("draw"),
        "losses": count("loss"),
        "completed": count("completed"),
        "win_rate": wilson_interval(count("win"), n).to_dict(),
        "draw_rate": wilson_interval(count("draw"), n).to_dict(),
        "completion_rate": wilson_interval(count("completed"), n).to_dict(),
        "nra": _nra_interval(views).to_dict(),
        "own_score": sum(v["own_score"] for v in views),
        "opponent_score": sum(v["opponent_score"] for v in views),
    }


def summarize(records: Iterable[dict], agent: str, games: Sequence[str]) -> dict:
    """Per opponent: per-game summaries and an `overall` row (rates pooled over matches, NRA the
    unweighted mean of per-game NRAs as in GTBench)."""
    by_opponent: dict[str, dict[str, list[dict]]] = {}
    for record in records:
        if agent in record["seats"]:
            view = match_view(record, agent)
            by_opponent.setdefault(view["opponent"], {}).setdefault(record["game"], []).append(view)
    out: dict[str, dict] = {}
    for opponent, per_game in by_opponent.items():
        rows = {g: summarize_views(per_game[g]) for g in games if g in per_game}
        pooled = summarize_views([v for g in rows for v in per_game[g]])
        nras = [rows[g]["nra"]["estimate"] for g in rows if rows[g]["nra"]["estimate"] is not None]
        pooled["nra"] = {"estimate": sum(nras) / len(nras) if nras else None, "low": None, "high": None}
        out[opponent] = {"games": rows, "overall": pooled}
    return out


def elo_ratings(
    results: Iterable[tuple[str, str, float]], k: float = ELO_K, initial: float = ELO_INITIAL
) -> dict[str, float]:
    """Sequential Elo over (a, b, score of a) results, score 1 win, 0.5 draw, 0 loss."""
    ratings: dict[str, float] = {}
    for a, b, score in results:
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"Elo score must be in [0, 1], got {score}")
        ra, rb = ratings.setdefault(a, initial), ratings.setdefault(b, initial)
        expected = 1.0 / (1.0 + 10 ** ((rb - ra) / 400.0))
        ratings[a] = ra + k * (score - expected)
        ratings[b] = rb - k * (score - expected)
    return ratings


def elo_from_records(records: Iterable[dict]) -> dict[str, float]:
    """Elo over matches in the order given (the runner sorts them canonically)."""
    results = []
    for r in records:
        a, b = r["seats"]
        score = 0.5 if r["winner_seat"] is None else float(r["winner_seat"] == 0)
        results.append((a, b, score))
    return elo_ratings(results)


def _cell(interval: dict, percent: bool) -> str:
    if interval["estimate"] is None:
        return "n/a"
    if interval.get("low") is None:
        return f"{interval['estimate'] * (100 if percent else 1):.{1 if percent else 2}f}"
    return Interval(interval["estimate"], interval["low"], interval["high"]).format(percent=percent, digits=1 if percent else 0)


def markdown_table(summary: dict, agent: str, games: Sequence[str]) -> str:
    """One table per opponent: rows are games plus Overall; columns NRA, win, draw and completion rates."""
    lines = [f"### {agent}"]
    for opponent, data in summary.items():
        lines += [
            "",
            f"**vs {opponent}**",
            "",
            "| Game | Matches | NRA | Win % | Draw % | Completion % |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        rows = [(g, data["games"][g]) for g in games if g in data["games"]] + [("**Overall**", data["overall"])]
        for name, row in rows:
            lines.append(
                f"| {name} | {row['matches']} | {_cell(row['nra'], False)} | {_cell(row['win_rate'], True)} | "
                f"{_cell(row['draw_rate'], True)} | {_cell(row['completion_rate'], True)} |"
            )
    return "\n".join(lines)


def elo_table(ratings: dict[str, float], records: Sequence[dict]) -> str:
    counts = {name: sum(name in r["seats"] for r in records) for name in ratings}
    lines = ["| Agent | Elo | Matches |", "|---|---:|---:|"]
    for name, rating in sorted(ratings.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {rating:.0f} | {counts[name]} |")
    return "\n".join(lines)
