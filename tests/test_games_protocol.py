"""Scores comparable to GTBench and the paper: forfeits, ratings, Table 5, the paper preset's games
section, and the self-play reading rules (first `<s>` tag, thinking prefill, who speaks first)."""

from __future__ import annotations

import json
import random
import re

import pytest

from recon.games.arena import GAME_NAMES, ArenaConfig, LLMAgent, RandomAgent, run_arena, table5
from recon.games.arena.metrics import ratings
from recon.games.selfplay.episode import Reading, play_trial
from recon.games.selfplay.parse import parse_choice
from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay
from recon.stats import bradley_terry, bradley_terry_intervals
from recon.games.library import load_library
from recon.inference import SamplingParams, ScriptedBackend


def scripted(respond, name: str) -> LLMAgent:
    return LLMAgent(ScriptedBackend(respond), name=name, params=SamplingParams(max_tokens=64, stop_at_answer=False))


def test_always_forfeiting_agent_scores_nra_minus_one_in_all_ten_games(tmp_path):
    forfeiter = scripted(["I would rather not say."], "forfeiter")
    results = run_arena([forfeiter, "random"], "all", ArenaConfig(matches=2, progress=False), tmp_path)
    rows = results["summary"]["forfeiter"]["random"]
    assert set(rows["games"]) == set(GAME_NAMES)
    for game, row in rows["games"].items():
        assert row["nra"]["estimate"] == -1.0, game
        assert row["normal"] == 0 and row["win_rate"]["estimate"] is None, game
        assert row["completion_rate"]["estimate"] == 0.0 and row["abnormal_rate"]["estimate"] == 1.0
    assert rows["overall"]["nra"]["estimate"] == -1.0
    table = (tmp_path / "table.md").read_text()
    assert table.count("n/a (0 valid matches)") >= 2 * len(GAME_NAMES)  # win and draw rate of every game


def test_bradley_terry_ratings_do_not_depend_on_match_order():
    rng = random.Random(1)
    results = [("a", "b", 1.0)] * 6 + [("a", "b", 0.0)] * 2 + [("b", "c", 0.5)] * 3 + [("a", "c", 1.0)] * 4
    results += [("c", "b", 1.0)] * 2
    shuffled = results[:]
    rng.shuffle(shuffled)
    assert bradley_terry(shuffled) == pytest.approx(bradley_terry(results))
    assert bradley_terry(results[::-1]) == pytest.approx(bradley_terry(results))
    assert bradley_terry_intervals(shuffled) == bradley_terry_intervals(results)
    fit = bradley_terry(results)
    assert fit["a"] > fit["b"] and fit["a"] > fit["c"]
    assert sum(fit.values()) / 3 == pytest.approx(1500)


def test_bradley_terry_is_the_maximum_likelihood_fit_with_draws_as_half():
    # two agents: the MLE has p_a / (p_a + p_b) = (wins + virtual half) / (games + 1)
    results = [("a", "b", 1.0)] * 3 + [("a", "b", 0.5)] * 2 + [("a", "b", 0.0)]
    fit = bradley_terry(results)
    share = (3 + 1 + 0.5) / (6 + 1)
    expected = 400 * __import__("math").log10(share / (1 - share))
    assert fit["a"] - fit["b"] == pytest.approx(expected)
    # all wins stays finite (the virtual draw), and more wins give a larger gap
    assert bradley_terry([("a", "b", 1.0)] * 10)["a"] > bradley_terry([("a", "b", 1.0)] * 2)["a"] > 1500


def test_ratings_from_records_and_the_overlap_note(tmp_path):
    results = run_arena(
        ["mcts:30", "random", RandomAgent("random2")], "tic_tac_toe",
        ArenaConfig(matches=2, round_robin=True, progress=False), tmp_path,
    )
    records = [json.loads(line) for line in (tmp_path / "transcripts.jsonl").read_text().splitlines()]
    again = ratings(list(reversed(records)))
    assert {k: v["estimate"] for k, v in again.items()} == pytest.approx(
        {k: v["estimate"] for k, v in results["ratings"].items()}
    )
    # 2 matches per pair: the two random agents cannot be told apart
    assert "intervals are wider than the differences" in (tmp_path / "table.md").read_text()


def last_legal(messages) -> str:
    """A scripted player: the last legal tag listed in the prompt."""
    return re.findall(r"<[^<>]+>", messages[-1]["content"].split("Your legal actions:")[1].split("\n")[0])[-1]


