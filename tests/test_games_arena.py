"""The OpenSpiel arena (Suite 2 of the games stage): games, parser, illegal-move rules, seats, metrics, resume."""

from __future__ import annotations

import json
import re

import pytest

from recon.games.arena import (
    GAME_NAMES,
    GAMES,
    ArenaConfig,
    LLMAgent,
    MCTSAgent,
    RandomAgent,
    TitForTatAgent,
    elo_ratings,
    nra,
    parse_action,
    play_match,
    run_arena,
)
from recon.games.arena.metrics import elo_from_records, summarize
from recon.games.arena.runner import schedule
from recon.inference import SamplingParams, ScriptedBackend


def first_legal(messages: list[dict]) -> str:
    """A scripted player: the first legal tag listed in the latest prompt (or feedback)."""
    text = messages[-1]["content"]
    line = re.findall(r"Your legal actions: (.*)", text)[-1]
    if "<Agree>" in line:
        return "<Agree>"
    if line.startswith("<Proposal"):
        return "<Proposal: [0, 0, 0]>"
    if line.startswith("<Utterance"):
        return "<Utterance: [1, 2, 3]>"
    return re.findall(r"<(?:->|[^<>])+>", line)[0]


def llm(respond, name: str = "scripted-llm", cot: bool = False) -> LLMAgent:
    params = SamplingParams(max_tokens=64, stop_at_answer=False)
    return LLMAgent(ScriptedBackend(respond), name=name, cot=cot, params=params)


# --- games ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GAME_NAMES)
def test_each_game_plays_random_vs_random_to_the_end(name):
    record = play_match(GAMES[name], (RandomAgent("r0"), RandomAgent("r1")), seed=3)
    assert record["terminal"] and record["completed"] and record["num_moves"] > 0
    if GAMES[name].zero_sum:
        assert sum(record["returns"]) == pytest.approx(0.0)
    if record["winner_seat"] is not None:
        seat = record["winner_seat"]
        assert record["returns"][seat] > record["returns"][1 - seat]
    # the same seed replays the same match
    again = play_match(GAMES[name], (RandomAgent("r0"), RandomAgent("r1")), seed=3)
    assert [m["action"] for m in again["moves"]] == [m["action"] for m in record["moves"]]


@pytest.mark.parametrize("name", GAME_NAMES)
def test_scripted_llm_completes_every_game_from_its_prompts(name):
    record = play_match(GAMES[name], (llm(first_legal), RandomAgent()), seed=5)
    assert record["completed"], record["forfeit"]
    llm_moves = [m for m in record["moves"] if m["player"] == 0]
    assert llm_moves and all(m["status"] == "ok" for m in llm_moves)
    prompt = llm_moves[0]["prompt"]
    assert "Rules:" in prompt and "Your legal actions:" in prompt


def test_prompts_state_the_real_parameters():
    pig = play_match(GAMES["pig"], (llm(first_legal), RandomAgent()), seed=1)
    assert "reach 20 points" in pig["moves"][0]["prompt"]
    nim = play_match(GAMES["nim"], (llm(first_legal), RandomAgent()), seed=1)
    assert "1, 3, 5, 7" in nim["moves"][0]["prompt"] and "LOSES" in nim["moves"][0]["prompt"]
    ipd = play_match(GAMES["iterated_prisoners_dilemma"], (llm(first_legal), RandomAgent()), seed=1)
    assert "probability 0.125" in ipd["moves"][0]["prompt"]


def test_hidden_information_stays_hidden():
    # the auction's second bidder never sees the first bid; Kuhn poker shows only one's own card
    record = play_match(GAMES["first_sealed_auction"], (RandomAgent(), llm(first_legal)), seed=2)
    prompt = next(m for m in record["moves"] if m["player"] == 1)["prompt"]
    assert "Moves so far" not in prompt and "opponent's valuation is private" in prompt.casefold()
    kuhn = play_match(GAMES["kuhn_poker"], (llm(first_legal), RandomAgent()), seed=4)
    cards = [m["label"] for m in kuhn["moves"] if m["player"] == "chance"]
    prompt = next(m for m in kuhn["moves"] if m["player"] == 0)["prompt"]
    assert "Your card: " + "JQK"[int(cards[0].split(":")[1])] in prompt
    assert "opponent's card" not in prompt.casefold()


