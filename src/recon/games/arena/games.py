"""The ten GTBench games on OpenSpiel: how each is loaded, its rules in words, how a state is shown to
a player, and how every OpenSpiel action is named as a tag (`<C1R2>`, `<Bet>`, `<pile:2, take:1>`, …).

Parameters follow GTBench (Duan et al. 2024): breakthrough on 3 columns, nim with piles 1;3;5;7 and
misère play (the player who takes the last object loses), pig to 20 points, the Python iterated
prisoner's dilemma with its default payoffs and 1/8 stopping chance after each round. Each game also
states its tag grammar (strict parsing), its GTBench system-prompt note and, for general-sum games, the
scores of an abnormal match (docs/games.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

GAME_NAMES: tuple[str, ...] = (
    "tic_tac_toe",
    "connect_four",
    "breakthrough",
    "first_sealed_auction",
    "kuhn_poker",
    "liars_dice",
    "negotiation",
    "nim",
    "pig",
    "iterated_prisoners_dilemma",
)

# Above this many legal actions the prompt states the action pattern instead of listing every tag.
MAX_LISTED_ACTIONS = 40

PIG_TARGET = 20
NIM_PILES = (1, 3, 5, 7)
IPD_PAYOFF = {("C", "C"): (5, 5), ("C", "D"): (0, 10), ("D", "C"): (10, 0), ("D", "D"): (1, 1)}
IPD_STOP_PROBABILITY = 0.125

# GTBench's system prompt; breakthrough and liar's dice add MUST_CHOOSE_LEGAL.
SYSTEM_PROMPT = (
    "You are a powerful gaming agent who can make proper decisions to beat the user in gaming tasks. "
    "You are a helpful assistant that strictly follows the user's instructions."
)
MUST_CHOOSE_LEGAL = "You must answer your questions by choosing one of the legal moves given by the user!"


def action_key(text: str) -> str:
    """What a tag means regardless of spelling: lower case, letters and digits only
    (`<Pile: 2, Take: 1>` and `<pile:2,take:1>` both give `pile2take1`)."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


# A tag grammar rule: a pattern the whole tag content must match (case-insensitive) and the canonical
# label it names, given the match, the state and the player to move.
Rule = tuple[re.Pattern, Callable]


def _rules(*pairs: tuple[str, Callable]) -> tuple[Rule, ...]:
    return tuple((re.compile(pattern, re.IGNORECASE), to_label) for pattern, to_label in pairs)


def _fixed(label: str) -> Callable:
    return lambda m, state, player: label


