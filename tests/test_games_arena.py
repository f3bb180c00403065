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
    nra,
    parse_action,
    play_match,
    run_arena,
)
from recon.games.arena.metrics import summarize
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
    assert record["terminal"] and record["status"] == "normal" and record["num_moves"] > 0
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
    assert record["status"] == "normal" and record["at_fault"] is None, record["forfeit"]
    llm_moves = [m for m in record["moves"] if m["player"] == 0 and not m.get("forced")]
    assert llm_moves and all(m["status"] == "ok" for m in llm_moves)
    prompt = llm_moves[0]["prompt"]
    assert "Rules:" in prompt and "Your legal actions:" in prompt and "Please return your answer without explanation!" in prompt


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
    # and it is labelled as what it plays
    assert record["policies"] == ["tit_for_tat", "random"]
    view = summarize([record], "random", ["iterated_prisoners_dilemma"])["mcts:10"]["games"]["iterated_prisoners_dilemma"]
    assert view["opponent_policy"] == "tit_for_tat"


# --- parser --------------------------------------------------------------------------------------


def state_after(name: str, moves: list[int] = ()):
    """The state of game `name` after the given decision moves (chance nodes take their last outcome)."""
    game = GAMES[name].load(0)
    state = game.new_initial_state()
    moves = list(moves)
    while state.is_chance_node() or moves:
        if state.is_chance_node():
            state.apply_action(state.chance_outcomes()[-1][0])
        else:
            state.apply_action(moves.pop(0))
    return state


def parse_in(name: str, reply: str, moves: list[int] = (), mode: str = "strict", thinking: bool = False):
    """Parse `reply` in game `name` after `moves`: (status, canonical label of the action or None)."""
    g = GAMES[name]
    state = state_after(name, moves)
    player = 0 if state.is_simultaneous_node() else state.current_player()
    legal = state.legal_actions(player)
    parsed = parse_action(reply, g, state, player, legal, mode, thinking=thinking)
    return parsed.status, (g.label(state, player, parsed.action) if parsed.action is not None else None)


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
        ("tic_tac_toe", "C3R1", [], ("unparsable", None)),
        ("tic_tac_toe", "<C4R1>", [], ("unparsable", None)),
        ("tic_tac_toe", "", [], ("unparsable", None)),
        ("connect_four", "<C7>", [], ("ok", "<C7>")),
        ("connect_four", "<c 1>", [], ("ok", "<C1>")),
        ("connect_four", "<Column 3>", [], ("ok", "<C3>")),
        ("connect_four", "<C8>", [], ("unparsable", None)),
        ("connect_four", "<C1>", [0, 0, 0, 0, 0, 0], ("illegal", None)),
        ("breakthrough", "<a7->b6>", [], ("ok", "<a7->b6>")),
        ("breakthrough", "<A7-B6>", [], ("ok", "<a7->b6>")),
        ("breakthrough", "move <a7 → a6>", [], ("ok", "<a7->a6>")),
        ("breakthrough", "<a7->a5>", [], ("illegal", None)),
        ("breakthrough", "<a2->a3>", [], ("illegal", None)),
        ("first_sealed_auction", "<Bid: 3>", [], ("ok", "<Bid: 3>")),
        ("first_sealed_auction", "<3>", [], ("ok", "<Bid: 3>")),  # GTBench's format
        ("first_sealed_auction", "<Bid: 12>", [], ("ok", "<Bid: 9>")),  # snapped to the nearest legal bid (valuation 10)
        ("first_sealed_auction", "<Bid: 7.5>", [], ("unparsable", None)),
        ("kuhn_poker", "<Bet>", [], ("ok", "<Bet>")),
        ("kuhn_poker", "<check>", [], ("unparsable", None)),
        ("kuhn_poker", "I have a K so I should bet; if I pass the opponent may fold", [], ("unparsable", None)),
        ("liars_dice", "<2-5>", [], ("ok", "<2-5>")),
        ("liars_dice", "<2 - 5>", [], ("ok", "<2-5>")),
        ("liars_dice", "<1 dices, 3 value>", [], ("ok", "<1-3>")),  # GTBench's format
        ("liars_dice", "<2 dice, 6 value>", [], ("ok", "<2-6>")),
        ("liars_dice", "<Liar>", [], ("illegal", None)),
        ("liars_dice", "<Liar>", [3], ("ok", "<Liar>")),
        ("liars_dice", "<1-1>", [3], ("illegal", None)),
        ("negotiation", "<Proposal: [0, 0, 0]>", [], ("ok", "<Proposal: [0, 0, 0]>")),
        ("negotiation", "<proposal:[0,0,0]>", [], ("ok", "<Proposal: [0, 0, 0]>")),
        ("negotiation", "<Utterance: [0, 0, 0]>", [], ("illegal", None)),
        ("negotiation", "<Agree>", [], ("illegal", None)),
        ("nim", "<pile:2, take:1>", [], ("ok", "<pile:2, take:1>")),
        ("nim", "<Pile: 4, Take: 7>", [], ("ok", "<pile:4, take:7>")),
        ("nim", "<pile:1, take:2>", [], ("illegal", None)),
        ("nim", "Taking pile:4, take:7 would leave the opponent a win", [], ("unparsable", None)),
        ("pig", "<Roll>", [], ("ok", "<Roll>")),
        ("pig", "so I should roll. But rolling risks a 1, so maybe stop", [], ("unparsable", None)),
        ("pig", "<hold>", [], ("unparsable", None)),
        ("iterated_prisoners_dilemma", "<Defect>", [], ("ok", "<Defect>")),
        ("iterated_prisoners_dilemma", "<silent>", [], ("ok", "<Cooperate>")),  # GTBench's tags
        ("iterated_prisoners_dilemma", "<Testify>", [], ("ok", "<Defect>")),
        ("iterated_prisoners_dilemma", "I defect.", [], ("unparsable", None)),
    ],
)
def test_strict_parser(name, reply, moves, expected):
    assert parse_in(name, reply, moves) == expected