def test_mcts_beats_random_in_most_tic_tac_toe_matches(tmp_path):
    results = run_arena(
        ["mcts:200", "random"], "tic_tac_toe", ArenaConfig(matches=10, progress=False), tmp_path
    )
    row = results["summary"]["mcts:200"]["random"]["games"]["tic_tac_toe"]
    assert row["wins"] >= 7 and row["losses"] <= 1
    assert row["nra"]["estimate"] > 0.7


def test_mcts_plays_tit_for_tat_in_the_prisoners_dilemma():
    record = play_match(GAMES["iterated_prisoners_dilemma"], (MCTSAgent(10), RandomAgent()), seed=0)
    mine = [m["action"] for m in record["moves"] if m["player"] == 0]
    theirs = [m["action"] for m in record["moves"] if m["player"] == 1]
    assert mine[0] == 0 and mine[1:] == theirs[:-1]


# --- parser --------------------------------------------------------------------------------------


def parse_in(name: str, reply: str, moves: list[int] = ()) -> tuple[str, str | None]:
    """Parse `reply` in game `name` after the given decision moves (chance nodes take their last outcome)."""
    g = GAMES[name]
    game = g.load(0)
    state = game.new_initial_state()
    moves = list(moves)
    while state.is_chance_node() or moves:
        if state.is_chance_node():
            state.apply_action(state.chance_outcomes()[-1][0])
        else:
            state.apply_action(moves.pop(0))
    player = 0 if state.is_simultaneous_node() else state.current_player()
    legal = state.legal_actions(player)
    labels = {a: g.label(state, player, a) for a in legal}
    parsed = parse_action(reply, g.key_table(game, state, player), legal, labels)
    return parsed.status, (labels[parsed.action] if parsed.action is not None else None)


