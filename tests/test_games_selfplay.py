"""Self-play (Suite 1 of issue 7) with scripted players: known answers, information sets, parsing,
retries and failure accounting, negotiation, batching, resume, the CLI."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from recon.games.library import SEQUENTIAL, load_library
from recon.games.selfplay import SelfPlayConfig, run_selfplay
from recon.games.selfplay.parse import is_halt, parse_choice, parse_message
from recon.inference.base import Completion
from recon.inference.scripted import ScriptedBackend


def _user(messages: list[dict]) -> str:
    return messages[-1]["content"]


def _always(choice: str):
    return ScriptedBackend(lambda messages: f"<think>let me see</think>\nMy choice: <s>{choice}</s>")


def _run(backend, games, tmp_path, **config):
    return run_selfplay(backend, games, SelfPlayConfig(**config), tmp_path / "run", progress=False)


def test_always_defect_prisoners_dilemma_is_always_nash(tmp_path):
    results = _run(_always("choice_2"), "pd", tmp_path, trials=20)
    pd = results["games"]["pd"]
    assert pd["ne_rate"]["estimate"] == 1.0 and pd["pareto_ne_rate"]["estimate"] == 1.0
    assert pd["failure_rate"]["estimate"] == 0.0
    assert pd["outcomes"] == {"(2,2)": 20}
    assert 0.8 < pd["ne_rate"]["low"] < 1.0 and pd["ne_rate"]["high"] == 1.0


def test_always_cooperate_prisoners_dilemma_is_never_nash(tmp_path):
    results = _run(_always("choice_1"), "pd", tmp_path, trials=20)
    pd = results["games"]["pd"]
    assert pd["ne_rate"]["estimate"] == 0.0 and pd["failure_rate"]["estimate"] == 0.0
    assert pd["outcomes"] == {"(1,1)": 20}
    records = [json.loads(line) for line in (tmp_path / "run" / "transcripts.jsonl").read_text().splitlines()]
    assert len(records) == 20 and all(r["payoffs"] == [3, 3] and r["ne"] is False for r in records)


_RULE = re.compile(r"^If (.*), Alice will receive a reward of (-?[\d.]+) and Bob will receive a reward of (-?[\d.]+)\.$")


def backward_induction_player(messages: list[dict]) -> str:
    """A rational player that knows only the prompt: rebuild the tree from the rule lines, read the
    earlier moves and who it plays, and answer by backward induction."""
    prompt = _user(messages)
    me = re.search(r"You are playing as (Alice|Bob)\.", prompt)[1]
    leaves = {}
    for line in prompt.splitlines():
        m = _RULE.match(line)
        if m:
            moves = tuple(re.findall(r"(Alice|Bob) chooses (choice_\d+)", m[1]))
            leaves[moves] = (float(m[2]), float(m[3]))
    done = re.search(r"presented below:\n(.*)\n", prompt)
    history = tuple(re.findall(r"(Alice|Bob) chooses (choice_\d+)", done[1])) if done else ()

    def value(h):
        if h in leaves:
            return leaves[h]
        options = {p[len(h)] for p in leaves if p[: len(h)] == h and len(p) > len(h)}
        mover = next(iter(options))[0]
        return max((value(h + (o,)) for o in sorted(options)), key=lambda v: v[0 if mover == "Alice" else 1])

    options = sorted({p[len(history)] for p in leaves if p[: len(history)] == history and len(p) > len(history)})
    assert all(who == me for who, _ in options), "asked to move at someone else's node"
    best = max(options, key=lambda o: value(history + (o,))[0 if me == "Alice" else 1])
    return f"<think>Backward induction from the leaves.</think> <s>{best[1]}</s>"


def test_backward_induction_player_reaches_the_subgame_perfect_path_in_every_sequential_game(tmp_path):
    sequential = [g for g in load_library().values() if g.kind == SEQUENTIAL]
    results = _run(ScriptedBackend(backward_induction_player), sequential, tmp_path, trials=3)
    for game in sequential:
        metrics = results["games"][game.name]
        assert metrics["ne_rate"]["estimate"] == 1.0, game.name
        assert metrics["nash_outcome_rate"]["estimate"] == 1.0
        assert metrics["failure_rate"]["estimate"] == 0.0
    assert results["table4"]["sequential"]["estimate"] == 1.0
    assert results["table4"]["simultaneous"]["estimate"] is None


def test_simultaneous_players_do_not_see_each_other_and_sequential_players_see_earlier_moves(tmp_path):
    backend = _always("choice_2")
    _run(backend, "pd,monopoly", tmp_path, trials=2)
    prompts = [_user(m) for m in backend.calls]
    pd_prompts = [p for p in prompts if "one-round game" in p]
    assert {re.search(r"playing as (\w+)", p)[1] for p in pd_prompts} == {"Alice", "Bob"}
    assert not any("Previous Actions" in p or "chooses choice" in p.split("### Your Action")[1] for p in pd_prompts)
    bob_move = [p for p in prompts if "sequential move game" in p and "playing as Bob" in p]
    assert bob_move and all("presented below:\nAlice chooses choice_2\n" in p for p in bob_move)
    # The model sees labels and numbers only, rules as Hua et al. write them.
    alice_pd = next(p for p in pd_prompts if "playing as Alice" in p)
    assert "- If you choose choice_1 while Bob chooses choice_2, you will receive a reward of 0 and Bob will receive a reward of 5." in alice_pd
    assert "prison" not in alice_pd.lower() and "defect" not in alice_pd.lower()
    bob_pd = next(p for p in pd_prompts if "playing as Bob" in p)
    assert "- If you choose choice_2 while Alice chooses choice_1, you will receive a reward of 5 and Alice will receive a reward of 0." in bob_pd


@pytest.mark.parametrize(
    "text, n, expected",
    [
        ("<s>choice_1</s>", 2, "choice_1"),
        ("<s>choice1</s>", 2, "choice_1"),
        ("<s> Choice 2 </s>", 2, "choice_2"),
        ("<s>`choice_2`.</s>", 2, "choice_2"),
        ("<s>\nchoice_6\n</s>", 6, "choice_6"),
        ("First <s>choice_1</s>, on reflection <s>choice_2</s>", 2, "choice_1"),  # Hua et al.: the first tag
        ("<think>maybe <s>choice_1</s></think> I pick <s>choice_2</s>", 2, "choice_2"),
        ("<think>I pick <s>choice_1</s></think> so that is my answer", 2, None),
        ("<think>still thinking <s>choice_1</s>", 2, None),
        ("<s>choice_3</s>", 2, None),
        ("<s>choice_0</s>", 2, None),
        ("<s>choice_1 or choice_2</s>", 2, None),
        ("I choose choice_1", 2, None),
        ("<s></s>", 2, None),
        ("<s>1</s>", 2, None),
        ("", 2, None),
        ("<s>choice_" + "1" * 5000 + "</s>", 2, None),  # a long number is no choice (and no crash in int())
        ("<s>choice_0000002</s>", 2, None),
    ],
)
def test_parse_choice(text, n, expected):
    assert parse_choice(text, n) == expected


def test_parse_message_and_halt():
    assert parse_message("<think>x</think><s>Let us both pick choice_1.</s>") == "Let us both pick choice_1."
    assert parse_message("no tag") is None and parse_message("<s>  </s>") is None
    assert is_halt(parse_message("<s>Halt negotiation.</s>")) and not is_halt("halt? no, negotiate")


class Flaky:
    """Answers with garbage for the first `bad` samples of every prompt, then `<s>choice_2</s>`; one
    garbage answer is a failed request (`Completion.error`)."""

    name = "flaky"

    def __init__(self, bad: int):
        self.bad, self.seen, self.calls = bad, {}, []

    def generate(self, conversations, params, progress=None):
        self.calls.append((len(conversations), params.n, params.seed))
        out = []
        for messages in conversations:
            completions = []
            for _ in range(params.n):
                k = self.seen[_user(messages)] = self.seen.get(_user(messages), 0) + 1
                if k == 1:
                    completions.append(Completion("", finish_reason="error", error="connection reset"))
                elif k <= self.bad:
                    completions.append(Completion("I would rather not say."))
                else:
                    completions.append(Completion("<s>choice_2</s>"))
            out.append(completions)
        return out

    def describe(self):
        return {"backend": "flaky", "model": "flaky"}


def test_unparsable_replies_are_retried_then_succeed(tmp_path):
    backend = Flaky(bad=2)  # per prompt: one error, one garbage, then valid
    results = _run(backend, "monopoly", tmp_path, trials=1, max_retries=2)
    record = json.loads((tmp_path / "run" / "transcripts.jsonl").read_text())
    assert record["failure"] is None and record["outcome"] == ["choice_2", "choice_2"]
    attempts = [(t["player"], t["attempt"], t["parsed"], t["error"]) for t in record["turns"]]
    assert attempts == [
        ("Alice", 0, None, "connection reset"), ("Alice", 1, None, None), ("Alice", 2, "choice_2", None),
        ("Bob", 0, None, "connection reset"), ("Bob", 1, None, None), ("Bob", 2, "choice_2", None),
    ]
    assert len({seed for _, _, seed in backend.calls}) == len(backend.calls), "a retry must not reuse the seed"
    assert results["games"]["monopoly"]["failure_rate"]["estimate"] == 0.0


def test_retries_run_out_and_the_trial_is_a_failure(tmp_path):
    backend = ScriptedBackend(lambda messages: "no idea")
    results = _run(backend, "pd,escalation", tmp_path, trials=4, max_retries=2)
    for name in ("pd", "escalation"):
        m = results["games"][name]
        assert m["failures"] == 4 and m["failure_rate"]["estimate"] == 1.0 and m["ne_rate"]["estimate"] == 0.0
        assert m["outcomes"] == {}
    records = [json.loads(line) for line in (tmp_path / "run" / "transcripts.jsonl").read_text().splitlines()]
    pd_trial = next(r for r in records if r["game"] == "pd")
    assert pd_trial["outcome"] is None and "3 attempts" in pd_trial["failure"]
    assert len(pd_trial["turns"]) == 6  # Alice and Bob, three attempts each
    assert len(backend.calls) == 3 * 2 + 3 * 1  # unique prompts per round: pd (2) + escalation (1)


def test_one_player_failing_fails_the_simultaneous_trial(tmp_path):
    backend = ScriptedBackend(lambda m: "<s>choice_2</s>" if "playing as Alice" in _user(m) else "<s>choice_9</s>")
    m = _run(backend, "pd", tmp_path, trials=2, max_retries=0)["games"]["pd"]
    assert m["failures"] == 2 and m["ne_rate"]["estimate"] == 0.0


def test_identical_questions_are_batched_as_samples(tmp_path):
    backend = Flaky(bad=0)
    _run(backend, "pd,stag_hunt", tmp_path, trials=20, batch_size=80)
    # every trial's first question is identical: one call, 4 prompts (2 games × 2 players), n = 20 each;
    # the first sample of each prompt is an error, so one player of one trial per prompt is re-asked.
    assert backend.calls[0][:2] == (4, 20)
    assert [c[:2] for c in backend.calls[1:]] == [(4, 1)]
    backend = Flaky(bad=0)
    _run(backend, "pd", tmp_path / "small", trials=20, batch_size=8)
    assert all(n * size <= 8 for size, n, _ in backend.calls)


def test_negotiation_messages_precede_moves_and_both_players_see_them(tmp_path):
    def player(messages):
        prompt = _user(messages)
        if "### Negotiation\n" in prompt:
            who = re.search(r"playing as (\w+)", prompt)[1]
            return f"<s>{who} proposes choice_1.</s>"
        return "<s>choice_1</s>"

    results = _run(ScriptedBackend(player), "stag_hunt,hot_cold", tmp_path, trials=1, negotiation_rounds=2)
    records = {json.loads(l)["game"]: json.loads(l) for l in (tmp_path / "run" / "transcripts.jsonl").read_text().splitlines()}
    sh = records["stag_hunt"]
    assert sh["negotiation"] == [
        "Alice said in round 1: Alice proposes choice_1.", "Bob replied in round 1: Bob proposes choice_1.",
        "Alice said in round 2: Alice proposes choice_1.", "Bob replied in round 2: Bob proposes choice_1.",
    ]
    moves = [t for t in sh["turns"] if t["purpose"] == "move"]
    assert len(moves) == 2 and all("Bob replied in round 2: Bob proposes choice_1." in t["prompt"] for t in moves)
    assert results["games"]["stag_hunt"]["pareto_ne_rate"]["estimate"] == 1.0
    hc = records["hot_cold"]
    assert len(hc["negotiation"]) == 8  # two rounds before each of the two moves
    assert hc["negotiation"][4].startswith("Alice said in round 1 before the second action:\n")


def test_halt_ends_the_negotiation(tmp_path):
    backend = ScriptedBackend(lambda m: "<s>halt negotiation</s>" if "### Negotiation\n" in _user(m) else "<s>choice_2</s>")
    _run(backend, "pd", tmp_path, trials=1, negotiation_rounds=3)
    record = json.loads((tmp_path / "run" / "transcripts.jsonl").read_text())
    assert record["negotiation"] == [] and record["outcome"] == ["choice_2", "choice_2"]
    assert [t["purpose"] for t in record["turns"]] == ["message", "move", "move"]


def test_resume_skips_finished_trials_and_refuses_other_settings(tmp_path):
    out = tmp_path / "run"
    first = _always("choice_2")
    run_selfplay(first, "pd,monopoly", SelfPlayConfig(trials=2), out, progress=False)
    lines = (out / "transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 4
    # an interrupted write leaves a partial line: it is cut off and that trial replayed
    (out / "transcripts.jsonl").write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])
    again = _always("choice_2")
    results = run_selfplay(again, "pd,monopoly", SelfPlayConfig(trials=3), out, progress=False)
    # replayed: pd trial 2 and monopoly trials 1 and 2 → prompts pd Alice, pd Bob, monopoly Alice (n=2), then
    # monopoly Bob (n=2); ScriptedBackend records each prompt once per call
    assert len(again.calls) == 4
    assert results["games"]["pd"]["trials"] == 3 and results["games"]["monopoly"]["trials"] == 3
    keys = [(r["game"], r["trial"]) for r in map(json.loads, (out / "transcripts.jsonl").read_text().splitlines())]
    assert sorted(keys) == sorted((g, t) for g in ("pd", "monopoly") for t in range(3))
    nothing = _always("choice_2")
    run_selfplay(nothing, "pd,monopoly", SelfPlayConfig(trials=3), out, progress=False)
    assert nothing.calls == []
    with pytest.raises(ValueError, match="temperature"):
        run_selfplay(nothing, "pd", SelfPlayConfig(trials=3, temperature=1.0), out, progress=False)


def test_results_files_and_table4(tmp_path):
    backend = ScriptedBackend(lambda m: "<s>choice_1</s>")
    results = _run(backend, "all", tmp_path, trials=2)
    ne = {name: m["ne_rate"]["estimate"] for name, m in results["games"].items()}
    # choice_1 everywhere: NE in stag hunt and BoS; SPE path in escalation and draco (both choice_1…)
    assert ne == {
        "pd": 0.0, "stag_hunt": 1.0, "bos": 1.0, "wait_go": 0.0, "duopoly": 0.0,
        "escalation": 1.0, "monopoly": 0.0, "hot_cold": 0.0, "draco": 1.0, "trigame": 0.0,
    }
    t4 = results["table4"]
    assert t4["simultaneous"]["estimate"] == pytest.approx(0.4) and t4["sequential"]["estimate"] == pytest.approx(0.4)
    assert t4["overall"]["estimate"] == pytest.approx(0.4)
    assert t4["overall"]["low"] <= 0.4 <= t4["overall"]["high"]
    out = tmp_path / "run"
    assert json.loads((out / "results.json").read_text())["table4"] == t4
    md = (out / "results.md").read_text()
    assert "## Table 4" in md and "| Stag Hunt | simultaneous | 2 | 100.0 [" in md
    assert "SPE 2→1→2; other NE 1→2→2" in md
    identity = json.loads((out / "run.json").read_text())["identity"]
    assert identity["play"]["temperature"] == 0.6 and identity["backend"]["backend"] == "scripted"


def test_cli_selfplay_runs_and_writes_tables(tmp_path, monkeypatch):
    import recon.inference

    seen = {}

    def fake_load_backend(name, model="smollm2", **options):
        seen.update(name=name, model=model, options=options)
        return ScriptedBackend(lambda m: "<s>choice_2</s>")

    monkeypatch.setattr(recon.inference, "load_backend", fake_load_backend, raising=False)
    from recon.cli import app

    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app,
        ["games", "selfplay", "--backend", "llamacpp", "--games", "pd,wait_go", "--trials", "3", "--out", str(out),
         "--backend-option", "n_ctx=4096", "--backend-option", "base_url=http://x"],
    )
    assert result.exit_code == 0, result.output
    assert seen == {"name": "llamacpp", "model": "smollm2", "options": {"n_ctx": 4096, "base_url": "http://x"}}
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == "smollm2" and list(results["games"]) == ["pd", "wait_go"]
    assert (out / "results.md").exists() and len((out / "transcripts.jsonl").read_text().splitlines()) == 6
    listing = CliRunner().invoke(app, ["games", "list"])
    assert listing.exit_code == 0 and "| trigame | TriGame | sequential | SPE 2→1→2" in listing.output
    bad = CliRunner().invoke(app, ["games", "selfplay", "--games", "chess", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown game" in bad.stderr


@pytest.mark.slow
def test_real_smollm2_selfplay_smoke(tmp_path):
    """SmolLM2 through llama.cpp plays one trial of a simultaneous and a sequential game end to end."""
    from recon.inference import load_backend

    backend = load_backend("llamacpp", "smollm2", n_ctx=2048)
    results = run_selfplay(backend, "pd,monopoly", SelfPlayConfig(trials=1, max_tokens=32, max_retries=1), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "transcripts.jsonl").read_text().splitlines()]
    assert sorted(r["game"] for r in records) == ["monopoly", "pd"]
    for r in records:
        assert (r["outcome"] is None) != (r["failure"] is None)
        assert r["turns"] and all(t["reply"] is not None for t in r["turns"])
    for m in results["games"].values():
        assert 0.0 <= m["ne_rate"]["estimate"] <= 1.0 and m["trials"] == 1
    assert results["model"] == "smollm2" and "| smollm2 |" in (tmp_path / "results.md").read_text()


def test_call_seeds_differ_across_calls_and_resumed_sessions():
    from recon.games.selfplay.runner import call_seed

    seeds = {call_seed(0, session, call) for session in (0, 4, 17) for call in range(50)}
    assert len(seeds) == 150 and all(0 <= s < 2**31 for s in seeds)
    assert call_seed(0, 0, 3) == call_seed(0, 0, 3) != call_seed(1, 0, 3)
