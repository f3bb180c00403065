"""The self-play game library: payoffs exactly as the issue lists them, and solver-computed equilibria
checked against textbook answers (2×2 games) or an independent brute force (duopoly, sequential)."""

from __future__ import annotations

import itertools
import re

import pytest
import yaml

from recon.games.library import LIBRARY_DIR, SEQUENTIAL, SIMULTANEOUS, load_library, parse_game, select_games

# Copied verbatim from issue 7 (Suite 1), parsed below: a second, independent transcription.
ISSUE_SIMULTANEOUS = {
    "pd": "(1,1)=3,3; (1,2)=0,5; (2,1)=5,0; (2,2)=1,1",
    "stag_hunt": "(1,1)=3,3; (1,2)=0,1; (2,1)=1,0; (2,2)=1,1",
    "bos": "(1,1)=2,1; (1,2)=0,0; (2,1)=0,0; (2,2)=1,2",
    "wait_go": "(1,1)=0,0; (1,2)=0,2; (2,1)=2,0; (2,2)=−4,−4",
}
ISSUE_DUOPOLY_ALICE = "c1: 0 0 0 0 0 0; c2: 9 7 5 3 1 −1; c3: 14 10 6 2 −2 −2; c4: 15 9 3 −3 −3 −3; c5: 12 4 −4 −4 −4 −4; c6: 5 −5 −5 −5 −5 −5"
ISSUE_SEQUENTIAL = {
    "escalation": "A1→[0,0]; A2→{B1→[1,−2]; B2→{A1→[−2,1]; A2→[−1,−1]}}",
    "monopoly": "A1→[0,2]; A2→{B1→[2,1]; B2→[−1,−1]}",
    "hot_cold": "A1→{B1→[3,2]; B2→[2,3]}; A2→{B1→[1,4]; B2→[4,1]}",
    "draco": "A1→{B1→[5,5]; B2→{A1→[2,2]; A2→[3,4]}}; A2→{B1→[4,5]; B2→{A1→[5,3]; A2→[2,2]}}",
    "trigame": "A1→{B1→{A1→[20,3]; A2→[0,4]}; B2→{A1→[2,5]; A2→[3,4]}}; A2→{B1→{A1→[1,5]; A2→[4,10]}; "
    "B2→{A1→[2,1]; A2→[3,2]}}",
}


def _num(s: str) -> int:
    return int(s.replace("−", "-"))


def _issue_tree(text: str):
    """Parse the issue's notation into {"Alice"|"Bob": {"choice_k": subtree}} / [a, b]."""
    tokens = re.findall(r"[AB]\d|→|\{|\}|;|\[[^\]]*\]", text)
    pos = 0

    def node():
        nonlocal pos
        moves, player = {}, None
        while pos < len(tokens) and tokens[pos] != "}":
            head = tokens[pos]
            player = {"A": "Alice", "B": "Bob"}[head[0]]
            assert tokens[pos + 1] == "→"
            pos += 2
            if tokens[pos] == "{":
                pos += 1
                child = node()
                assert tokens[pos] == "}"
                pos += 1
            else:
                child = [_num(x) for x in tokens[pos].strip("[]").split(",")]
                pos += 1
            moves[f"choice_{head[1]}"] = child
            if pos < len(tokens) and tokens[pos] == ";":
                pos += 1
        return {player: moves}

    tree = node()
    assert pos == len(tokens)
    return tree


def _raw(name: str) -> dict:
    return yaml.safe_load((LIBRARY_DIR / f"{name}.yaml").read_text())


def _simultaneous_table(name: str) -> dict[tuple[int, int], tuple[int, int]]:
    """(Alice's choice, Bob's choice), 0-based → (Alice, Bob) payoffs, read from the raw game file."""
    raw = _raw(name)
    if raw.get("symmetric"):
        a = raw["alice"]
        return {(i, j): (a[i][j], a[j][i]) for i in range(len(a)) for j in range(len(a))}
    return {(i, j): tuple(p) for i, row in enumerate(raw["payoffs"]) for j, p in enumerate(row)}


def test_library_has_the_ten_games_in_paper_order():
    library = load_library()
    assert list(library) == [
        "pd", "stag_hunt", "bos", "wait_go", "duopoly", "escalation", "monopoly", "hot_cold", "draco", "trigame",
    ]
    assert [g.kind for g in library.values()] == [SIMULTANEOUS] * 5 + [SEQUENTIAL] * 5
    assert [g.name for g in select_games("pd, draco")] == ["pd", "draco"]
    with pytest.raises(ValueError, match="unknown game"):
        select_games("pd,chess")


@pytest.mark.parametrize("name", sorted(ISSUE_SIMULTANEOUS))
def test_simultaneous_payoffs_match_issue(name):
    expected = {}
    for cell in ISSUE_SIMULTANEOUS[name].split(";"):
        m = re.match(r"\s*\((\d),(\d)\)=(\S+),(\S+)", cell)
        expected[(int(m[1]) - 1, int(m[2]) - 1)] = (_num(m[3]), _num(m[4]))
    assert _simultaneous_table(name) == expected
    game = load_library()[name]
    assert {(i, j): game.payoffs[i][j] for i in range(2) for j in range(2)} == expected


