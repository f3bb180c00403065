"""The complete-information games of Hua et al. (2024) as data: one YAML file per game in this folder
(the file stem is the game's id). Equilibria are computed by `recon.econ` solvers, never typed in.

A simultaneous game gives `payoffs[i][j] = [Alice, Bob]` (Alice plays choice_{i+1}, Bob choice_{j+1}),
or `symmetric: true` with Alice's matrix `alice` (Bob's payoff at (i, j) is alice[j][i]).
A sequential game gives `tree`: a decision node is `{Alice|Bob: {choice_k: subtree}}`, a leaf is
`[Alice's payoff, Bob's payoff]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Union

import yaml

LIBRARY_DIR = Path(__file__).resolve().parent
PLAYERS: tuple[str, str] = ("Alice", "Bob")
SIMULTANEOUS, SEQUENTIAL = "simultaneous", "sequential"

Outcome = tuple[str, ...]  # simultaneous: (Alice's choice, Bob's choice); sequential: the path played
Payoffs = tuple[float, float]
Tree = Union["Move", Payoffs]


def choice_label(index: int) -> str:
    """0 → `choice_1`."""
    return f"choice_{index + 1}"


def format_number(x: float) -> str:
    """Payoffs as written in the game file: 3, -4, 2.5."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Move:
    """A decision node of a sequential game: `player` (Alice or Bob) picks a key of `children`."""

    player: str
    children: dict[str, Tree]


@dataclass(frozen=True)
class Equilibria:
    """Solver-computed equilibria as outcomes (tuples of choice labels).

    Simultaneous: `nash` = pure Nash equilibria, `pareto_nash` = the Pareto-optimal ones.
    Sequential: `nash` = subgame-perfect paths, `nash_outcomes` = paths of all pure Nash equilibria
    (subgame-perfect or not); `pareto_nash` is None.
    """

    nash: frozenset[Outcome]
    pareto_nash: frozenset[Outcome] | None = None
    nash_outcomes: frozenset[Outcome] = field(default_factory=frozenset)

    @property
    def non_spe_nash_outcomes(self) -> frozenset[Outcome]:
        return self.nash_outcomes - self.nash

    def to_dict(self, kind: str) -> dict[str, list[list[str]]]:
        as_list = lambda s: [list(o) for o in sorted(s)]  # noqa: E731
        if kind == SIMULTANEOUS:
            return {"pure_nash": as_list(self.nash), "pareto_optimal_nash": as_list(self.pareto_nash)}
        return {
            "subgame_perfect_paths": as_list(self.nash),
            "non_subgame_perfect_nash_outcomes": as_list(self.non_spe_nash_outcomes),
        }


@dataclass(frozen=True, eq=False)
class Game:
    """One game of the library. `payoffs` (simultaneous) is indexed [Alice's choice][Bob's choice];
    `tree` (sequential) is the root `Move`."""

    name: str
    title: str
    kind: str
    payoffs: tuple[tuple[Payoffs, ...], ...] | None = None
    tree: Move | None = None
    order: int = 1000

    @property
    def n_choices(self) -> tuple[int, int]:
        """Alice's and Bob's number of choices (simultaneous games)."""
        assert self.payoffs is not None
        return len(self.payoffs), len(self.payoffs[0])

    def payoff(self, outcome: Outcome) -> Payoffs:
        """(Alice, Bob) payoffs of a joint action (simultaneous) or a complete path (sequential)."""
        if self.kind == SIMULTANEOUS:
            i, j = (int(label.rsplit("_", 1)[1]) - 1 for label in outcome)
            return self.payoffs[i][j]
        node: Tree = self.tree
        for label in outcome:
            node = node.children[label]
        if isinstance(node, Move):
            raise ValueError(f"{self.name}: path {outcome} does not end at a leaf")
        return node

    @cached_property
    def equilibria(self) -> Equilibria:
        return compute_equilibria(self)


def _payoff_pair(value: Any, where: str) -> Payoffs:
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise ValueError(f"{where}: a payoff must be [Alice, Bob], got {value!r}")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise ValueError(f"{where}: payoffs must be numbers, got {value!r}")
    return (value[0], value[1])


def _parse_tree(spec: Any, where: str) -> Tree:
    if isinstance(spec, (list, tuple)):
        return _payoff_pair(spec, where)
    if not (isinstance(spec, dict) and len(spec) == 1):
        raise ValueError(f"{where}: a node must be {{Alice|Bob: {{choice_k: ...}}}} or [Alice, Bob], got {spec!r}")
    (player, moves), = spec.items()
    if player not in PLAYERS:
        raise ValueError(f"{where}: the mover must be one of {PLAYERS}, got {player!r}")
    if not isinstance(moves, dict) or not moves:
        raise ValueError(f"{where}: {player} needs a non-empty mapping of choices")
    expected = [choice_label(k) for k in range(len(moves))]
    if list(moves) != expected:
        raise ValueError(f"{where}: choices must be {expected} in order, got {list(moves)}")
    return Move(player, {label: _parse_tree(sub, f"{where}/{label}") for label, sub in moves.items()})


