"""Play one match between two agents on an OpenSpiel game, with a seeded RNG for chance nodes and
random agents, joint actions at simultaneous nodes, and a configurable rule for illegal replies."""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from recon.games.arena.agents import Agent, Turn
from recon.games.arena.games import ArenaGame
from recon.games.arena.parse import ParsedAction, parse_action
from recon.games.stats import derive_seed

IllegalRule = Literal["forfeit", "retry"]
ILLEGAL_RULES: tuple[str, ...] = ("forfeit", "retry")


def _key_table(arena_game: ArenaGame, game, state, player: int, cache: dict) -> dict[str, list[int]]:
    key = (arena_game.name, player)
    if key not in cache:
        cache[key] = arena_game.key_table(game, state, player)
    return cache[key]


def _feedback(parsed: ParsedAction, actions: str) -> str:
    what = (
        f"The action {parsed.tag} is not legal now."
        if parsed.status == "illegal"
        else f"I could not read an action from your reply ({parsed.reason})."
    )
    return f"{what} Your legal actions: {actions}\n\nReply with exactly one legal action, written with its angle brackets."


def _llm_decision(
    agent: Agent, turn: Turn, table, seed: int, illegal: IllegalRule, max_retries: int, strict: bool
) -> dict:
    prompt = agent.prompt(turn)
    messages = [{"role": "user", "content": prompt}]
    attempts = []
    parsed = ParsedAction("unparsable", None, None, "not asked")
    tries = 1 + (max_retries if illegal == "retry" else 0)
    for attempt in range(tries):
        completion = agent.reply(messages, seed=derive_seed(seed, attempt))
        if completion.error:
            parsed = ParsedAction("unparsable", None, None, f"backend error: {completion.error}")
        else:
            parsed = parse_action(completion.full_text, table, turn.legal, turn.labels, strict=strict)
        attempts.append(
            {
                "reply": completion.text,
                "reasoning": completion.reasoning,
                "status": parsed.status,
                "tag": parsed.tag,
                "reason": parsed.reason,
                "finish_reason": completion.finish_reason,
                "completion_tokens": completion.completion_tokens,
                "error": completion.error,
            }
        )
        if parsed.status == "ok":
            break
        if attempt + 1 < tries:
            messages = messages + [
                {"role": "assistant", "content": completion.text},
                {"role": "user", "content": _feedback(parsed, turn.legal_text())},
            ]
    return {"prompt": prompt, "attempts": attempts, "parsed": parsed}


def play_match(
    arena_game: ArenaGame,
    agents: tuple[Agent, Agent] | list[Agent],
    seed: int,
    illegal: IllegalRule = "forfeit",
    max_retries: int = 2,
    strict_tags: bool = False,
) -> dict:
    """Play to the end (or to a forfeit) and return the match record: seats, returns, winner, every
    move with prompts and replies for LLM agents.

    Under `forfeit` (GTBench's rule) the first unparsable or illegal reply ends the match as the
    offender's loss; under `retry` the agent is told what was wrong and asked again, up to
    `max_retries` times, before the same forfeit applies. `strict_tags` accepts only tagged actions
    (no bare labels in prose).
    """
    if illegal not in ILLEGAL_RULES:
        raise ValueError(f"illegal must be one of {ILLEGAL_RULES}, got {illegal!r}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    if len(agents) != 2:
        raise ValueError("a match needs exactly two agents")
    import pyspiel

    started = time.perf_counter()
    game = arena_game.load(seed)
    state = game.new_initial_state()
    # Chance has its own stream, so seat-swapped matches with one seed see the same dice and deals.
    chance_rng = np.random.RandomState(derive_seed(seed, "chance"))
    agent_rngs = [np.random.RandomState(derive_seed(seed, "agent", seat)) for seat in (0, 1)]
    for seat, agent in enumerate(agents):
        agent.start_match(arena_game, game, seat, derive_seed(seed, "seat", seat))
    tables: dict = {}
    moves: list[dict] = []
    history: list[tuple[int, int]] = []
    public: list[tuple[int, str]] = []
    bad_replies = [0, 0]
    forfeit = None
    decision_index = 0
    while not state.is_terminal():
        if state.is_chance_node():
            actions, probs = zip(*state.chance_outcomes())
            probs = np.asarray(probs, dtype=float)
            action = int(actions[chance_rng.choice(len(actions), p=probs / probs.sum())])
            moves.append({"player": "chance", "action": action, "label": state.action_to_string(pyspiel.PlayerId.CHANCE, action)})
            state.apply_action(action)
            continue
        players = list(range(game.num_players())) if state.is_simultaneous_node() else [state.current_player()]
        chosen: dict[int, int] = {}
        chosen_labels: dict[int, str] = {}
        for player in players:
            agent = agents[player]
            legal = [int(a) for a in state.legal_actions(player)]
            labels = {a: arena_game.label(state, player, a) for a in legal}
            record = {"player": player, "agent": agent.name}
            if agent.is_llm:
                turn = Turn(
                    arena_game,
                    state,
                    player,
                    legal,
                    labels,
                    [("you" if s == player else "opponent", lab) for s, lab in public],
                )
                table = _key_table(arena_game, game, state, player, tables)
                result = _llm_decision(
                    agent, turn, table, derive_seed(seed, decision_index), illegal, max_retries, strict_tags
                )
                parsed = result["parsed"]
                bad_replies[player] += sum(a["status"] != "ok" for a in result["attempts"])
                record.update(prompt=result["prompt"], attempts=result["attempts"])
                if parsed.status != "ok":
                    record.update(action=None, label=parsed.tag, status=parsed.status)
                    moves.append(record)
                    forfeit = {"seat": player, "agent": agent.name, "status": parsed.status, "reason": parsed.reason}
                    break
                action = parsed.action
            else:
                action = int(agent.choose(arena_game, state, player, agent_rngs[player], list(history)))
                if action not in labels:
                    raise RuntimeError(f"agent {agent.name} chose illegal action {action} in {arena_game.name}")
            record.update(action=action, label=labels[action], status="ok")
            moves.append(record)
            chosen[player] = action
            chosen_labels[player] = labels[action]
            decision_index += 1
        if forfeit:
            break
        if state.is_simultaneous_node():
            state.apply_actions([chosen[p] for p in players])
        else:
            state.apply_action(chosen[players[0]])
        for player in players:
            history.append((player, chosen[player]))
            public.append((player, chosen_labels[player]))
    returns = [float(r) for r in state.returns()]
    names = [a.name for a in agents]
    if forfeit is not None:
        winner_seat = 1 - forfeit["seat"]
    elif returns[0] != returns[1]:
        winner_seat = int(returns[1] > returns[0])
    else:
        winner_seat = None
    return {
        "game": arena_game.name,
        "seed": seed,
        "seats": names,
        "returns": returns,
        "zero_sum": arena_game.zero_sum,
        "terminal": bool(state.is_terminal()),
        "completed": forfeit is None,
        "forfeit": forfeit,
        "winner": names[winner_seat] if winner_seat is not None else None,
        "winner_seat": winner_seat,
        "draw": winner_seat is None,
        "bad_replies": bad_replies,
        "num_moves": sum(m["player"] != "chance" for m in moves),
        "seconds": round(time.perf_counter() - started, 3),
        "moves": moves,
    }