@dataclass(frozen=True)
class ArenaGame:
    """One arena game. `label(state, player, action)` names an action as a tag; `describe(state, player)`
    is what that player may see (never the opponent's private information); `show_history` adds the list
    of earlier moves to the prompt (games whose description already holds it, or where moves are
    hidden, leave it out).

    `grammar` is what strict parsing accepts: the content of a `<…>` tag must match one rule whole, and
    the rule names the move as a canonical label (this game's tags and GTBench's, e.g. liar's dice
    `<1 dices, 3 value>` is `<1-3>`). `aliases` (`check` → `<Pass>`) are read only by lenient parsing.
    `nearest_legal` maps a well-formed but illegal move to a legal one (GTBench snaps auction bids).
    `forfeit_payoffs(state, offender)` (general-sum games) gives the offender's worst payoff and the
    opponent's best one reachable from `state`, the scores of an abnormal match.
    """

    name: str
    title: str
    spec: str
    zero_sum: bool
    rules: str
    describe: Callable
    label: Callable
    grammar: tuple[Rule, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    legal_summary: Callable | None = None
    show_history: bool = True
    seeded_spec: Callable[[int], str] | None = None
    nearest_legal: Callable | None = None
    forfeit_payoffs: Callable | None = None
    system_note: str = ""

    def load(self, seed: int):
        """The pyspiel game for a match seed. Negotiation draws its pools from the game's own RNG,
        so it is loaded afresh for every match (a cached game would advance that RNG)."""
        if self.seeded_spec:
            return _load.__wrapped__(self.seeded_spec(seed))
        return _load(self.spec)

    def read_tag(self, content: str, state, player: int) -> str | None:
        """The canonical label a tag's content names under the grammar, or None."""
        content = " ".join(content.split())
        for pattern, to_label in self.grammar:
            match = pattern.fullmatch(content)
            if match:
                return to_label(match, state, player)
        return None

    def outcome_scores(self, state, offender: int | None) -> list[float]:
        """Each seat's score f for NRA: zero-sum games win 1, draw 1/2, loss 0; general-sum games the
        payoff. An abnormal match (`offender` set) is the offender's worst outcome: a loss, or its
        minimum payoff against the opponent's best payoff (`forfeit_payoffs`)."""
        if self.zero_sum:
            if offender is not None:
                return [float(seat != offender) for seat in (0, 1)]
            r = state.returns()
            return [1.0 if r[s] > r[1 - s] else 0.5 if r[s] == r[1 - s] else 0.0 for s in (0, 1)]
        if offender is None:
            return [float(x) for x in state.returns()]
        worst, best = self.forfeit_payoffs(state, offender)
        return [float(worst), float(best)] if offender == 0 else [float(best), float(worst)]


@lru_cache(maxsize=64)
def _load(spec: str):
    from recon.errors import require

    pyspiel = require("pyspiel", "games", "the games arena")

    if spec.startswith("python_"):
        import open_spiel.python.games  # noqa: F401  (registers the Python games)
    return pyspiel.load_game(spec)


# --- tic-tac-toe ---------------------------------------------------------------------------------


def _ttt_label(state, player, action):
    return f"<C{action % 3 + 1}R{action // 3 + 1}>"


def _grid(rows: list[str], col_names: list[str], row_names: list[str]) -> str:
    lines = ["    " + " ".join(f"{c:>2}" for c in col_names)]
    lines += [f"{r:>3} " + " ".join(f"{ch:>2}" for ch in row) for r, row in zip(row_names, rows)]
    return "\n".join(lines)


def _ttt_describe(state, player):
    rows = state.observation_string(player).strip().split("\n")
    mark = "x" if player == 0 else "o"
    return f"You play {mark} ({'first' if player == 0 else 'second'}). Board (. is empty):\n" + _grid(
        rows, ["C1", "C2", "C3"], ["R1", "R2", "R3"]
    )


# --- connect four --------------------------------------------------------------------------------


def _c4_label(state, player, action):
    return f"<C{action + 1}>"


def _c4_describe(state, player):
    rows = [r for r in state.observation_string(player).split("\n") if r]
    mark = "x" if player == 0 else "o"
    return f"You play {mark} ({'first' if player == 0 else 'second'}). Board, top row first (. is empty):\n" + _grid(
        rows, [f"C{i + 1}" for i in range(len(rows[0]))], [""] * len(rows)
    )


# --- breakthrough --------------------------------------------------------------------------------


def _bt_label(state, player, action):
    move = state.action_to_string(player, action).rstrip("*")
    return f"<{move[:2]}->{move[2:4]}>"


def _bt_describe(state, player):
    side = "b (black, starting on rows 7-8 and moving down towards row 1)" if player == 0 else (
        "w (white, starting on rows 1-2 and moving up towards row 8)"
    )
    return f"You play {side}. Board (. is empty):\n{state.observation_string(player).rstrip()}"


# --- first-price sealed-bid auction ---------------------------------------------------------------


def _auction_label(state, player, action):
    return f"<Bid: {action}>"


def _valuation(state, player) -> int:
    return int(state.information_state_string(player).split()[-1])


def _auction_describe(state, player):
    return f"Your valuation of the item is {_valuation(state, player)}. Your opponent's valuation is private to them."


def _auction_nearest(label: str, legal_labels: dict[str, int]) -> int | None:
    """GTBench's rule for a bid outside 0 … valuation-1: the nearest legal bid (the higher on a tie)."""
    bid = int(re.search(r"\d+", label).group())
    bids = {int(re.search(r"\d+", lab).group()): a for lab, a in legal_labels.items()}
    return bids[min(bids, key=lambda b: (abs(b - bid), -b))] if bids else None


def _auction_forfeit(state, offender):
    """The offender bids nothing (payoff 0); the opponent wins at bid 0, its whole valuation."""
    return 0.0, float(_valuation(state, 1 - offender))


# --- Kuhn poker ----------------------------------------------------------------------------------

_CARDS = "JQK"


def _kuhn_label(state, player, action):
    return "<Pass>" if action == 0 else "<Bet>"


def _kuhn_describe(state, player):
    info = state.information_state_string(player)
    card, betting = _CARDS[int(info[0])], info[1:]
    seats = ["you" if p == player else "opponent" for p in (0, 1)]
    moves = [f"{seats[i % 2]}: {'Bet' if ch == 'b' else 'Pass'}" for i, ch in enumerate(betting)]
    return f"You are player {player + 1} ({'first' if player == 0 else 'second'} to act). Your card: {card}.\n" + (
        "Betting so far: " + ", ".join(moves) if moves else "Betting so far: none"
    )


# --- Liar's dice ---------------------------------------------------------------------------------


def _dice_label(state, player, action):
    return f"<{state.action_to_string(player, action)}>"


def _dice_describe(state, player):
    info = state.information_state_string(player).split()
    return f"Your die shows {info[0]}. Bids so far (quantity-face, oldest first): " + (
        ", ".join(info[1:]) if len(info) > 1 else "none"
    )


# --- negotiation ---------------------------------------------------------------------------------

_PROPOSALS = 6**3


def _nego_label(state, player, action):
    if action < _PROPOSALS:
        return f"<Proposal: [{action // 36}, {action // 6 % 6}, {action % 6}]>"
    if action == _PROPOSALS:
        return "<Agree>"
    u = action - _PROPOSALS - 1
    return f"<Utterance: [{u // 25}, {u // 5 % 5}, {u % 5}]>"


def _nego_lines(state, player) -> dict[str, str]:
    lines = {}
    for line in state.observation_string(player).split("\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            lines[k.strip()] = v.strip()
    return lines


def _nego_describe(state, player):
    info = _nego_lines(state, player)
    text = (
        f"Item pool (counts of item types 1, 2, 3): {info['Item pool']}.\n"
        f"Your values per item of types 1, 2, 3: {info[f'Agent {player} util vec']}. "
        "The opponent's values are private to them.\n"
        f"The negotiation ends without agreement after {info['Max steps']} turns.\n"
        f"Now it is your {info['Turn Type'].lower()} turn."
    )
    if "Most recent proposal" in info:
        text += f"\nMost recent proposal: {info['Most recent proposal']}"
    if "Most recent utterance" in info:
        text += f"\nMost recent utterance: {info['Most recent utterance']}"
    return text


def _nego_turn(state, player) -> str:
    return _nego_lines(state, player)["Turn Type"].capitalize()


def _nego_vector(m: re.Match, state, player) -> str:
    kind = (m.group(1) or _nego_turn(state, player)).capitalize()
    return f"<{kind}: [{int(m.group(2))}, {int(m.group(3))}, {int(m.group(4))}]>"


def _nego_forfeit(state, offender):
    """No deal for the offender (payoff 0); the opponent keeps the whole pool at its own values."""
    info = _nego_lines(state, 1 - offender)
    pool = map(int, info["Item pool"].split())
    values = map(int, info[f"Agent {1 - offender} util vec"].split())
    return 0.0, float(sum(n * v for n, v in zip(pool, values)))


def _nego_summary(state, player, legal: list[int]) -> str:
    pool = _nego_lines(state, player)["Item pool"].split()
    if legal[0] > _PROPOSALS:
        return "<Utterance: [a, b, c]> with whole numbers 0 <= a, b, c <= 4 (a cheap-talk message)"
    text = (
        f"<Proposal: [a, b, c]> with whole numbers 0 <= a <= {pool[0]}, 0 <= b <= {pool[1]}, 0 <= c <= {pool[2]} "
        "(the items you would keep)"
    )
    return text + (", or <Agree> to accept the most recent proposal" if _PROPOSALS in legal else "")


# --- nim -----------------------------------------------------------------------------------------


def _nim_label(state, player, action):
    return f"<pile:{action % len(NIM_PILES) + 1}, take:{action // len(NIM_PILES) + 1}>"


def _nim_describe(state, player):
    piles = state.observation_string(player).split(":", 1)[1].split()
    return "Objects left in piles 1-{}: {}.".format(len(piles), ", ".join(f"pile {i + 1}: {n}" for i, n in enumerate(piles)))


# --- pig -----------------------------------------------------------------------------------------


def _pig_label(state, player, action):
    return "<Roll>" if action == 0 else "<Stop>"


def _pig_describe(state, player):
    match = re.search(r"Scores: (\d+) (\d+), Turn total: (\d+)", state.observation_string(player))
    scores, turn = match.group(1, 2), match.group(3)
    return f"Your score: {scores[player]}. Opponent's score: {scores[1 - player]}. Points accumulated this turn: {turn}."


# --- iterated prisoner's dilemma -----------------------------------------------------------------


def _ipd_label(state, player, action):
    return "<Cooperate>" if action == 0 else "<Defect>"


def _ipd_describe(state, player):
    moves = dict(part.split(":", 1) for part in str(state).split())
    mine, theirs = moves.get(f"p{player}", ""), moves.get(f"p{1 - player}", "")
    if not mine:
        return "This is the first round."
    rounds = [f"round {i + 1}: you {a}, opponent {b}" for i, (a, b) in enumerate(zip(mine, theirs))]
    total = [sum(IPD_PAYOFF[(a, b)][k] for a, b in zip(mine, theirs)) for k in (0, 1)]
    return (
        "History (C = cooperate, D = defect): " + "; ".join(rounds) + f".\nTotal so far: you {total[0]}, opponent {total[1]}."
    )


def _ipd_forfeit(state, offender):
    """The offender's minimum total (0); the opponent's payoff so far plus the best payoff of the
    round being played (defecting against a cooperator)."""
    best = max(p[1] for p in IPD_PAYOFF.values())
    return 0.0, float(state.returns()[1 - offender]) + best


_IPD_RULES = (
    "Each round both players simultaneously choose to cooperate or defect. Payoffs per round (you, opponent): "
    + "; ".join(
        f"you {'cooperate' if a == 'C' else 'defect'} and opponent {'cooperates' if b == 'C' else 'defects'}: {p[0]}, {p[1]}"
        for (a, b), p in IPD_PAYOFF.items()
    )
    + f". After each round the game stops with probability {IPD_STOP_PROBABILITY} (otherwise another round is "
    "played). Your score is your total payoff over all rounds. Actions: <Cooperate>, <Defect>."
)


GAMES: dict[str, ArenaGame] = {
    g.name: g
    for g in (
        ArenaGame(
            "tic_tac_toe",
            "Tic-Tac-Toe",
            "tic_tac_toe",
            True,
            "Two players take turns marking empty squares of a 3x3 grid; x moves first. The first to get three "
            "marks in a row, column or diagonal wins; a full grid with no line is a draw. Square <CcRr> is "
            "column c, row r (1 to 3).",
            _ttt_describe,
            _ttt_label,
            grammar=_rules((r"C\s*([1-3])\s*R\s*([1-3])", lambda m, s, p: f"<C{m[1]}R{m[2]}>")),
        ),
        ArenaGame(
            "connect_four",
            "Connect Four",
            "connect_four",
            True,
            "Two players take turns dropping a disc into one of 7 columns of a 6-row grid; the disc falls to the "
            "lowest empty cell. The first to connect four of their discs in a row, column or diagonal wins; a "
            "full grid is a draw. <Cc> drops a disc into column c (1 to 7).",
            _c4_describe,
            _c4_label,
            grammar=_rules((r"(?:C|Column)\s*([1-7])", lambda m, s, p: f"<C{m[1]}>")),
        ),
        ArenaGame(
            "breakthrough",
            "Breakthrough",
            "breakthrough(columns=3,rows=8)",
            True,
            "Breakthrough on a board of 8 rows and 3 columns (a-c). Each player starts with two rows of pieces. "
            "A piece moves one square forward, straight or diagonally, onto an empty square, and may capture an "
            "opponent's piece diagonally forward (never straight). The first player to reach the opponent's "
            "home row, or to capture all opposing pieces, wins. <a7->b6> moves the piece on a7 to b6.",
            _bt_describe,
            _bt_label,
            grammar=_rules(
                (r"([a-c][1-8])\s*-\s*([a-c][1-8])\*?", lambda m, s, p: f"<{m[1].lower()}->{m[2].lower()}>")
            ),
            system_note=MUST_CHOOSE_LEGAL,
        ),
        ArenaGame(
            "first_sealed_auction",
            "First-Price Sealed-Bid Auction",
            "first_sealed_auction(max_value=10,players=2)",
            False,
            "Each of two bidders privately learns their own valuation of an item (a whole number from 1 to 10) "
            "and submits one sealed bid, lower than their valuation, without seeing the other's bid. The "
            "highest bid wins; ties are broken at random. The winner's payoff is their valuation minus their "
            "bid; the loser's payoff is 0. <Bid: x> bids x.",
            _auction_describe,
            _auction_label,
            grammar=_rules((r"(?:Bid\s*:?\s*)?(\d+)", lambda m, s, p: f"<Bid: {int(m[1])}>")),
            show_history=False,
            nearest_legal=_auction_nearest,
            forfeit_payoffs=_auction_forfeit,
        ),
        ArenaGame(
            "kuhn_poker",
            "Kuhn Poker",
            "kuhn_poker(players=2)",
            True,
            "A three-card deck (J < Q < K); each player antes 1 chip and gets one private card. Player 1 acts "
            "first. <Pass> checks (or folds after a bet); <Bet> puts in 1 more chip (or calls a bet). After pass "
            "then bet, player 1 may still call or fold. If someone folds, the other takes the pot; otherwise the "
            "higher card takes the pot. You win the match if you end with more chips than you started with.",
            _kuhn_describe,
            _kuhn_label,
            grammar=_rules(("Pass", _fixed("<Pass>")), ("Bet", _fixed("<Bet>"))),
            aliases={"check": "<Pass>", "fold": "<Pass>", "call": "<Bet>"},
            show_history=False,
        ),
        ArenaGame(
            "liars_dice",
            "Liar's Dice",
            "liars_dice(numdice=1,players=2)",
            True,
            "Each of two players rolls one private six-sided die; 6 is wild (counts as every face). Players take "
            "turns bidding on how many dice in total show a face: <q-f> claims at least q dice show face f. "
            "Each bid must be higher than the previous one (a higher quantity, or the same quantity with a "
            "higher face). Instead of bidding you may call <Liar> on the previous bid: if the bid is true the "
            "caller loses, otherwise the bidder loses.",
            _dice_describe,
            _dice_label,
            grammar=_rules(
                (r"(\d+)\s*-\s*([1-6])", lambda m, s, p: f"<{int(m[1])}-{m[2]}>"),
                (r"(\d+) dices?, ([1-6]) values?", lambda m, s, p: f"<{int(m[1])}-{m[2]}>"),
                (r"Liar!?", _fixed("<Liar>")),
            ),
            aliases={"challenge": "<Liar>"},
            show_history=False,
            system_note=MUST_CHOOSE_LEGAL,
        ),
        ArenaGame(
            "negotiation",
            "Negotiation",
            "negotiation",
            False,
            "Two players divide a pool of items of three types; each values the item types differently and "
            "knows only their own values. Players alternate turns; a turn is a proposal then an utterance (a "
            "cheap-talk message of three numbers). A proposal <Proposal: [a, b, c]> says how many items of each "
            "type the proposer keeps; the other player gets the rest. <Agree> accepts the most recent proposal "
            "and ends the game: each player's payoff is the total value of the items they receive. If no "
            "proposal is accepted within the turn limit, both get 0.",
            _nego_describe,
            _nego_label,
            grammar=_rules(
                (r"(?:(Proposal|Utterance)\s*:?\s*)?\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]", _nego_vector),
                ("Agree", _fixed("<Agree>")),
            ),
            aliases={"accept": "<Agree>", "agreement": "<Agree>"},
            legal_summary=_nego_summary,
            seeded_spec=lambda seed: f"negotiation(rng_seed={seed % 2**31})",
            forfeit_payoffs=_nego_forfeit,
        ),
        ArenaGame(
            "nim",
            "Nim",
            "nim(pile_sizes={},is_misere=True)".format(";".join(map(str, NIM_PILES))),
            True,
            f"There are {len(NIM_PILES)} piles of objects (initially {', '.join(map(str, NIM_PILES))}). Players "
            "take turns removing one or more objects from a single pile. The player who takes the last object "
            "LOSES. <pile:p, take:t> removes t objects from pile p.",
            _nim_describe,
            _nim_label,
            grammar=_rules(
                (r"pile\s*:?\s*(\d+)\s*,?\s*take\s*:?\s*(\d+)", lambda m, s, p: f"<pile:{int(m[1])}, take:{int(m[2])}>")
            ),
        ),
        ArenaGame(
            "pig",
            "Pig",
            f"pig(players=2,winscore={PIG_TARGET})",
            True,
            f"A dice game; the first player to reach {PIG_TARGET} points wins. On your turn you repeatedly choose "
            "<Roll> or <Stop>. Rolling a six-sided die adds the face to your turn total, but rolling a 1 loses "
            "the whole turn total and ends your turn. <Stop> banks the turn total into your score and ends your "
            "turn.",
            _pig_describe,
            _pig_label,
            grammar=_rules(("Roll", _fixed("<Roll>")), ("Stop", _fixed("<Stop>"))),
            aliases={"hold": "<Stop>", "bank": "<Stop>"},
            show_history=False,
        ),
        ArenaGame(
            "iterated_prisoners_dilemma",
            "Iterated Prisoner's Dilemma",
            f"python_iterated_prisoners_dilemma(termination_probability={IPD_STOP_PROBABILITY})",
            False,
            _IPD_RULES,
            _ipd_describe,
            _ipd_label,
            grammar=_rules(
                ("Cooperate|Silent", _fixed("<Cooperate>")), ("Defect|Testify", _fixed("<Defect>"))
            ),
            aliases={"cooperation": "<Cooperate>", "defection": "<Defect>"},
            show_history=False,
            forfeit_payoffs=_ipd_forfeit,
        ),
    )
}


def resolve_games(games: str | list[str] | tuple[str, ...]) -> list[ArenaGame]:
    """`all`, a comma-separated string or a list of names → games, in the order given."""
    if isinstance(games, str):
        names = list(GAME_NAMES) if games.strip() == "all" else [g.strip() for g in games.split(",") if g.strip()]
    else:
        names = list(games)
    unknown = [n for n in names if n not in GAMES]
    if unknown or not names:
        raise ValueError(f"unknown games {unknown}; choose from {', '.join(GAME_NAMES)} or 'all'")
    return [GAMES[n] for n in dict.fromkeys(names)]
