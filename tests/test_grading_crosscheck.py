"""recon's grader against math-verify's boxed extraction on the published SFT-CoT responses
(bench/grading_crosscheck.py; skipped without math-verify, which is in the dev extra)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from recon.data.published import load_split

pytest.importorskip("math_verify")
SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "grading_crosscheck.py"


@pytest.fixture(scope="module")
def crosscheck():
    spec = importlib.util.spec_from_file_location("grading_crosscheck", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sft(data_dir):
    return load_split("sft_cot", data_dir)


def test_published_responses_read_alike(crosscheck, sft):
    counts, examples = crosscheck.compare([(p, p.meta["response"]) for p in sft])
    assert set(counts) == {"same answer", "same verdict"}, examples
    assert counts["same answer"] == len(sft)


def test_hedges_math_verify_credits_are_refused(crosscheck, sft):
    rows = [(p, crosscheck.variant(p.meta["response"], "hedge with another answer", p)) for p in sft[:60]]
    counts, _ = crosscheck.compare([(p, r) for p, r in rows if r is not None])
    assert not any(key.startswith("verdict differs: recon exact") or key.startswith("verdict differs: recon option") for key in counts)