def parse_game(name: str, spec: dict[str, Any]) -> Game:
    """A `Game` from the mapping read from a game file; clear errors on malformed data."""
    kind, title, order = spec.get("kind"), spec.get("title", name), spec.get("order", 1000)
    if not isinstance(order, int):
        raise ValueError(f"{name}: `order` must be an integer, got {order!r}")
    if kind == SIMULTANEOUS:
        if spec.get("symmetric"):
            alice = spec.get("alice")
            if not (isinstance(alice, list) and alice and all(isinstance(r, list) and len(r) == len(alice) for r in alice)):
                raise ValueError(f"{name}: a symmetric game needs a square matrix `alice`")
            rows = [[[alice[i][j], alice[j][i]] for j in range(len(alice))] for i in range(len(alice))]
        else:
            rows = spec.get("payoffs")
        if not (isinstance(rows, list) and rows and all(isinstance(r, list) and r and len(r) == len(rows[0]) for r in rows)):
            raise ValueError(f"{name}: `payoffs` must be a non-empty rectangular list of rows")
        payoffs = tuple(tuple(_payoff_pair(p, f"{name}[{i + 1}][{j + 1}]") for j, p in enumerate(r)) for i, r in enumerate(rows))
        return Game(name, title, kind, payoffs=payoffs, order=order)
    if kind == SEQUENTIAL:
        tree = _parse_tree(spec.get("tree"), name)
        if not isinstance(tree, Move):
            raise ValueError(f"{name}: the root of a sequential game must be a decision")
        return Game(name, title, kind, tree=tree, order=order)
    raise ValueError(f"{name}: kind must be {SIMULTANEOUS!r} or {SEQUENTIAL!r}, got {kind!r}")


def load_game(path: str | Path) -> Game:
    """Read one game file; its stem is the game's id."""
    path = Path(path)
    spec = yaml.safe_load(path.read_text())
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: expected a mapping")
    return parse_game(path.stem, spec)


def load_library(directory: str | Path = LIBRARY_DIR) -> dict[str, Game]:
    """Every game in `directory`: simultaneous games first, each group by `order`, then by name."""
    games = [load_game(p) for p in sorted(Path(directory).glob("*.yaml"))]
    games.sort(key=lambda g: (g.kind != SIMULTANEOUS, g.order, g.name))
    return {g.name: g for g in games}


def select_games(spec: str | list[str], library: dict[str, Game] | None = None) -> list[Game]:
    """`all` or a comma-separated list of game ids, in the library's order."""
    library = library if library is not None else load_library()
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    if names == ["all"]:
        return list(library.values())
    unknown = [n for n in names if n not in library]
    if unknown or not names:
        raise ValueError(f"unknown game(s) {unknown or spec!r}; choose from: all, {', '.join(library)}")
    return [g for g in library.values() if g.name in names]


def to_solver_tree(tree: Tree):
    """The `recon.econ.extensive` tree of a sequential game (players 0 = Alice, 1 = Bob)."""
    from recon.econ.extensive import Decision, Leaf

    if isinstance(tree, Move):
        return Decision(PLAYERS.index(tree.player), {a: to_solver_tree(c) for a, c in tree.children.items()})
    return Leaf(tree)


def compute_equilibria(game: Game) -> Equilibria:
    """Equilibria of `game` from the `recon.econ` solvers."""
    if game.kind == SIMULTANEOUS:
        from recon.econ.normal_form import NormalFormGame, pareto_optimal_equilibria, pure_nash_equilibria

        nf = NormalFormGame([[[p[k] for p in row] for row in game.payoffs] for k in range(2)])
        label = lambda prof: tuple(choice_label(s) for s in prof)  # noqa: E731
        return Equilibria(
            frozenset(map(label, pure_nash_equilibria(nf))), frozenset(map(label, pareto_optimal_equilibria(nf)))
        )
    from recon.econ.extensive import nash_outcomes, subgame_perfect_paths

    solver_tree = to_solver_tree(game.tree)
    return Equilibria(
        frozenset(tuple(p) for p in subgame_perfect_paths(solver_tree)),
        None,
        frozenset(tuple(p) for p in nash_outcomes(solver_tree)),
    )
