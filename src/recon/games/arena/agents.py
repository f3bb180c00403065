"""Arena agents: an LLM prompt agent (and its chain-of-thought variant) on any backend, OpenSpiel's
MCTS, uniform random and tit-for-tat.

Agent specs (strings, as on the command line):
`random`, `mcts` or `mcts:SIMS`, `tit_for_tat`, `llm:BACKEND:MODEL[@URL]`, `cot:BACKEND:MODEL[@URL]`
(`@URL` is the server's base URL, e.g. `llm:openai:gpt-4o-mini@https://api.openai.com/v1`).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import numpy as np

from recon.games.arena.games import MAX_LISTED_ACTIONS, SYSTEM_PROMPT, ArenaGame

# GTBench's PromptAgent step prompt (its typo "an legal" corrected).
PROMPT_INSTRUCTION = (
    "You must choose a legal action to set up advantages.\n\nYour output must be in the following format:\n\n"
    "Action:\nYour action wrapped with <>, e.g., {example}\n\nPlease return your answer without explanation!"
)
COT_INSTRUCTION = (
    "First think step by step about the state and what your opponent may do. Then end your reply with a "
    "line `Action: <…>` giving exactly one legal action with its angle brackets (for example {example})."
)


class Agent:
    """Base class. Non-LLM agents implement `choose`; LLM agents implement `reply`."""

    name: str = "agent"
    is_llm: bool = False
    note: str | None = None

    def start_match(self, arena_game: ArenaGame, game, seat: int, seed: int) -> None:
        """Called before each match (fresh per-match state such as MCTS trees). Concurrent matches share
        the agent, each on its own thread: keep per-match state per thread."""

    def choose(self, arena_game: ArenaGame, state, player: int, rng: np.random.RandomState, history: list) -> int:
        raise NotImplementedError

    def policy(self, arena_game: ArenaGame) -> str:
        """The name of what this agent actually plays in `arena_game` (its own name unless it stands in)."""
        return self.name

    def describe(self) -> dict:
        return {"name": self.name, "kind": type(self).__name__, "note": self.note}


class RandomAgent(Agent):
    """Uniformly random legal action (from the match's seeded RNG)."""

    def __init__(self, name: str = "random"):
        self.name = name

    def choose(self, arena_game, state, player, rng, history):
        legal = state.legal_actions(player)
        return int(legal[rng.randint(len(legal))])


class TitForTatAgent(Agent):
    """Iterated prisoner's dilemma only: cooperate first, then repeat the opponent's last move."""

    def __init__(self, name: str = "tit_for_tat"):
        self.name = name

    def choose(self, arena_game, state, player, rng, history):
        if arena_game.name != "iterated_prisoners_dilemma":
            raise ValueError(f"tit_for_tat plays only iterated_prisoners_dilemma, not {arena_game.name}")
        theirs = [action for seat, action in history if seat == 1 - player]
        return theirs[-1] if theirs else 0


class MCTSAgent(Agent):
    """OpenSpiel's `MCTSBot` (UCT constant 2, random-rollout evaluator), searching the true state as
    GTBench did (in imperfect-information games it sees hidden cards). In simultaneous-move games, where
    `MCTSBot` does not apply, it plays tit-for-tat (GTBench's conventional agent for the prisoner's dilemma)."""

    def __init__(self, simulations: int = 1000, uct_c: float = 2.0, rollouts: int = 1, name: str | None = None):
        if simulations < 1:
            raise ValueError(f"MCTS needs at least 1 simulation, got {simulations}")
        self.simulations, self.uct_c, self.rollouts = simulations, uct_c, rollouts
        self.name = name or ("mcts" if simulations == 1000 else f"mcts:{simulations}")
        self.note = "tit-for-tat in simultaneous-move games"
        self._match = threading.local()  # this thread's match: its bot
        self._fallback = TitForTatAgent()

    def start_match(self, arena_game, game, seat, seed):
        from open_spiel.python.algorithms import mcts

        if game.get_type().dynamics.name == "SIMULTANEOUS":
            self._match.bot = None
            return
        rs = np.random.RandomState(seed % 2**32)
        evaluator = mcts.RandomRolloutEvaluator(n_rollouts=self.rollouts, random_state=rs)
        self._match.bot = mcts.MCTSBot(game, self.uct_c, self.simulations, evaluator, random_state=rs)

    def policy(self, arena_game):
        return self._fallback.name if arena_game.name == "iterated_prisoners_dilemma" else self.name

    def choose(self, arena_game, state, player, rng, history):
        if state.is_simultaneous_node():
            return self._fallback.choose(arena_game, state, player, rng, history)
        bot = getattr(self._match, "bot", None)
        if bot is None:
            raise RuntimeError("MCTSAgent.start_match was not called")
        return int(bot.step(state))

    def describe(self):
        return {**super().describe(), "simulations": self.simulations, "uct_c": self.uct_c, "rollouts": self.rollouts}


@dataclass
class Turn:
    """What an LLM sees for one decision."""

    game: ArenaGame
    state: object
    player: int
    legal: list[int]
    labels: dict[int, str]
    history: list[tuple[str, str]]

    def legal_text(self) -> str:
        """The legal actions as the model is shown them (in the prompt and in retry feedback): their
        labels, or the game's summary when there are more than `MAX_LISTED_ACTIONS` and it has one."""
        if len(self.legal) > MAX_LISTED_ACTIONS and self.game.legal_summary is not None:
            return self.game.legal_summary(self.state, self.player, self.legal)
        return ", ".join(self.labels[a] for a in self.legal)


class LLMAgent(Agent):
    """Asks a chat model for a move, as GTBench's PromptAgent does: its system prompt, then the rules,
    state and legal actions with the step instruction in one user message. `cot=True` asks it to reason
    first (GTBench's CoT agent). With `params.prefill_think` the model thinks, and only the text after
    `</think>` is read."""

    is_llm = True

    def __init__(self, backend, name: str | None = None, cot: bool = False, params=None):
        from recon.inference.base import SamplingParams

        self.backend, self.cot = backend, cot
        model = backend.describe().get("model", getattr(backend, "name", "llm"))
        self.name = name or f"{'cot' if cot else 'llm'}:{getattr(backend, 'name', 'backend')}:{model}"
        self.params = params or SamplingParams(max_tokens=1024, temperature=0.0, stop_at_answer=False)

    @property
    def thinking(self) -> bool:
        return self.params.prefill_think

    def messages(self, turn: Turn) -> list[dict]:
        """The conversation for one decision: GTBench's system prompt and the user prompt."""
        system = " ".join(filter(None, (SYSTEM_PROMPT, turn.game.system_note)))
        return [{"role": "system", "content": system}, {"role": "user", "content": self.prompt(turn)}]

    def prompt(self, turn: Turn) -> str:
        g = turn.game
        parts = [
            f"You are playing {g.title} against an opponent.",
            f"Rules:\n{g.rules}",
            f"Current state:\n{g.describe(turn.state, turn.player)}",
        ]
        if g.show_history:
            moves = "\n".join(f"- {who}: {label}" for who, label in turn.history) or "(none yet)"
            parts.append(f"Moves so far (oldest first):\n{moves}")
        parts.append(f"Your legal actions: {turn.legal_text()}")
        parts.append((COT_INSTRUCTION if self.cot else PROMPT_INSTRUCTION).format(example=turn.labels[turn.legal[0]]))
        return "\n\n".join(parts)

    def reply(self, messages: list[dict], seed: int):
        """One completion for a conversation (a failed request comes back with `error` set). The decision's
        seed is the request's key, so requests of many decisions share params and can share a call."""
        params = dataclasses.replace(self.params, n=1)
        return self.backend.generate([messages], params, keys=[f"arena:{seed}"])[0][0]

    def describe(self):
        backend = self.backend.describe()
        return {
            **super().describe(),
            "cot": self.cot,
            "sampling": self.params.to_dict(),
            "backend": {k: backend.get(k) for k in ("backend", "model", "revision", "base_url") if k in backend},
        }


def check_agent_spec(spec: str) -> None:
    """Refuse (ValueError) an agent spec `make_agent` cannot build, without building it: an unknown kind,
    a bad MCTS count, an unknown LLM backend or a malformed `@URL`."""
    if not isinstance(spec, str):
        raise ValueError(f"an agent spec is a text, got {spec!r}")
    kind, _, rest = spec.strip().partition(":")
    if kind in ("random", "tit_for_tat") and not rest:
        return
    if kind == "mcts":
        if rest and not (rest.isdigit() and int(rest) >= 1):
            raise ValueError(f"bad MCTS spec {spec!r}: use mcts or mcts:SIMULATIONS (a whole number >= 1)")
        return
    if kind in ("llm", "cot"):
        from recon.errors import http_url
        from recon.inference import check_backend

        backend_name, _, model = rest.partition(":")
        if not backend_name or not model:
            raise ValueError(f"bad LLM spec {spec!r}: use {kind}:BACKEND:MODEL[@URL]")
        check_backend(backend_name)
        if "@" in model:
            http_url(model.partition("@")[2], f"agent {spec!r}: URL")
        return
    raise ValueError(
        f"unknown agent {spec!r}: use random, mcts[:SIMS], tit_for_tat, llm:BACKEND:MODEL[@URL] or cot:BACKEND:MODEL[@URL]"
    )


def make_agent(
    spec: str | Agent,
    mcts_simulations: int = 1000,
    prompt_params=None,
    cot_params=None,
    backend_options: dict | None = None,
) -> Agent:
    """An agent from a spec string (see the module docstring), or the agent itself."""
    if isinstance(spec, Agent):
        return spec
    check_agent_spec(spec)
    kind, _, rest = spec.strip().partition(":")
    if kind == "random" and not rest:
        return RandomAgent()
    if kind == "tit_for_tat" and not rest:
        return TitForTatAgent()
    if kind == "mcts":
        return MCTSAgent(simulations=int(rest) if rest else mcts_simulations, name=spec if rest else "mcts")
    if kind in ("llm", "cot"):
        backend_name, _, model = rest.partition(":")
        if not backend_name or not model:
            raise ValueError(f"bad LLM spec {spec!r}: use {kind}:BACKEND:MODEL")
        from recon.inference import load_backend

        model, _, url = model.partition("@")
        options = {**(backend_options or {}), **({"base_url": url} if url else {})}
        backend = load_backend(backend_name, model=model, **options)
        name = f"{kind}:{backend_name}:{model}"
        return LLMAgent(backend, name=name, cot=kind == "cot", params=cot_params if kind == "cot" else prompt_params)
