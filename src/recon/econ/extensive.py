"""Finite extensive-form games with perfect information (any depth, any branching, any number of
players): backward induction, every subgame-perfect equilibrium and path, and the Nash outcomes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Mapping, Sequence, Union

import numpy as np

from recon.econ.normal_form import NormalFormGame, to_fraction

Path = tuple[str, ...]


@dataclass(frozen=True)
class Leaf:
    """A terminal history with one payoff per player."""

    payoffs: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "payoffs", tuple(to_fraction(x) for x in self.payoffs))
        if not self.payoffs:
            raise ValueError("a leaf needs at least one payoff")


@dataclass(frozen=True)
class Decision:
    """A decision node: `player` picks an action label, leading to `children[label]`."""

    player: int
    children: Mapping[str, "Node"]

    def __post_init__(self) -> None:
        if not self.children:
            raise ValueError("a decision node needs at least one action")
        if self.player < 0:
            raise ValueError(f"player must be non-negative, got {self.player}")
        object.__setattr__(self, "children", dict(self.children))

    def __hash__(self) -> int:
        return hash((self.player, tuple(self.children.items())))


Node = Union[Leaf, Decision]


def from_nested(spec: Any, player_of: Callable[[Path, Sequence[str]], int] | None = None) -> Node:
    """Build a tree from nested data: a list/tuple of numbers is a leaf; a dict maps action labels to
    subtrees; `{"player": i, "moves": {...}}` names the mover explicitly. Without an explicit mover,
    `player_of(history, labels)` decides; by default players alternate by depth (0, 1, 0, …).

    >>> from_nested({"A1": [0, 0], "A2": {"B1": [1, -2], "B2": [2, 1]}})  # doctest: +ELLIPSIS
    Decision(player=0, ...)
    """

    def build(node: Any, history: Path) -> Node:
        if isinstance(node, (Leaf, Decision)):
            return node
        if isinstance(node, (list, tuple)):
            return Leaf(tuple(node))
        if not isinstance(node, Mapping):
            raise TypeError(f"at {history or 'the root'}: expected a dict or a payoff list, got {node!r}")
        if "moves" in node:
            player, moves = int(node["player"]), node["moves"]
        else:
            moves = node
            player = player_of(history, list(moves)) if player_of else len(history) % 2
        if not isinstance(moves, Mapping) or not moves:
            raise ValueError(f"at {history or 'the root'}: a decision needs a non-empty dict of moves")
        return Decision(player, {str(a): build(child, history + (str(a),)) for a, child in moves.items()})

    tree = build(spec, ())
    _check_tree(tree)
    return tree


def _check_tree(tree: Node) -> int:
    """Check every leaf has the same number of payoffs and every mover exists; return that number."""
    sizes = {len(leaf.payoffs) for _, leaf in leaves(tree)}
    if len(sizes) != 1:
        raise ValueError(f"leaves have different numbers of payoffs: {sorted(sizes)}")
    n = sizes.pop()
    for history, node in decision_nodes(tree):
        if node.player >= n:
            raise ValueError(f"at {history or 'the root'}: player {node.player} but leaves pay {n} players")
    return n


def leaves(tree: Node, history: Path = ()) -> Iterator[tuple[Path, Leaf]]:
    """Every terminal history with its leaf, depth first in action order."""
    if isinstance(tree, Leaf):
        yield history, tree
        return
    for action, child in tree.children.items():
        yield from leaves(child, history + (action,))


def decision_nodes(tree: Node, history: Path = ()) -> Iterator[tuple[Path, Decision]]:
    """Every decision node with its history, parents before children."""
    if isinstance(tree, Decision):
        yield history, tree
        for action, child in tree.children.items():
            yield from decision_nodes(child, history + (action,))


def subtree(tree: Node, history: Sequence[str]) -> Node:
    """The node reached by following `history` from the root."""
    node = tree
    for action in history:
        if not isinstance(node, Decision) or action not in node.children:
            raise KeyError(f"history {tuple(history)} does not exist in the tree")
        node = node.children[action]
    return node


def outcome(tree: Node, strategy: Mapping[Path, str]) -> tuple[Path, tuple[Fraction, ...]]:
    """The path played and its payoffs when every decision node h plays `strategy[h]`."""
    node, path = tree, ()
    while isinstance(node, Decision):
        action = strategy[path]
        node, path = node.children[action], path + (action,)
    return path, node.payoffs


@dataclass(frozen=True)
class SubgamePerfectEquilibrium:
    """One pure SPE: the action at every decision node (keyed by its history), the path it plays and
    the payoffs it yields."""

    strategy: dict[Path, str]
    path: Path
    payoffs: tuple[Fraction, ...]


def backward_induction(tree: Node, limit: int = 100_000) -> list[SubgamePerfectEquilibrium]:
    """Every pure subgame-perfect equilibrium, by backward induction keeping all tied best actions.
    Raises when more than `limit` equilibria would be listed (ties multiply them)."""
    _check_tree(tree)

    def solve(node: Node, history: Path) -> list[tuple[dict[Path, str], Path, tuple[Fraction, ...]]]:
        if isinstance(node, Leaf):
            return [({}, history, node.payoffs)]
        per_child = {a: solve(c, history + (a,)) for a, c in node.children.items()}
        actions = list(per_child)
        found = []
        for combo in itertools.product(*(per_child[a] for a in actions)):
            best = max(eq[2][node.player] for eq in combo)
            merged: dict[Path, str] = {}
            for eq in combo:
                merged.update(eq[0])
            for a, eq in zip(actions, combo):
                if eq[2][node.player] == best:
                    found.append(({**merged, history: a}, eq[1], eq[2]))
                    if len(found) > limit:
                        raise ValueError(f"more than {limit} subgame-perfect equilibria; raise `limit`")
        return found

    eqs = [SubgamePerfectEquilibrium(s, p, u) for s, p, u in solve(tree, ())]
    return sorted(eqs, key=lambda e: (e.path, sorted(e.strategy.items())))


def spe_outcomes(tree: Node) -> list[tuple[Path, tuple[Fraction, ...]]]:
    """(path, payoffs) of every subgame-perfect equilibrium, computed without listing the strategies:
    an outcome of child a is reachable iff the mover gets at least, from a, the most the other
    children can be made to give him by a choice of their own SPE outcomes."""
    _check_tree(tree)

    def solve(node: Node, history: Path) -> list[tuple[Path, tuple[Fraction, ...]]]:
        if isinstance(node, Leaf):
            return [(history, node.payoffs)]
        per_child = {a: solve(c, history + (a,)) for a, c in node.children.items()}
        i = node.player
        floor = {a: min(u[i] for _, u in outs) for a, outs in per_child.items()}
        found = []
        for a, outs in per_child.items():
            threshold = max((floor[b] for b in per_child if b != a), default=None)
            found += [(p, u) for p, u in outs if threshold is None or u[i] >= threshold]
        return found

    return sorted(set(solve(tree, ())))


def subgame_perfect_paths(tree: Node) -> list[Path]:
    """Every path played in some pure subgame-perfect equilibrium (ties give several), sorted."""
    return sorted({p for p, _ in spe_outcomes(tree)})


def punishment_value(tree: Node, player: int) -> Fraction:
    """The most `player` can guarantee in `tree` when every other player tries to minimise their payoff
    (perfect information makes this zero-sum game determined)."""
    if isinstance(tree, Leaf):
        return tree.payoffs[player]
    values = [punishment_value(c, player) for c in tree.children.values()]
    return max(values) if tree.player == player else min(values)


def nash_outcomes(tree: Node) -> list[Path]:
    """Every terminal path played in some pure Nash equilibrium, sorted. A path is a Nash outcome iff at
    each of its decision nodes no deviation lets the mover guarantee more than the path pays him
    against the other players' harshest punishment in the deviation subtree."""
    _check_tree(tree)
    found = []
    for path, leaf in leaves(tree):
        node, ok = tree, True
        for action in path:
            assert isinstance(node, Decision)
            i = node.player
            if any(punishment_value(c, i) > leaf.payoffs[i] for a, c in node.children.items() if a != action):
                ok = False
                break
            node = node.children[action]
        if ok:
            found.append(path)
    return sorted(found)


def pure_strategies(tree: Node, player: int) -> list[dict[Path, str]]:
    """Every pure strategy of `player`: an action at each of their decision nodes."""
    nodes = [(h, d) for h, d in decision_nodes(tree) if d.player == player]
    return [dict(zip([h for h, _ in nodes], choice)) for choice in itertools.product(*(list(d.children) for _, d in nodes))]


def induced_normal_form(tree: Node) -> tuple[NormalFormGame, list[list[dict[Path, str]]]]:
    """The normal form of the tree (one strategy per complete plan) and each player's strategy list."""
    n = _check_tree(tree)
    strategies = [pure_strategies(tree, i) for i in range(n)]
    shape = [len(s) for s in strategies]
    tables = [np.empty(shape, dtype=object) for _ in range(n)]
    for prof in itertools.product(*map(range, shape)):
        merged: dict[Path, str] = {}
        for i, s in enumerate(prof):
            merged.update(strategies[i][s])
        _, pay = outcome(tree, merged)
        for i in range(n):
            tables[i][prof] = pay[i]
    return NormalFormGame(tables), strategies