@pytest.mark.parametrize(
    "name, reply, moves, expected",
    [
        ("tic_tac_toe", "C3R1", [], ("ok", "<C3R1>")),
        ("kuhn_poker", "<check>", [], ("ok", "<Pass>")),
        ("kuhn_poker", "I call: <CALL>", [1], ("ok", "<Bet>")),
        ("nim", "take from pile:3, take:5 now", [], ("ok", "<pile:3, take:5>")),
        ("pig", "<hold>", [], ("ok", "<Stop>")),
        ("pig", "You can choose to roll a six-sided die.", [], ("ok", "<Roll>")),
        ("iterated_prisoners_dilemma", "I defect.", [], ("ok", "<Defect>")),
        ("first_sealed_auction", "Bid: 7.5 feels right", [], ("unparsable", None)),  # never Bid 7
    ],
)
def test_lenient_parser_is_an_explicit_option(name, reply, moves, expected):
    assert parse_in(name, reply, moves, mode="lenient") == expected


@pytest.mark.parametrize(
    "reply, expected",
    [
        # prompt-side <think> prefill: the completion has no opening tag; before </think> is thinking
        ("I could play <C1R1>, or <C2R2>.\n</think>\nAction: <C3R3>", ("ok", "<C3R3>")),
        ("I could play <C1R1>, or", ("unparsable", None)),  # cut off mid-thought: no answer
        ("Action: <C2R2>", ("unparsable", None)),  # never left thinking
        ("<think>\nhmm <C1R1>\n</think>\n<C2R2>", ("ok", "<C2R2>")),
    ],
)
def test_thinking_replies_are_read_only_after_the_thinking_block(reply, expected):
    assert parse_in("tic_tac_toe", reply, thinking=True) == expected
    assert parse_in("tic_tac_toe", reply, mode="lenient", thinking=True)[0] == expected[0]


def test_truncated_reasoning_is_never_played():
    # the model thinks (prefill) and is cut off while musing about a move: the match is abnormal
    musing = "Let me think. If I take <pile:4, take:7> the opponent must take the last one, so"
    agent = LLMAgent(
        ScriptedBackend([musing]), name="thinker", params=SamplingParams(max_tokens=64, stop_at_answer=False, prefill_think=True)
    )
    record = play_match(GAMES["nim"], (agent, RandomAgent()), seed=0)
    assert record["status"] == "abnormal" and record["at_fault"] == "thinker"
    assert record["forfeit"]["status"] == "unparsable" and "never closed" in record["forfeit"]["reason"]


