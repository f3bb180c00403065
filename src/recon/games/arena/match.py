"""Play one match between two agents on an OpenSpiel game, with a seeded RNG for chance nodes and
random agents, joint actions at simultaneous nodes, and a configurable rule for illegal replies."""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from recon.games.arena.agents import Agent, Turn
from recon.games.arena.games import ArenaGame
from recon.games.arena.parse import PARSE_MODES, ParsedAction, ParseMode, parse_action
from recon.stats import derive_seed

IllegalRule = Literal["forfeit", "retry"]
ILLEGAL_RULES: tuple[str, ...] = ("forfeit", "retry")


def _feedback(parsed: ParsedAction, actions: str) -> str:
    what = (
        f"The action {parsed.tag} is not legal now."
        if parsed.status == "illegal"
        else f"I could not read an action from your reply ({parsed.reason})."
    )
    return f"{what} Your legal actions: {actions}\n\nReply with exactly one legal action, written with its angle brackets."


def _llm_decision(agent: Agent, turn: Turn, seed: int, illegal: IllegalRule, max_retries: int, parse: ParseMode) -> dict:
    messages = agent.messages(turn)
    attempts = []
    parsed = ParsedAction("unparsable", None, None, "not asked")
    tries = 1 + (max_retries if illegal == "retry" else 0)
    for attempt in range(tries):
        completion = agent.reply(messages, seed=derive_seed(seed, attempt))
        if completion.error:
            parsed = ParsedAction("unparsable", None, None, f"backend error: {completion.error}")
        else:
            parsed = parse_action(
                completion.full_text, turn.game, turn.state, turn.player, turn.legal, parse, thinking=agent.thinking
            )
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
    return {"prompt": messages[1]["content"], "attempts": attempts, "parsed": parsed}


def play_match(
    arena_game: ArenaGame,
    agents: tuple[Agent, Agent] | list[Agent],
    seed: int,
    illegal: IllegalRule = "forfeit",
    max_retries: int = 2,
    parse: ParseMode = "strict",
) -> dict:
    """Play to the end (or to the first illegal move) and return the match record: seats, status,
    returns, NRA scores, winner, every move with prompts and replies for LLM agents.

    As in GTBench, a turn with one legal action plays it without asking, and the first unparsable or
    illegal reply ends the match with status `abnormal` and that agent at fault (`forfeit`); under
    `retry` the agent is told what was wrong and asked again, up to `max_retries` times, before the
    match is abandoned the same way. `parse`: `strict` (tags of the game's grammar only) or `lenient`.
    """
    if illegal not in ILLEGAL_RULES:
        raise ValueError(f"illegal must be one of {ILLEGAL_RULES}, got {illegal!r}")
    if parse not in PARSE_MODES:
        raise ValueError(f"parse must be one of {PARSE_MODES}, got {parse!r}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    if len(agents) != 2:
        raise ValueError("a match needs exactly two agents")
    from recon.errors import require

    pyspiel = require("pyspiel", "games", "the games arena")

    started = time.perf_counter()
    game = arena_game.load(seed)
    state = game.new_initial_state()
    # Chance has its own stream, so seat-swapped matches with one seed see the same dice and deals.
    chance_rng = np.random.RandomState(derive_seed(seed, "chance"))
    agent_rngs = [np.random.RandomState(derive_seed(seed, "agent", seat)) for seat in (0, 1)]
    for seat, agent in enumerate(agents):
        agent.start_match(arena_game, game, seat, derive_seed(seed, "seat", seat))
    moves: list[dict] = []
    history: list[tuple[int, int]] = []
    public: list[tuple[int, str]] = []
    bad_replies = [0, 0]
    llm_replies = [0, 0]
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
            if len(legal) == 1 and not state.is_simultaneous_node():
                action = legal[0]
                record["forced"] = True
            elif agent.is_llm:
                turn = Turn(
                    arena_game,
                    state,
                    player,
                    legal,
                    labels,
                    [("you" if s == player else "opponent", lab) for s, lab in public],
                )
                result = _llm_decision(agent, turn, derive_seed(seed, decision_index), illegal, max_retries, parse)
                parsed = result["parsed"]
                llm_replies[player] += len(result["attempts"])
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
    offender = forfeit["seat"] if forfeit else None
    if offender is not None:
        winner_seat = 1 - offender
    elif returns[0] != returns[1]:
        winner_seat = int(returns[1] > returns[0])
    else:
        winner_seat = None
    return {
        "game": arena_game.name,
        "seed": seed,
        "seats": names,
        "policies": [a.policy(arena_game) for a in agents],
        "status": "normal" if offender is None else "abnormal",
        "at_fault_seat": offender,
        "at_fault": None if offender is None else names[offender],
        "returns": returns,
        "scores": arena_game.outcome_scores(state, offender),
        "zero_sum": arena_game.zero_sum,
        "terminal": bool(state.is_terminal()),
        "forfeit": forfeit,
        "winner": names[winner_seat] if winner_seat is not None else None,
        "winner_seat": winner_seat,
        "draw": offender is None and winner_seat is None,
        "llm_replies": llm_replies,
        "bad_replies": bad_replies,
        "num_moves": sum(m["player"] != "chance" for m in moves),
        "seconds": round(time.perf_counter() - started, 3),
        "moves": moves,
    }