def test_table5_lays_out_games_by_models_against_the_llm_opponent(tmp_path):
    entries = []
    for label, respond in (("base", lambda m: "no idea"), ("grpo", last_legal)):
        opponent = scripted(lambda m: re.findall(r"<[^<>]+>", m[-1]["content"].split("Your legal actions:")[1])[0],
                            "llm:openai:gpt-4o-mini")
        results = run_arena(
            [scripted(respond, label), opponent, "random"], "nim,kuhn_poker",
            ArenaConfig(matches=2, progress=False), tmp_path / label,
        )
        entries.append((label, results))
    table = table5(entries)
    assert "Win rate vs **llm:openai:gpt-4o-mini**" in table
    assert "| Game | base: win % | NRA | compl. % | grpo: win % | NRA | compl. % |" in table
    nim_row = next(line for line in table.splitlines() if line.startswith("| nim |"))
    assert "n/a (0 valid matches)" in nim_row and "-1.00" in nim_row
    assert "**average**" in table


def test_paper_preset_plays_the_papers_arena_protocol():
    from recon.pipeline.preset import load_preset

    games = load_preset("paper")["games"]
    arena = games["arena"]
    assert arena["opponents"][0].startswith("llm:openai:gpt-4o-mini@")
    assert {"random", "mcts"} <= set(arena["opponents"]) and arena["matches"] == 10
    assert arena["temperature"] == 0.6 and arena["think"] is True and arena["parse"] == "strict"
    settings = {k: v for k, v in arena.items() if k not in ("games", "opponents")}
    config = ArenaConfig(**settings)
    player, rival = config.sampling(), config.sampling(opponent=True)
    assert player.temperature == 0.6 and player.prefill_think and player.max_tokens >= 6144
    assert not rival.prefill_think and rival.max_tokens == 1024
    selfplay = SelfPlayConfig(**{k: v for k, v in games["selfplay"].items() if k != "games"})
    assert selfplay.trials == 20 and selfplay.sampling().prefill_think and selfplay.sampling().max_tokens >= 6144


def test_llm_opponent_spec_with_url_reaches_the_openai_backend(monkeypatch):
    import recon.inference
    from recon.games.arena.agents import make_agent

    seen = {}

    def fake(name, model="smollm2", **options):
        seen.update(name=name, model=model, **options)
        return ScriptedBackend(["<Pass>"])

    monkeypatch.setattr(recon.inference, "load_backend", fake)
    agent = make_agent("llm:openai:gpt-4o-mini@http://localhost:8000/v1", prompt_params=SamplingParams(temperature=0.6))
    assert seen == {"name": "openai", "model": "gpt-4o-mini", "base_url": "http://localhost:8000/v1"}
    assert agent.name == "llm:openai:gpt-4o-mini" and agent.params.temperature == 0.6


# --- self-play reading rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, which, thinking, expected",
    [
        ("<s>choice_1</s> then <s>choice_2</s>", "first", False, "choice_1"),
        ("<s>choice_1</s> then <s>choice_2</s>", "last", False, "choice_2"),
        # prompt-side <think> prefill: no opening tag in the completion
        ("maybe <s>choice_1</s>\n</think>\n<s>choice_2</s>", "first", True, "choice_2"),
        ("maybe <s>choice_1</s> or", "first", True, None),  # cut off while thinking
        ("maybe <s>choice_1</s> or", "first", False, "choice_1"),
    ],
)
def test_selfplay_reads_the_first_tag_outside_thinking(text, which, thinking, expected):
    assert parse_choice(text, 2, which, thinking) == expected


def drive(trial, answer):
    """Run a self-play trial generator, answering each question with `answer(ask)`."""
    asks = next(trial)
    order = []
    try:
        while True:
            order += [a.player for a in asks]
            from recon.inference.base import Completion

            asks = trial.send([Completion(answer(a)) for a in asks])
    except StopIteration as stop:
        return stop.value, order


def test_who_first_opens_each_negotiation_round():
    game = load_library()["pd"]
    say = lambda ask: "<s>choice_2</s>" if ask.choices else "<s>Let us cooperate.</s>"  # noqa: E731
    record, order = drive(play_trial(game, negotiation_rounds=2, who_first="Bob"), say)
    assert order[:4] == ["Bob", "Alice", "Bob", "Alice"] and record["negotiation"][0].startswith("Bob said")
    record, order = drive(play_trial(game, negotiation_rounds=1), say)
    assert order[:2] == ["Alice", "Bob"]
    with pytest.raises(ValueError, match="who_first"):
        next(play_trial(game, who_first="Carol"))


def test_selfplay_with_thinking_prefill_reads_after_think(tmp_path):
    seen = []

    class Recording(ScriptedBackend):
        def generate(self, conversations, params, progress=None):
            seen.append(params)
            return super().generate(conversations, params, progress)

    backend = Recording(lambda m: "Both defect is the equilibrium <s>choice_1</s>?\n</think>\n<s>choice_2</s>")
    config = SelfPlayConfig(trials=2, think=True)
    results = run_selfplay(backend, "pd", config, tmp_path, progress=False)
    assert seen[0].prefill_think and seen[0].max_tokens == 6144
    assert results["games"]["pd"]["ne_rate"]["estimate"] == 1.0  # choice_2/choice_2, not the musing
    with pytest.raises(ValueError, match="who_first"):
        SelfPlayConfig(who_first="Carol")
    assert Reading().tag == "first"