def test_gtbench_system_prompt_is_sent():
    backend = ScriptedBackend(first_legal)
    agent = LLMAgent(backend, name="p", params=SamplingParams(max_tokens=32, stop_at_answer=False))
    play_match(GAMES["liars_dice"], (agent, RandomAgent()), seed=0)
    system = backend.calls[0][0]
    assert system["role"] == "system" and system["content"].startswith("You are a powerful gaming agent")
    assert "choosing one of the legal moves" in system["content"]  # GTBench adds it for liar's dice


# --- illegal moves -------------------------------------------------------------------------------


def test_an_illegal_reply_makes_the_match_abnormal_with_the_offender_at_fault():
    record = play_match(GAMES["tic_tac_toe"], (RandomAgent(), llm(["<C9R9> nonsense"])), seed=0, illegal="forfeit")
    assert record["status"] == "abnormal" and not record["terminal"]
    assert record["at_fault"] == "scripted-llm" and record["at_fault_seat"] == 1
    assert record["forfeit"]["status"] == "unparsable" and record["bad_replies"] == [0, 1]
    assert len(record["moves"][-1]["attempts"]) == 1
    view = summarize([record], "scripted-llm", ["tic_tac_toe"])["random"]["games"]["tic_tac_toe"]
    # GTBench: win rate over normal matches only; the abnormal match is reported beside it
    assert view["normal"] == 0 and view["win_rate"]["estimate"] is None and view["losses"] == 0
    assert view["completion_rate"]["estimate"] == 0.0 and view["abnormal_rate"]["estimate"] == 1.0
    assert view["nra"]["estimate"] == -1.0
    other = summarize([record], "random", ["tic_tac_toe"])["scripted-llm"]["games"]["tic_tac_toe"]
    assert other["abnormal_rate"]["estimate"] == 0.0 and other["opponent_abnormal"] == 1 and other["nra"]["estimate"] == 1.0


def test_illegal_but_well_formed_move_is_counted_as_illegal():
    record = play_match(GAMES["nim"], (llm(["<pile:1, take:5>"]), RandomAgent()), seed=0)
    assert record["forfeit"]["status"] == "illegal" and record["status"] == "abnormal"


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
    assert [m["role"] for m in conversation] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "not legal now" in conversation[-1]["content"] and "Your legal actions:" in conversation[-1]["content"]


def test_retry_rule_still_abandons_after_the_last_retry():
    record = play_match(GAMES["pig"], (llm(["no idea"]), RandomAgent()), seed=0, illegal="retry", max_retries=3)
    assert record["status"] == "abnormal" and record["bad_replies"] == [4, 0] and record["llm_replies"] == [4, 0]
    assert len(record["moves"][-1]["attempts"]) == 4


def test_retried_illegal_replies_are_counted_and_reported(tmp_path):
    def sloppy(messages):  # the opening move of a match is answered wrongly once, then legal moves
        last = messages[-1]["content"]
        if "Your legal actions:" in last and "Moves so far" in last and "(none yet)" in last and len(messages) == 2:
            return "<C9R9>"
        return first_legal(messages)

    agent = LLMAgent(ScriptedBackend(sloppy), name="sloppy", params=SamplingParams(max_tokens=32, stop_at_answer=False))
    config = ArenaConfig(matches=2, illegal="retry", progress=False)
    results = run_arena([agent, "random"], "tic_tac_toe", config, tmp_path)
    row = results["summary"]["sloppy"]["random"]["games"]["tic_tac_toe"]
    assert row["completion_rate"]["estimate"] == 1.0  # every match completed after the retry …
    assert row["illegal_replies"] == 1 and row["replies"] > 1  # … and the bad reply shows
    assert f"| {row['illegal_replies']}/{row['replies']} |" in (tmp_path / "table.md").read_text()


def test_backend_errors_count_as_unparsable():
    def broken(messages):
        raise RuntimeError("server down")

    record = play_match(GAMES["kuhn_poker"], (llm(broken), RandomAgent()), seed=0)
    assert record["forfeit"]["reason"].startswith("backend error")


def test_single_legal_moves_are_played_without_asking():
    # GTBench applies a lone legal action itself: the last square of a tic-tac-toe draw is never asked for
    x = llm(["<C1R1>", "<C3R3>", "<C1R3>", "<C3R2>", "<C2R1>"], name="x")
    o = llm(["<C2R2>", "<C3R1>", "<C1R2>", "<C2R3>"], name="o")
    record = play_match(GAMES["tic_tac_toe"], (x, o), seed=0)
    assert record["status"] == "normal" and record["draw"] and record["scores"] == [0.5, 0.5]
    assert record["moves"][-1].get("forced") and "prompt" not in record["moves"][-1]
    assert record["llm_replies"] == [4, 4]


