import pytest

from recon.report.behaviour import BehaviourTagger


def test_default_tags():
    tagger = BehaviourTagger()
    rl_like = "By backward induction, if Bob chooses B2 then Alice picks A2. Wait, let me check the subgame."
    sft_like = "The answer is Option 2 because it pays more."
    assert tagger.tag(rl_like) == {"solution_concept": True, "branch_enumeration": True, "self_revision": True}
    assert tagger.tag(sft_like) == {"solution_concept": False, "branch_enumeration": False, "self_revision": False}


def test_summary_shares_and_examples():
    tagger = BehaviourTagger({"nash": [r"nash equilibrium"], "wait": [r"\bwait\b"]})
    summary = tagger.summarize([("a", "A Nash equilibrium exists"), ("b", "wait"), ("c", "nothing"), ("d", "NASH EQUILIBRIUM")])
    assert summary["traces"] == 4
    assert summary["share"] == {"nash": 0.5, "wait": 0.25}
    assert [e["id"] for e in summary["examples"]["nash"]] == ["a", "d"]


def test_yaml_config(tmp_path):
    path = tmp_path / "tags.yaml"
    path.write_text("grim:\n  - grim trigger\n")
    assert BehaviourTagger.from_yaml(path).tag("a Grim Trigger strategy") == {"grim": True}
    path.write_text("grim: not-a-list\n")
    with pytest.raises(ValueError, match="mapping"):
        BehaviourTagger.from_yaml(path)


def test_bad_regex_is_a_clear_error():
    with pytest.raises(ValueError, match="invalid behaviour pattern"):
        BehaviourTagger({"x": ["("]})


def test_empty_input():
    assert BehaviourTagger().summarize([])["share"]["self_revision"] is None
