"""The report from a hand-made run folder: model output is never raw HTML, samples files may be torn."""

import json
import re

from recon.report.build import _html, build_report

HOSTILE = [
    "<script>alert(1)</script> By backward induction the answer is \\boxed{Option 1}",
    "<img src=x onerror=alert(1)> wait, [click](javascript:alert(1)) ``` \\boxed{Option 2}",
]


def make_run(tmp_path):
    run_dir = tmp_path / "run"
    eval_dir = run_dir / "eval" / "base" / "verified"
    eval_dir.mkdir(parents=True)
    results = {"overall": {"accuracy": 0.5}, "categories": {"bargaining": {"accuracy": 0.5}}}
    (eval_dir / "results.json").write_text(json.dumps(results))
    lines = [json.dumps({"key": f"p{i}#p0#s0", "completion": text}) for i, text in enumerate(HOSTILE)]
    # a blank line and a torn last line (a killed run) are skipped, not a crash
    (eval_dir / "samples.jsonl").write_text(lines[0] + "\n\n" + lines[1] + "\n" + '{"key": "p2#p0#s0", "compl')
    runs = [{"model": "base", "dataset": "verified", "dir": str(eval_dir), "accuracy": 0.5}]
    pipeline = {"preset": {"name": "t"}, "stages": {"eval": {"runs": runs}}, "seconds": 1}
    (run_dir / "pipeline.json").write_text(json.dumps(pipeline))
    return run_dir


def test_model_output_is_not_raw_html_in_the_report(tmp_path):
    paths = build_report([make_run(tmp_path)], tmp_path / "report")
    page = paths["html"].read_text()
    assert "Reasoning behaviour" in page and "backward induction" in page
    assert not re.search(r"<script|<img[^>]*onerror|<a[^>]*javascript:", page, re.I)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x" in page


def test_only_pngs_inside_the_report_folder_are_inlined(tmp_path):
    folder, outside = tmp_path / "report", tmp_path / "secret.png"
    folder.mkdir()
    (folder / "fig.png").write_bytes(b"\x89PNG inside")
    outside.write_bytes(b"\x89PNG outside")
    page = _html("![a](fig.png)\n\n![b](../secret.png)\n\n![c](" + str(outside) + ")", folder)
    assert "data:image/png;base64," in page
    assert 'src="../secret.png"' in page and f'src="{outside}"' in page
