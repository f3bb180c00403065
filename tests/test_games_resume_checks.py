"""Settings are validated before a run folder is touched, and resumed transcripts are read with the
shared append-only JSONL reader (a torn tail is replayed, a corrupt complete line refused)."""

from __future__ import annotations

import json

import pytest

from recon.games.arena.runner import ArenaConfig, run_arena
from recon.games.selfplay.runner import SelfPlayConfig, run_selfplay
from recon.inference import ScriptedBackend


def _always(choice: str) -> ScriptedBackend:
    return ScriptedBackend(lambda messages: f"<s>{choice}</s>")


@pytest.mark.parametrize("bad", [{"top_p": 1.5}, {"top_p": 0.0}, {"temperature": -0.1}, {"max_tokens": 0}])
def test_selfplay_bad_sampling_is_refused_before_any_file_is_written(tmp_path, bad):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=next(iter(bad))):
        run_selfplay(_always("choice_2"), "pd", SelfPlayConfig(trials=1, **bad), out, progress=False)
    assert not out.exists()
    # the corrected rerun into the same folder is not refused as "different settings"
    results = run_selfplay(_always("choice_2"), "pd", SelfPlayConfig(trials=1), out, progress=False)
    assert results["games"]["pd"]["trials"] == 1


def test_selfplay_calls_use_the_configured_sampling(tmp_path):
    seen = []

    class Recording(ScriptedBackend):
        def generate(self, conversations, params, progress=None):
            seen.append(params)
            return super().generate(conversations, params, progress)

    backend = Recording(lambda messages: "<s>choice_2</s>")
    run_selfplay(backend, "pd", SelfPlayConfig(trials=2, top_p=0.9, temperature=0.7, max_tokens=77), tmp_path, progress=False)
    assert seen and all((p.top_p, p.temperature, p.max_tokens, p.stop_at_answer) == (0.9, 0.7, 77, False) for p in seen)
    assert seen[0].n == 2


def test_distill_bad_sampling_is_refused_at_config():
    from recon.distill.run import DistillConfig

    for bad in ({"top_p": 1.5}, {"max_tokens": 0}, {"temperature": -1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            DistillConfig(teacher_model="t", teacher_url="http://x", data="d.jsonl", **bad)
    params = DistillConfig(teacher_model="t", teacher_url="http://x", data="d.jsonl", samples=3, seed=5).sampling()
    assert (params.n, params.seed, params.top_p, params.max_tokens, params.stop_at_answer) == (3, 5, 0.95, 8192, False)


def test_selfplay_corrupt_complete_line_is_refused(tmp_path):
    out = tmp_path / "run"
    run_selfplay(_always("choice_2"), "pd", SelfPlayConfig(trials=2), out, progress=False)
    path = out / "transcripts.jsonl"
    lines = path.read_text().splitlines()
    path.write_text(lines[0][:20] + "\n" + lines[1] + "\n")
    with pytest.raises(ValueError, match="corrupt"):
        run_selfplay(_always("choice_2"), "pd", SelfPlayConfig(trials=2), out, progress=False)


def test_arena_record_cut_before_its_newline_is_replayed(tmp_path):
    config = ArenaConfig(matches=2, progress=False)
    run_arena(["random", "mcts:5"], "nim", config, tmp_path)
    path = tmp_path / "transcripts.jsonl"
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    # the last record is complete JSON but its newline never reached the disk
    path.write_text(lines[0] + "\n" + lines[1])
    results = run_arena(["random", "mcts:5"], "nim", config, tmp_path)
    assert results["matches_played"] == 2
    text = path.read_text()
    assert text.endswith("\n")
    keys = [json.loads(line)["key"] for line in text.splitlines()]
    assert sorted(keys) == sorted({json.loads(line)["key"] for line in lines})
    # a further resume finds every match done and the file intact
    again = run_arena(["random", "mcts:5"], "nim", ArenaConfig(matches=3, progress=False), tmp_path)
    assert again["matches_played"] == 3 and len(path.read_text().splitlines()) == 3