# --- seats, schedule, resume ---------------------------------------------------------------------


def test_seats_swap_for_half_the_matches_with_shared_deals(tmp_path):
    plan = schedule(["a", "b", "c"], ["kuhn_poker"], ArenaConfig(matches=4))
    assert len(plan) == 8
    ab = [m for m in plan if m["pair"] == ["a", "b"]]
    assert [m["seats"] for m in ab] == [["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]]
    assert ab[0]["seed"] == ab[1]["seed"] != ab[2]["seed"]
    results = run_arena(["mcts:20", "random"], "kuhn_poker", ArenaConfig(matches=4, progress=False), tmp_path)
    lines = (tmp_path / "transcripts.jsonl").read_text().splitlines()
    records = sorted((json.loads(line) for line in lines), key=lambda r: r["index"])  # appended as they finish
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


def test_round_robin_plays_all_pairs_and_reports_ratings(tmp_path):
    config = ArenaConfig(matches=2, progress=False, round_robin=True, mcts_simulations=30)
    results = run_arena(["mcts:30", "random", "tit_for_tat"], "tic_tac_toe,iterated_prisoners_dilemma", config, tmp_path)
    # tit_for_tat only plays the prisoner's dilemma: 3 pairs x 2 there, 1 pair x 2 in tic-tac-toe
    assert results["matches_played"] == 8 and results["matches_skipped"] == 4
    assert set(results["ratings"]) == {"mcts:30", "random", "tit_for_tat"}
    for r in results["ratings"].values():
        assert r["low"] <= r["estimate"] <= r["high"]
    assert "### Ratings" in (tmp_path / "table.md").read_text()


def test_replay_abnormal_reproduces_gtbench_threshold_mode(tmp_path):
    config = ArenaConfig(matches=2, replay_abnormal=5, progress=False)
    results = run_arena([llm(["no move"], name="forfeiter"), "random"], "nim", config, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "transcripts.jsonl").read_text().splitlines()]
    # 2 scheduled matches, abnormal ones replayed with new deals until 5 matches in all
    assert results["matches_played"] == 5 and len(records) == 5
    assert sum("|replay" in r["key"] for r in records) == 3 and all(r["status"] == "abnormal" for r in records)
    originals = {r["seed"] for r in records if "|replay" not in r["key"]}
    assert not originals & {r["seed"] for r in records if "|replay" in r["key"]}
    # a player that recovers stops the replays
    calls = {"n": 0}

    def flaky(messages):
        calls["n"] += 1
        return "no move" if calls["n"] <= 2 else first_legal(messages)

    results = run_arena([llm(flaky, name="flaky"), "random"], "nim", config, tmp_path / "flaky")
    row = results["summary"]["flaky"]["random"]["games"]["nim"]
    assert results["matches_played"] == 4 and row["normal"] == 2 and row["own_abnormal"] == 2


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
    with pytest.raises(ValueError, match="settings"):
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
    with pytest.raises(ValueError, match="parse"):
        ArenaConfig(parse="fuzzy")
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


def record(game, seats, returns, zero_sum=True, fault=None, scores=None):
    """A hand-made match record (scores as `ArenaGame.outcome_scores` gives them)."""
    if fault is not None:
        winner = 1 - fault
    else:
        winner = None if returns[0] == returns[1] else int(returns[1] > returns[0])
    if scores is None:
        scores = [0.5, 0.5] if winner is None else [float(winner == 0), float(winner == 1)]
        scores = scores if zero_sum else list(returns)
    return {
        "game": game,
        "seats": seats,
        "status": "normal" if fault is None else "abnormal",
        "at_fault_seat": fault,
        "returns": returns,
        "scores": scores,
        "zero_sum": zero_sum,
        "winner_seat": winner,
    }


def test_summary_on_hand_made_results():
    records = [
        record("nim", ["P", "O"], [1, -1]),
        record("nim", ["O", "P"], [1, -1]),
        record("nim", ["P", "O"], [0, 0]),
        record("nim", ["O", "P"], [0, 0], fault=1),
        record("negotiation", ["P", "O"], [10, 4], zero_sum=False),
        record("negotiation", ["O", "P"], [6, 2], zero_sum=False),
    ]
    s = summarize(records, "P", ["nim", "negotiation"])["O"]
    nim, nego = s["games"]["nim"], s["games"]["negotiation"]
    assert (nim["matches"], nim["normal"], nim["wins"], nim["draws"], nim["losses"], nim["own_abnormal"]) == (4, 3, 1, 1, 1, 1)
    assert nim["win_rate"]["estimate"] == pytest.approx(1 / 3)  # over the 3 normal matches
    assert nim["completion_rate"]["estimate"] == pytest.approx(3 / 4)
    # NRA: win 1 + draw 1/2 + loss 0 + abnormal (loss) 0 vs 0 + 1/2 + 1 + 1
    assert nim["nra"]["estimate"] == pytest.approx((1.5 - 2.5) / 4)
    assert nego["nra"]["estimate"] == pytest.approx((12 - 10) / 22)
    assert s["overall"]["nra"]["estimate"] == pytest.approx((-0.25 + 2 / 22) / 2)
    assert s["overall"]["win_rate"]["estimate"] == pytest.approx(2 / 5)


def test_draws_count_half():
    draws = [record("nim", ["P", "O"], [0, 0]) for _ in range(2)]
    wins = [record("nim", ["P", "O"], [1, -1]) for _ in range(4)]
    row = summarize(wins + draws, "P", ["nim"])["O"]["games"]["nim"]
    # 4 wins + 2 draws: (4 + 1 - 1) / (4 + 1 + 1), not 1.00
    assert row["nra"]["estimate"] == pytest.approx(4 / 6)
    assert row["win_rate"]["estimate"] == pytest.approx(4 / 6) and row["draw_rate"]["estimate"] == pytest.approx(2 / 6)
    state = state_after("tic_tac_toe", [0, 4, 8, 2, 6, 3, 5, 7, 1])
    assert state.is_terminal() and GAMES["tic_tac_toe"].outcome_scores(state, None) == [0.5, 0.5]


def test_cli_arena_runs_with_a_cot_player_and_an_llm_opponent(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import recon.inference
    from recon.cli import app

    def fake_backend(name, model="smollm2", **options):
        assert options == ({"threads": 1} if model == "smollm2" else {"base_url": "http://x"})
        return ScriptedBackend(lambda messages: "Thinking it over.\nAction: " + first_legal(messages))

    monkeypatch.setattr(recon.inference, "load_backend", fake_backend)
    out = tmp_path / "arena"
    args = ["games", "arena", "--backend", "hf", "--games", "nim,kuhn_poker", "--opponents", "random,llm:openai:rival@http://x",
            "--matches", "2", "--cot", "--illegal", "retry", "--backend-option", "threads=1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["player"] == "cot:hf:smollm2" and results["matches_played"] == 8
    rows = results["summary"]["cot:hf:smollm2"]
    assert set(rows) == {"random", "llm:openai:rival"}
    assert rows["random"]["overall"]["completion_rate"]["estimate"] == 1.0
    assert results["agents"][0]["cot"] is True and results["agents"][0]["sampling"]["max_tokens"] == 1024
    assert results["agents"][0]["sampling"]["temperature"] == 0.6
    records = {r["key"]: r for r in map(json.loads, (out / "transcripts.jsonl").read_text().splitlines())}
    assert "step by step" in records["nim|cot:hf:smollm2|random|0"]["moves"][0]["prompt"]


def test_cli_scripted_player_is_labelled_scripted(tmp_path):
    from typer.testing import CliRunner

    from recon.cli import app

    out = tmp_path / "arena"
    args = ["games", "arena", "--backend", "scripted", "--backend-option", 'respond=["<pile:1, take:1>"]',
            "--games", "nim", "--opponents", "random", "--matches", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["player"] == "llm:scripted:scripted" and "smollm2" not in json.dumps(results["agents"])


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
    assert results["matches_played"] == 2 and results["ratings"] is not None
    rows = results["summary"]["llm:llamacpp:smollm2"]
    assert set(rows) == {"random", "mcts:50"}
    records = [json.loads(line) for line in (out / "transcripts.jsonl").read_text().splitlines()]
    llm_moves = [m for r in records for m in r["moves"] if m.get("agent") == "llm:llamacpp:smollm2" and not m.get("forced")]
    assert llm_moves and all(m["attempts"] and "prompt" in m for m in llm_moves)
    assert "| tic_tac_toe | 1 (" in (out / "table.md").read_text()