@pytest.mark.parametrize(
    "name, reply, moves, expected",
    [
        ("tic_tac_toe", "<C2R3>", [], ("ok", "<C2R3>")),
        ("tic_tac_toe", "I pick < c2 r3 >.", [], ("ok", "<C2R3>")),
        ("tic_tac_toe", "<C1R1> ... no, better <C3R3>", [], ("ok", "<C3R3>")),
        ("tic_tac_toe", "<think>maybe <C1R1></think>\nAction: <C2R2>", [], ("ok", "<C2R2>")),
        ("tic_tac_toe", "thinking... </think> <C2R2>", [], ("ok", "<C2R2>")),
        ("tic_tac_toe", "<think>only <C1R1> inside", [], ("unparsable", None)),
        ("tic_tac_toe", "<C1R1>", [0], ("illegal", None)),
        ("tic_tac_toe", "<C1R1> <s>fine</s>", [], ("ok", "<C1R1>")),
        ("tic_tac_toe", "C3R1", [], ("ok", "<C3R1>")),
        ("tic_tac_toe", "<C4R1>", [], ("unparsable", None)),
        ("tic_tac_toe", "", [], ("unparsable", None)),
        ("connect_four", "<C7>", [], ("ok", "<C7>")),
        ("connect_four", "<c 1>", [], ("ok", "<C1>")),
        ("connect_four", "<C8>", [], ("unparsable", None)),
        ("connect_four", "<C1>", [0, 0, 0, 0, 0, 0], ("illegal", None)),
        ("breakthrough", "<a7->b6>", [], ("ok", "<a7->b6>")),
        ("breakthrough", "<A7-B6>", [], ("ok", "<a7->b6>")),
        ("breakthrough", "move <a7 → a6>", [], ("ok", "<a7->a6>")),
        ("breakthrough", "<a7->a5>", [], ("unparsable", None)),
        ("breakthrough", "<a2->a3>", [], ("illegal", None)),
        ("first_sealed_auction", "<Bid: 3>", [], ("ok", "<Bid: 3>")),
        ("first_sealed_auction", "<3>", [], ("ok", "<Bid: 3>")),
        ("kuhn_poker", "<Bet>", [], ("ok", "<Bet>")),
        ("kuhn_poker", "<check>", [], ("ok", "<Pass>")),
        ("kuhn_poker", "I call: <CALL>", [1], ("ok", "<Bet>")),
        ("liars_dice", "<2-5>", [], ("ok", "<2-5>")),
        ("liars_dice", "<2 - 5>", [], ("ok", "<2-5>")),
        ("liars_dice", "<Liar>", [], ("illegal", None)),
        ("liars_dice", "<Liar>", [3], ("ok", "<Liar>")),
        ("liars_dice", "<1-1>", [3], ("illegal", None)),
        ("negotiation", "<Proposal: [0, 0, 0]>", [], ("ok", "<Proposal: [0, 0, 0]>")),
        ("negotiation", "<proposal:[0,0,0]>", [], ("ok", "<Proposal: [0, 0, 0]>")),
        ("negotiation", "<Agree>", [], ("illegal", None)),
        ("nim", "<pile:2, take:1>", [], ("ok", "<pile:2, take:1>")),
        ("nim", "<Pile: 4, Take: 7>", [], ("ok", "<pile:4, take:7>")),
        ("nim", "<pile:1, take:2>", [], ("illegal", None)),
        ("nim", "take from pile:3, take:5 now", [], ("ok", "<pile:3, take:5>")),
        ("pig", "<Roll>", [], ("ok", "<Roll>")),
        ("pig", "<hold>", [], ("ok", "<Stop>")),
        ("iterated_prisoners_dilemma", "<Defect>", [], ("ok", "<Defect>")),
        ("iterated_prisoners_dilemma", "<silent>", [], ("ok", "<Cooperate>")),
        ("iterated_prisoners_dilemma", "I defect.", [], ("ok", "<Defect>")),
    ],
)
def test_parser_edge_cases(name, reply, moves, expected):
    assert parse_in(name, reply, moves) == expected


def test_strict_parsing_reads_only_tags():
    g = GAMES["pig"]
    game = g.load(0)
    state = game.new_initial_state()
    legal = state.legal_actions()
    labels = {a: g.label(state, 0, a) for a in legal}
    table = g.key_table(game, state, 0)
    reply = "You can choose to roll a six-sided die."
    assert parse_action(reply, table, legal, labels).status == "ok"
    assert parse_action(reply, table, legal, labels, strict=True).status == "unparsable"
    assert parse_action("I <Stop>", table, legal, labels, strict=True).action == 1
    record = play_match(g, (llm([reply]), RandomAgent()), seed=0, strict_tags=True)
    assert record["forfeit"]["status"] == "unparsable"


# --- illegal moves -------------------------------------------------------------------------------


def test_forfeit_rule_ends_the_match_as_the_offenders_loss():
    record = play_match(GAMES["tic_tac_toe"], (RandomAgent(), llm(["<C9R9> nonsense"])), seed=0, illegal="forfeit")
    assert not record["completed"] and not record["terminal"]
    assert record["forfeit"]["seat"] == 1 and record["forfeit"]["status"] == "unparsable"
    assert record["winner"] == "random" and record["bad_replies"] == [0, 1]
    assert len(record["moves"][-1]["attempts"]) == 1
    view = summarize([record], "scripted-llm", ["tic_tac_toe"])["random"]["games"]["tic_tac_toe"]
    assert view["completion_rate"]["estimate"] == 0.0 and view["losses"] == 1 and view["nra"]["estimate"] == -1.0
    assert summarize([record], "random", ["tic_tac_toe"])["scripted-llm"]["overall"]["completion_rate"]["estimate"] == 1.0