def test_duopoly_payoffs_match_issue():
    rows = [[_num(x) for x in part.split(":")[1].split()] for part in ISSUE_DUOPOLY_ALICE.split(";")]
    game = load_library()["duopoly"]
    for i, j in itertools.product(range(6), repeat=2):
        assert game.payoffs[i][j] == (rows[i][j], rows[j][i])


@pytest.mark.parametrize("name", sorted(ISSUE_SEQUENTIAL))
def test_sequential_trees_match_issue(name):
    assert _raw(name)["tree"] == _issue_tree(ISSUE_SEQUENTIAL[name])


def _labels(*profiles):
    return frozenset(tuple(f"choice_{k}" for k in p) for p in profiles)


@pytest.mark.parametrize(
    "name, nash, pareto",
    [
        ("pd", [(2, 2)], [(2, 2)]),
        ("stag_hunt", [(1, 1), (2, 2)], [(1, 1)]),
        ("bos", [(1, 1), (2, 2)], [(1, 1), (2, 2)]),
        ("wait_go", [(1, 2), (2, 1)], [(1, 2), (2, 1)]),
    ],
)
def test_textbook_equilibria(name, nash, pareto):
    eq = load_library()[name].equilibria
    assert eq.nash == _labels(*nash)
    assert eq.pareto_nash == _labels(*pareto)


def test_duopoly_equilibria_match_brute_force():
    table = _simultaneous_table("duopoly")
    n = 6
    nash = {
        (i, j)
        for i, j in itertools.product(range(n), repeat=2)
        if all(table[(k, j)][0] <= table[(i, j)][0] for k in range(n))
        and all(table[(i, k)][1] <= table[(i, j)][1] for k in range(n))
    }
    pareto = {
        e for e in nash
        if not any(all(x >= y for x, y in zip(table[f], table[e])) and table[f] != table[e] for f in nash)
    }
    eq = load_library()["duopoly"].equilibria
    assert eq.nash == _labels(*[(i + 1, j + 1) for i, j in nash])
    assert eq.pareto_nash == _labels(*[(i + 1, j + 1) for i, j in pareto])


def _nodes(tree, history=()):
    """(history, player, {label: subtree}) of every decision node of a raw tree."""
    if isinstance(tree, list):
        return []
    (player, moves), = tree.items()
    found = [(history, player, moves)]
    for label, child in moves.items():
        found += _nodes(child, history + (label,))
    return found


def _brute_force(tree):
    """SPE paths (subgame perfection checked at every node) and Nash outcomes, by enumerating every
    pure strategy profile of the raw tree."""
    nodes = _nodes(tree)
    index = {"Alice": 0, "Bob": 1}

    def play(plan, start=()):
        node, path = tree, ()
        for label in start:
            node, path = list(node.values())[0][label], path + (label,)
        while not isinstance(node, list):
            label = plan[path]
            node, path = list(node.values())[0][label], path + (label,)
        return path, node

    options = [list(moves) for _, _, moves in nodes]
    profiles = [dict(zip([h for h, _, _ in nodes], combo)) for combo in itertools.product(*options)]

    def best_response_at(plan, history, player):
        """No change of `player`'s actions (in the subgame at `history`) raises their payoff there."""
        own = [h for h, p, _ in nodes if p == player and h[: len(history)] == history]
        value = play(plan, history)[1][index[player]]
        for combo in itertools.product(*[list(m) for h, p, m in nodes if h in own]):
            alt = {**plan, **dict(zip(own, combo))}
            if play(alt, history)[1][index[player]] > value:
                return False
        return True

    nash = [p for p in profiles if all(best_response_at(p, (), pl) for pl in ("Alice", "Bob"))]
    spe = [p for p in nash if all(best_response_at(p, h, pl) for h, _, _ in nodes for pl in ("Alice", "Bob"))]
    return {play(p)[0] for p in spe}, {play(p)[0] for p in nash}


@pytest.mark.parametrize("name", sorted(ISSUE_SEQUENTIAL))
def test_sequential_equilibria_match_brute_force(name):
    spe, nash = _brute_force(_raw(name)["tree"])
    eq = load_library()[name].equilibria
    assert eq.nash == spe and len(spe) == 1
    assert eq.nash_outcomes == nash
    assert eq.non_spe_nash_outcomes == nash - spe
    assert eq.pareto_nash is None


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "simultaneous", "payoffs": [[[1, 1], [0]]]}, "must be \\[Alice, Bob\\]"),
        ({"kind": "simultaneous", "payoffs": [[[1, 1]], [[1, 1], [2, 2]]]}, "rectangular"),
        ({"kind": "sequential", "tree": {"Carol": {"choice_1": [0, 0]}}}, "mover must be one of"),
        ({"kind": "sequential", "tree": {"Alice": {"choice_2": [0, 0]}}}, "choices must be"),
        ({"kind": "sequential", "tree": [1, 2]}, "root of a sequential game"),
        ({"kind": "repeated"}, "kind must be"),
        ({"kind": "simultaneous", "symmetric": True, "alice": [[1, 2]]}, "square matrix"),
    ],
)
def test_malformed_game_files_fail_clearly(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_game("bad", spec)
