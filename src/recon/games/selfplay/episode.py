"""One self-play trial as a generator: it yields the questions it needs answered (a list of `Ask`, all
independent of each other) and receives one completion per question, so a driver can batch the
questions of many trials through a backend. The generator's return value is the trial's record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator, Literal

from recon.games.library import PLAYERS, SIMULTANEOUS, Game, Move, choice_label
from recon.games.selfplay.parse import TagChoice, is_halt, parse_choice, parse_message
from recon.games.selfplay.prompts import action_prompt, conversation, negotiation_prompt, ordinal

WhoFirst = Literal["Alice", "Bob"]


@dataclass(frozen=True)
class Reading:
    """How replies are read: which `<s>` tag counts (Hua et al.: the first) and whether the model
    thinks (then only text after `</think>` counts)."""

    tag: TagChoice = "first"
    thinking: bool = False


@dataclass(frozen=True)
class Ask:
    """One question to one player: a move among `choices`, or a negotiation message (`choices` empty)."""

    player: str
    prompt: str
    choices: tuple[str, ...] = ()
    reading: Reading = Reading()

    @property
    def purpose(self) -> str:
        return "move" if self.choices else "message"

    @property
    def messages(self) -> list[dict]:
        return conversation(self.prompt)

    def parse(self, text: str) -> str | None:
        which, thinking = self.reading.tag, self.reading.thinking
        if self.choices:
            return parse_choice(text, len(self.choices), which, thinking)
        return parse_message(text, which, thinking)


Trial = Generator[list[Ask], list[Any], dict]


def ask_parsed(asks: list[Ask], max_retries: int, turns: list[dict]) -> Generator[list[Ask], list[Any], list[str | None]]:
    """Ask every question; re-ask (same prompt, fresh sample) those whose reply does not parse, at most
    `max_retries` times. Every attempt is appended to `turns`. Returns the parsed answers (None: gave up)."""
    answers: list[str | None] = [None] * len(asks)
    pending = list(range(len(asks)))
    for attempt in range(max_retries + 1):
        completions = yield [asks[i] for i in pending]
        if len(completions) != len(pending):
            raise RuntimeError(f"expected {len(pending)} completions, got {len(completions)}")
        still = []
        for i, completion in zip(pending, completions):
            error = completion.error
            text = completion.text or ""
            value = None if error else asks[i].parse(completion.full_text)
            turns.append(
                {
                    "player": asks[i].player,
                    "purpose": asks[i].purpose,
                    "attempt": attempt,
                    "prompt": asks[i].prompt,
                    "reply": text,
                    "reasoning": completion.reasoning,
                    "error": error,
                    "parsed": value,
                }
            )
            if value is None:
                still.append(i)
            else:
                answers[i] = value
        pending = still
        if not pending:
            break
    return answers


def _gave_up(player: str, purpose: str, max_retries: int) -> str:
    what = "a choice in <s>…</s>" if purpose == "move" else "a message in <s>…</s>"
    return f"{player} gave no parsable {what} in {max_retries + 1} attempts"


def negotiate(
    game: Game,
    rounds: int,
    history: list[tuple[str, str]],
    log: list[str],
    max_retries: int,
    turns: list[dict],
    who_first: WhoFirst = "Alice",
    reading: Reading = Reading(),
) -> Generator[list[Ask], list[Any], str | None]:
    """Up to `rounds` exchanges (`who_first` speaks, the other replies) appended to `log`, which both
    players see. Returns a failure reason, or None."""
    before = f" before the {ordinal(len(history) + 1)} action:\n" if game.kind != SIMULTANEOUS else ": "
    order = PLAYERS if who_first == PLAYERS[0] else PLAYERS[::-1]
    for r in range(1, rounds + 1):
        for player, verb in zip(order, ("said", "replied")):
            ask = Ask(player, negotiation_prompt(game, player, rounds, history, log), reading=reading)
            (message,) = yield from ask_parsed([ask], max_retries, turns)
            if message is None:
                return _gave_up(player, "message", max_retries)
            if is_halt(message):
                return None
            log.append(f"{player} {verb} in round {r}{before}{message}")
    return None


def play_trial(
    game: Game,
    max_retries: int = 3,
    negotiation_rounds: int = 0,
    who_first: WhoFirst = "Alice",
    reading: Reading = Reading(),
) -> Trial:
    """Self-play one trial of `game`. Simultaneous: both players are asked at once and neither sees the
    other's choice. Sequential: the mover is asked at each node and sees the earlier moves.
    `who_first` opens each negotiation round (Hua et al.'s `--who_first`)."""
    if who_first not in PLAYERS:
        raise ValueError(f"who_first must be one of {PLAYERS}, got {who_first!r}")
    turns: list[dict] = []
    log: list[str] = []
    record: dict[str, Any] = {"turns": turns, "negotiation": log, "outcome": None, "failure": None}
    if game.kind == SIMULTANEOUS:
        if negotiation_rounds:
            record["failure"] = yield from negotiate(game, negotiation_rounds, [], log, max_retries, turns, who_first, reading)
            if record["failure"]:
                return record
        asks = [
            Ask(player, action_prompt(game, player, choices, log=log), tuple(choices), reading)
            for player, choices in zip(PLAYERS, ([choice_label(k) for k in range(n)] for n in game.n_choices))
        ]
        moves = yield from ask_parsed(asks, max_retries, turns)
        for ask, move in zip(asks, moves):
            if move is None:
                record["failure"] = _gave_up(ask.player, "move", max_retries)
                return record
        record["outcome"] = list(moves)
        return record
    node, history = game.tree, []
    while isinstance(node, Move):
        if negotiation_rounds:
            record["failure"] = yield from negotiate(
                game, negotiation_rounds, history, log, max_retries, turns, who_first, reading
            )
            if record["failure"]:
                return record
        choices = list(node.children)
        ask = Ask(node.player, action_prompt(game, node.player, choices, history, log), tuple(choices), reading)
        (move,) = yield from ask_parsed([ask], max_retries, turns)
        if move is None:
            record["failure"] = _gave_up(node.player, "move", max_retries)
            return record
        history.append((node.player, move))
        node = node.children[move]
    record["outcome"] = [move for _, move in history]
    return record