def test_illegal_but_well_formed_move_is_counted_as_illegal():
    record = play_match(GAMES["nim"], (llm(["<pile:1, take:5>"]), RandomAgent()), seed=0)
    assert record["forfeit"]["status"] == "illegal" and record["winner"] == "random"


def test_retry_rule_gives_feedback_and_recovers():
    backend = ScriptedBackend(["<C9R9>", "<C1R1> is taken? whatever", "<C2R2>"])
    agent = LLMAgent(backend, name="retrying", params=SamplingParams(max_tokens=32, stop_at_answer=False))

    class Fixed(RandomAgent):
        def choose(self, arena_game, state, player, rng, history):
            return 0 if 0 in state.legal_actions() else super().choose(arena_game, state, player, rng, history)

    record = play_match(GAMES["tic_tac_toe"], (Fixed("fixed"), agent), seed=0, illegal="retry", max_retries=2)
    first = next(m for m in record["moves"] if m["player"] == 1)
    assert [a["status"] for a in first["attempts"]] == ["unparsable", "illegal", "ok"]
    assert first["label"] == "<C2R2>" and record["bad_replies"][1] >= 2
    conversation = backend.calls[2]
    assert [m["role"] for m in conversation] == ["user", "assistant", "user", "assistant", "user"]
    assert "not legal now" in conversation[-1]["content"] and "Your legal actions:" in conversation[-1]["content"]


def test_retry_rule_still_forfeits_after_the_last_retry():
    record = play_match(GAMES["pig"], (llm(["no idea"]), RandomAgent()), seed=0, illegal="retry", max_retries=3)
    assert not record["completed"] and record["bad_replies"] == [4, 0]
    assert len(record["moves"][-1]["attempts"]) == 4


def test_backend_errors_count_as_unparsable():
    def broken(messages):
        raise RuntimeError("server down")

    record = play_match(GAMES["kuhn_poker"], (llm(broken), RandomAgent()), seed=0)
    assert record["forfeit"]["reason"].startswith("backend error")


# --- seats, schedule, resume ---------------------------------------------------------------------


