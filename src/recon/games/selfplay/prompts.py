"""Prompts in the format of Hua et al. (2024): the rules as one line per outcome, only `choice_k` labels
and numbers (no story), answers wrapped in `<s>…</s>`."""

from __future__ import annotations

from recon.games.library import PLAYERS, SIMULTANEOUS, Game, Move, choice_label, format_number

SYSTEM_PROMPT = "You are a rational assistant that carefully answer the question."
EXAMPLE = "For example, '<s>choice_1</s>', '<s>choice_2</s>', '<s>choice_3</s>'."
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def other(player: str) -> str:
    return PLAYERS[1 - PLAYERS.index(player)]


def ordinal(k: int) -> str:
    """1 → `first`."""
    return _ORDINALS[k - 1] if 1 <= k <= len(_ORDINALS) else f"{k}th"


def _reward(me_value: float, opponent: str, opponent_value: float) -> str:
    return (
        f"you will receive a reward of {format_number(me_value)} and {opponent} will receive a reward of "
        f"{format_number(opponent_value)}."
    )


def simultaneous_rules(game: Game, player: str) -> str:
    """One line per joint action, from `player`'s point of view."""
    me, opponent = PLAYERS.index(player), other(player)
    n_mine, n_theirs = game.n_choices if me == 0 else game.n_choices[::-1]
    blocks = []
    for a in range(n_mine):
        lines = []
        for b in range(n_theirs):
            alice_bob = game.payoffs[a][b] if me == 0 else game.payoffs[b][a]
            mine, theirs = alice_bob[me], alice_bob[1 - me]
            mine_label, theirs_label = choice_label(a), choice_label(b)
            if a == b:
                head = f"- If both you and {opponent} choose {mine_label}, "
            else:
                head = f"- If you choose {mine_label} while {opponent} chooses {theirs_label}, "
            lines.append(head + _reward(mine, opponent, theirs))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _leaf_lines(node: Move, history: tuple[tuple[str, str], ...] = ()) -> list[tuple[int, str]]:
    found = []
    for label, child in node.children.items():
        steps = history + ((node.player, label),)
        if isinstance(child, Move):
            found += _leaf_lines(child, steps)
            continue
        moves = ", ".join(f"{'' if i == 0 else 'then '}{who} chooses {what}" for i, (who, what) in enumerate(steps))
        found.append(
            (len(steps), f"If {moves}, Alice will receive a reward of {format_number(child[0])} and Bob will "
             f"receive a reward of {format_number(child[1])}.")
        )
    return found


def sequential_rules(game: Game) -> str:
    """One line per terminal history, shorter histories first (as Hua et al. enumerate them)."""
    return "\n".join(line for _, line in sorted(_leaf_lines(game.tree), key=lambda x: x[0]))


def game_setting(game: Game, player: str) -> str:
    """The introduction and rules `player` reads before every question."""
    opponent = other(player)
    if game.kind == SIMULTANEOUS:
        n_mine, n_theirs = game.n_choices if player == PLAYERS[0] else game.n_choices[::-1]
        mine = ", ".join(choice_label(k) for k in range(n_mine))
        theirs = ", ".join(choice_label(k) for k in range(n_theirs))
        return (
            "### Game Introduction\n\n"
            "You are playing a one-round game with another player to maximize the reward you can obtain. "
            "This game involves two players, Alice and Bob.\n"
            f"You are playing as {player}. You have {n_mine} choices: {mine}.\n"
            f"The other player, {opponent}, {'also has' if n_mine == n_theirs else 'has'} {n_theirs} choices: {theirs}.\n\n"
            f"### Game Rules\n\n{simultaneous_rules(game, player)}\n"
        )
    return (
        "### Game Introduction\n\n"
        "You are playing a sequential move game with another player to maximize the reward you can obtain. "
        "This game involves two players, Alice and Bob.\n"
        f"You are playing as {player}. You have different sets of actions to choose from for each round, "
        f"same for the other player, {opponent}.\n\n"
        f"### Game Rules\n\n{sequential_rules(game)}\n"
    )


def previous_actions(history: list[tuple[str, str]]) -> str:
    """Earlier moves of a sequential game (empty when there are none)."""
    if not history:
        return ""
    done = ". ".join(f"{who} chooses {what}" for who, what in history)
    return f"### Previous Actions Done in the Game\n\nThe previous actions done in the game are presented below:\n{done}\n\n"


def _negotiation_log(log: list[str], heading: str) -> str:
    return f"{heading}The previous rounds of negotiation are presented below:\n" + "\n".join(log) + "\n" if log else ""


def action_prompt(
    game: Game, player: str, choices: list[str], history: list[tuple[str, str]] | None = None, log: list[str] | None = None
) -> str:
    """Ask `player` for a move among `choices`, after the earlier moves and negotiation messages."""
    return (
        game_setting(game, player)
        + "\n"
        + _negotiation_log(log or [], "### Negotiation Messages\n\n")
        + previous_actions(history or [])
        + "### Your Action\n\n"
        "Analyse the problem and the negotiation message if there is any.\n"
        "Please choose one of the following actions to maximize your reward.\n"
        f"Surround your choice with '<s>' and '</s>' to indicate the start and end of your choice. {EXAMPLE}\n\n"
        f"Action choices: {', '.join(choices)}\n"
    )


def negotiation_prompt(
    game: Game, player: str, rounds: int, history: list[tuple[str, str]] | None = None, log: list[str] | None = None
) -> str:
    """Ask `player` for a negotiation message to the other player."""
    return (
        game_setting(game, player)
        + "\n"
        + previous_actions(history or [])
        + "### Negotiation\n\n"
        f"You can discuss with {other(player)} to maximize the reward you can obtain. "
        f"You have a maximum of {rounds} rounds to negotiate.\n"
        "Analyze the situation and decide on what to say to the other player.\n\n"
        "Surround your message with '<s>' and '</s>' to indicate the start and end of your message. "
        "For example, '<s>Hi, how are you?</s>'.\n"
        "You can also choose to halt the negotiation by saying '<s>halt negotiation</s>'.\n"
        + ("\n" + _negotiation_log(log, "") if log else "")
    )


def conversation(prompt: str) -> list[dict]:
    """The chat sent to the model: Hua et al.'s system prompt and one user turn."""
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
