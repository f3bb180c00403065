"""Arena metrics from match records, as GTBench defines them (formulas in docs/games.md).

Every match is `normal`, or `abnormal` with one agent at fault (its illegal or unparsable reply ended
it). Per agent, opponent and game:
- win rate = wins / normal matches (GTBench's `get_win_rate`); draw rate likewise; `n/a` without any
  normal match;
- completion rate = normal matches / all matches, and the agent's own abnormal rate = matches it
  abandoned / all matches, beside it;
- NRA = (Σ f_own − Σ f_opp) / (Σ|f_own| + Σ|f_opp|) over all matches (0 when every score is 0), with
  f = win 1, draw 1/2, loss 0 in zero-sum games and the payoff in general-sum games; an abnormal match
  is the offender's worst outcome (`ArenaGame.outcome_scores`), so an agent that never gives a legal
  move scores NRA -1 in every game. The Overall NRA is the mean of per-game NRAs, as in GTBench.
Rates carry Wilson 95% intervals, NRA a bootstrap 95% interval over matches; ratings are Bradley–Terry
with bootstrap intervals. `table5` lays out several models' results as the paper's Table 5.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from recon.stats import Interval, bootstrap_interval, bradley_terry_intervals, wilson_interval


def nra(own: Sequence[float], opponent: Sequence[float]) -> float:
    """Normalised relative advantage in [-1, 1]."""
    if len(own) != len(opponent):
        raise ValueError("own and opponent scores must pair up")
    denom = sum(abs(x) for x in own) + sum(abs(x) for x in opponent)
    return 0.0 if denom == 0 else (sum(own) - sum(opponent)) / denom


def match_view(record: dict, agent: str) -> dict:
    """One match from `agent`'s side: outcome (normal matches only), fault, scores and replies."""
    seats = record["seats"]
    if agent not in seats:
        raise ValueError(f"{agent!r} did not play this match ({seats})")
    seat = seats.index(agent)
    other = 1 - seat
    normal = record["status"] == "normal"
    winner = record["winner_seat"]
    return {
        "opponent": seats[other],
        "opponent_policy": record.get("policies", seats)[other],
        "seat": seat,
        "normal": normal,
        "win": normal and winner == seat,
        "draw": normal and winner is None,
        "loss": normal and winner == other,
        "own_fault": record["at_fault_seat"] == seat,
        "opponent_fault": record["at_fault_seat"] == other,
        "own_score": record["scores"][seat],
        "opponent_score": record["scores"][other],
        "replies": record.get("llm_replies", [0, 0])[seat],
        "bad_replies": record.get("bad_replies", [0, 0])[seat],
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
    """Counts, rates and NRA for a list of `match_view`s."""
    count = lambda key: sum(bool(v[key]) for v in views)  # noqa: E731
    n, normal = len(views), count("normal")
    replies = sum(v["replies"] for v in views)
    bad = sum(v["bad_replies"] for v in views)
    return {
        "matches": n,
        "normal": normal,
        "wins": count("win"),
        "draws": count("draw"),
        "losses": count("loss"),
        "own_abnormal": count("own_fault"),
        "opponent_abnormal": count("opponent_fault"),
        "win_rate": wilson_interval(count("win"), normal).to_dict(),
        "draw_rate": wilson_interval(count("draw"), normal).to_dict(),
        "completion_rate": wilson_interval(normal, n).to_dict(),
        "abnormal_rate": wilson_interval(count("own_fault"), n).to_dict(),
        "replies": replies,
        "illegal_replies": bad,
        "illegal_reply_rate": wilson_interval(bad, replies).to_dict(),
        "nra": _nra_interval(views).to_dict(),
        "own_score": sum(v["own_score"] for v in views),
        "opponent_score": sum(v["opponent_score"] for v in views),
    }


def summarize(records: Iterable[dict], agent: str, games: Sequence[str]) -> dict:
    """Per opponent: per-game summaries (with the policy the opponent played there, e.g. tit-for-tat
    for MCTS in the prisoner's dilemma) and an `overall` row (rates pooled over matches, NRA the
    unweighted mean of per-game NRAs as in GTBench)."""
    by_opponent: dict[str, dict[str, list[dict]]] = {}
    for record in records:
        if agent in record["seats"]:
            view = match_view(record, agent)
            by_opponent.setdefault(view["opponent"], {}).setdefault(record["game"], []).append(view)
    out: dict[str, dict] = {}
    for opponent, per_game in by_opponent.items():
        rows = {}
        for g in games:
            if g in per_game:
                rows[g] = {**summarize_views(per_game[g]), "opponent_policy": per_game[g][0]["opponent_policy"]}
        pooled = summarize_views([v for g in rows for v in per_game[g]])
        nras = [rows[g]["nra"]["estimate"] for g in rows if rows[g]["nra"]["estimate"] is not None]
        pooled["nra"] = {"estimate": sum(nras) / len(nras) if nras else None, "low": None, "high": None}
        out[opponent] = {"games": rows, "overall": pooled}
    return out


def match_results(records: Iterable[dict]) -> list[tuple[str, str, float]]:
    """(seat 0, seat 1, score of seat 0) per match for ratings: win 1, draw 1/2, loss 0; an abnormal
    match is the offender's loss."""
    out = []
    for r in records:
        a, b = r["seats"]
        out.append((a, b, 0.5 if r["winner_seat"] is None else float(r["winner_seat"] == 0)))
    return out


def ratings(records: Sequence[dict], seed: int = 0) -> dict[str, dict]:
    """Bradley–Terry ratings (Elo scale) with bootstrap 95% intervals and match counts per agent."""
    fitted = bradley_terry_intervals(match_results(records), seed=seed)
    return {
        name: {**interval.to_dict(), "matches": sum(name in r["seats"] for r in records)}
        for name, interval in fitted.items()
    }


def _overlaps(a: dict, b: dict) -> bool:
    return None not in (a["low"], b["low"]) and a["low"] <= b["high"] and b["low"] <= a["high"]


def ratings_table(rated: dict[str, dict]) -> str:
    """Agents by rating, with a note naming neighbours whose intervals overlap (order not resolved)."""
    ranked = sorted(rated.items(), key=lambda kv: -kv[1]["estimate"])
    lines = ["| Agent | Bradley–Terry rating [95% CI] | Matches |", "|---|---:|---:|"]
    for name, r in ranked:
        lines.append(f"| {name} | {r['estimate']:.0f} [{r['low']:.0f}, {r['high']:.0f}] | {r['matches']} |")
    unresolved = [f"{a} / {b}" for (a, ra), (b, rb) in zip(ranked, ranked[1:]) if _overlaps(ra, rb)]
    if unresolved:
        lines += ["", "Note: the intervals are wider than the differences for " + ", ".join(unresolved)
                  + "; these orders are not resolved by the matches played."]
    return "\n".join(lines)


def rate_cell(interval: dict, normal: int | None = None) -> str:
    """`62.5 [40.1, 80.2]`; a rate over no valid matches is `n/a (0 valid matches)`."""
    if interval["estimate"] is None:
        return "n/a (0 valid matches)" if normal == 0 else "n/a"
    return Interval(interval["estimate"], interval["low"], interval["high"]).format(percent=True, digits=1)


def nra_cell(interval: dict) -> str:
    if interval["estimate"] is None:
        return "n/a"
    if interval.get("low") is None:
        return f"{interval['estimate']:+.2f}"
    return f"{interval['estimate']:+.2f} [{interval['low']:+.2f}, {interval['high']:+.2f}]"


def markdown_table(summary: dict, agent: str, games: Sequence[str]) -> str:
    """One table per opponent: rows are games plus Overall; win and draw rates over normal matches,
    NRA over all, completion and the agent's own abnormal rate beside them, illegal replies."""
    lines = [f"### {agent}"]
    for opponent, data in summary.items():
        lines += [
            "",
            f"**vs {opponent}**",
            "",
            "| Game | Matches (normal) | Win % | Draw % | NRA | Completion % | Own abnormal % | Illegal replies |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rows = [(g, data["games"][g]) for g in games if g in data["games"]] + [("**Overall**", data["overall"])]
        for name, row in rows:
            policy = row.get("opponent_policy")
            label = f"{name} (opponent plays {policy})" if policy and policy != opponent else name
            lines.append(
                f"| {label} | {row['matches']} ({row['normal']}) | {rate_cell(row['win_rate'], row['normal'])} | "
                f"{rate_cell(row['draw_rate'], row['normal'])} | {nra_cell(row['nra'])} | "
                f"{rate_cell(row['completion_rate'])} | {rate_cell(row['abnormal_rate'])} | "
                f"{row['illegal_replies']}/{row['replies']} |"
            )
    return "\n".join(lines)


def table5(entries: Sequence[tuple[str, dict]], opponent: str | None = None) -> str:
    """The paper's Table 5 from several arena results (`(model label, results.json)`): games × models,
    win rate % vs `opponent` (default: the first LLM opponent, else the first opponent), NRA and
    completion % beside it, and a note where the models' win-rate intervals all overlap."""
    if not entries:
        return ""
    first = entries[0][1]
    opponents = [a["name"] for a in first["agents"][1:]]
    if opponent is None:
        llms = [a["name"] for a in first["agents"][1:] if a["kind"] == "LLMAgent"]
        opponent = (llms or opponents)[0]
    games = list(dict.fromkeys(g for _, r in entries for g in r["games"]))
    header = "| Game | " + " | ".join(f"{label}: win % | NRA | compl. %" for label, _ in entries) + " |"
    lines = [f"Win rate vs **{opponent}** (over normal matches), NRA and completion rate (all matches).", "",
             header, "|---" + "|---:" * (3 * len(entries)) + "|"]
    unresolved = []
    for game in games + ["overall"]:
        cells, intervals = [], []
        for _, results in entries:
            data = results["summary"][results["player"]].get(opponent, {})
            row = data.get("overall") if game == "overall" else data.get("games", {}).get(game)
            if not row:
                cells += ["—"] * 3
                continue
            if game == "overall":  # the paper's average: the mean of the per-game win rates
                rates = [g["win_rate"]["estimate"] for g in data["games"].values() if g["win_rate"]["estimate"] is not None]
                win = f"{100 * sum(rates) / len(rates):.1f}" if rates else "n/a"
            else:
                win = rate_cell(row["win_rate"], row["normal"])
                intervals.append(row["win_rate"])
            cells += [win, nra_cell(row["nra"]), rate_cell(row["completion_rate"])]
        name = "**average**" if game == "overall" else game
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        if game != "overall" and len(intervals) > 1 and all(
            _overlaps(a, b) for i, a in enumerate(intervals) for b in intervals[i + 1 :]
        ):
            unresolved.append(game)
    if unresolved:
        lines += ["", f"Note: in {len(unresolved)} of {len(games)} games ({', '.join(unresolved)}) every pair of "
                  "models' win-rate intervals overlaps: the differences there are within the noise of the matches played."]
    return "\n".join(lines)