def test_seats_swap_for_half_the_matches_with_shared_deals(tmp_path):
    plan = schedule(["a", "b", "c"], ["kuhn_poker"], ArenaConfig(matches=4))
    assert len(plan) == 8
    ab = [m for m in plan if m["pair"] == ["a", "b"]]
    assert [m["seats"] for m in ab] == [["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]]
    assert ab[0]["seed"] == ab[1]["seed"] != ab[2]["seed"]
    results = run_arena(["mcts:20", "random"], "kuhn_poker", ArenaConfig(matches=4, progress=False), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "transcripts.jsonl").read_text().splitlines()]
    assert [r["seats"][0] for r in records] == ["mcts:20", "random", "mcts:20", "random"]
    deals = [[m["action"] for m in r["moves"] if m["player"] == "chance"] for r in records]
    assert deals[0] == deals[1] and deals[2] == deals[3]
    assert results["summary"]["random"]["mcts:20"]["overall"]["matches"] == 4
    # chance draws do not depend on the agents' choices: pig rolls the same dice in a seat-swapped match
    a = play_match(GAMES["pig"], (RandomAgent("x"), RandomAgent("y")), seed=7)
    b = play_match(GAMES["pig"], (RandomAgent("y"), MCTSAgent(5)), seed=7)
    rolls = lambda r: [m["label"] for m in r["moves"] if m["player"] == "chance"]  # noqa: E731
    n = min(len(rolls(a)), len(rolls(b)))
    assert n > 3 and rolls(a)[:n] == rolls(b)[:n]


def test_round_robin_plays_all_pairs_and_reports_elo(tmp_path):
    config = ArenaConfig(matches=2, progress=False, round_robin=True)
    results = run_arena(["mcts:30", "random", "tit_for_tat"], "tic_tac_toe,iterated_prisoners_dilemma", config, tmp_path)
    # tit_for_tat only plays the prisoner's dilemma: 3 pairs x 2 there, 1 pair x 2 in tic-tac-toe
    assert results["matches_played"] == 8 and results["matches_skipped"] == 4
    assert set(results["elo"]) == {"mcts:30", "random", "tit_for_tat"}
    assert "### Elo" in (tmp_path / "table.md").read_text()


class CountingRandom(RandomAgent):
    def __init__(self):
        super().__init__("counting")
        self.matches = 0

    def start_match(self, arena_game, game, seat, seed):
        self.matches += 1


def test_resume_skips_finished_matches(tmp_path):
    first = CountingRandom()
    run_arena([first, "random"], "nim,pig", ArenaConfig(matches=2, progress=False), tmp_path)
    assert first.matches == 4
    before = (tmp_path / "transcripts.jsonl").read_text()
    again = CountingRandom()
    run_arena([again, "random"], "nim,pig", ArenaConfig(matches=2, progress=False), tmp_path)
    assert again.matches == 0 and (tmp_path / "transcripts.jsonl").read_text() == before
    # an interrupted write leaves a partial line: it is dropped and the match replayed
    (tmp_path / "transcripts.jsonl").write_text(before + '{"key": "nim|coun')
    more = CountingRandom()
    results = run_arena([more, "random"], "nim,pig", ArenaConfig(matches=3, progress=False), tmp_path)
    assert more.matches == 2 and results["matches_played"] == 6
    assert (tmp_path / "transcripts.jsonl").read_text().startswith(before)
    with pytest.raises(ValueError, match="different settings"):
        run_arena([CountingRandom(), "random"], "nim", ArenaConfig(matches=2, seed=9, progress=False), tmp_path)


def test_bad_inputs_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown games"):
        run_arena(["random", "mcts"], "chess", ArenaConfig(progress=False), tmp_path)
    with pytest.raises(ValueError, match="unknown agent"):
        run_arena(["random", "alphazero"], "nim", ArenaConfig(progress=False), tmp_path)
    with pytest.raises(ValueError, match="distinct"):
        run_arena(["random", "random"], "nim", ArenaConfig(progress=False), tmp_path)
    with pytest.raises(ValueError, match="illegal"):
        ArenaConfig(illegal="ignore")
    with pytest.raises(ValueError, match="tit_for_tat plays only"):
        play_match(GAMES["nim"], (TitForTatAgent(), RandomAgent()), seed=0)


# --- metrics -------------------------------------------------------------------------------------


def test_nra_arithmetic():
    assert nra([1, 0, 1], [0, 1, 0]) == pytest.approx(1 / 3)
    assert nra([0, 0], [0, 0]) == 0.0
    assert nra([5, 10], [10, 0]) == pytest.approx((15 - 10) / 25)
    assert nra([-2, 3], [4, -1]) == pytest.approx((1 - 3) / (5 + 5))
    with pytest.raises(ValueError):
        nra([1], [1, 2])


def test_elo_arithmetic():
    assert elo_ratings([("a", "b", 1.0)]) == {"a": 1516.0, "b": 1484.0}
    assert elo_ratings([("a", "b", 0.5)]) == {"a": 1500.0, "b": 1500.0}
    r = elo_ratings([("a", "b", 1.0), ("a", "b", 1.0)])
    expected = 1.0 / (1.0 + 10 ** ((1484 - 1516) / 400))
    assert r["a"] == pytest.approx(1516 + 32 * (1 - expected))
    assert sum(r.values()) == pytest.approx(3000)


def record(game, seats, returns, zero_sum=True, forfeit_seat=None):
    if forfeit_seat is not None:
        winner = 1 - forfeit_seat
    else:
        winner = None if returns[0] == returns[1] else int(returns[1] > returns[0])
    return {
        "game": game,
        "seats": seats,
        "returns": returns,
        "zero_sum": zero_sum,
        "winner_seat": winner,
        "forfeit": None if forfeit_seat is None else {"seat": forfeit_seat},
    }


def test_summary_on_hand_made_results():
    records = [
        record("nim", ["P", "O"], [1, -1]),
        record("nim", ["O", "P"], [1, -1]),
        record("nim", ["P", "O"], [0, 0]),
        record("nim", ["O", "P"], [0, 0], forfeit_seat=1),
        record("negotiation", ["P", "O"], [10, 4], zero_sum=False),
        record("negotiation", ["O", "P"], [6, 2], zero_sum=False),
    ]
    s = summarize(records, "P", ["nim", "negotiation"])["O"]
    nim, nego = s["games"]["nim"], s["games"]["negotiation"]
    assert (nim["wins"], nim["draws"], nim["losses"], nim["completed"]) == (1, 1, 2, 3)
    assert nim["nra"]["estimate"] == pytest.approx((1 - 2) / 3)
    assert nego["nra"]["estimate"] == pytest.approx((12 - 10) / 22)
    assert s["overall"]["nra"]["estimate"] == pytest.approx(((1 - 2) / 3 + 2 / 22) / 2)
    assert s["overall"]["win_rate"]["estimate"] == pytest.approx(2 / 6)
    assert s["overall"]["completion_rate"]["estimate"] == pytest.approx(5 / 6)
    elo = elo_from_records(records)
    assert set(elo) == {"P", "O"} and sum(elo.values()) == pytest.approx(3000)


def test_cli_arena_runs_with_a_cot_player_and_an_llm_opponent(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import recon.inference
    from recon.cli import app

    def fake_backend(name, model="smollm2", **options):
        assert options == ({"threads": 1} if model == "smollm2" else {"base_url": "http://x"})
        return ScriptedBackend(lambda messages: "Thinking it over.\nAction: " + first_legal(messages))

    monkeypatch.setattr(recon.inference, "load_backend", fake_backend)
    out = tmp_path / "arena"
    args = ["games", "arena", "--backend", "hf", "--games", "nim,kuhn_poker", "--opponents", "random,llm:openai:rival",
            "--matches", "2", "--cot", "--illegal", "retry", "--backend-option", "threads=1",
            "--opponent-option", "base_url=http://x", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["player"] == "cot:hf:smollm2" and results["matches_played"] == 8
    rows = results["summary"]["cot:hf:smollm2"]
    assert set(rows) == {"random", "llm:openai:rival"}
    assert rows["random"]["overall"]["completion_rate"]["estimate"] == 1.0
    assert results["agents"][0]["cot"] is True and results["agents"][0]["sampling"]["max_tokens"] == 1024
    assert "step by step" in json.loads((out / "transcripts.jsonl").read_text().splitlines()[0])["moves"][0]["prompt"]


# --- real model ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_arena_with_real_smollm2(tmp_path):
    from typer.testing import CliRunner

    from recon.cli import app

    out = tmp_path / "arena"
    args = ["games", "arena", "--model", "smollm2", "--backend", "llamacpp", "--games", "tic_tac_toe",
            "--opponents", "random,mcts:50", "--matches", "1", "--max-tokens", "16", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["matches_played"] == 2 and results["elo"] is not None
    rows = results["summary"]["llm:llamacpp:smollm2"]
    assert set(rows) == {"random", "mcts:50"}
    records = [json.loads(line) for line in (out / "transcripts.jsonl").read_text().splitlines()]
    llm_moves = [m for r in records for m in r["moves"] if m.get("agent") == "llm:llamacpp:smollm2"]
    assert llm_moves and all(m["attempts"] and "prompt" in m for m in llm_moves)
    assert "| tic_tac_toe | 1 |" in (out / "table.md").read_text()
