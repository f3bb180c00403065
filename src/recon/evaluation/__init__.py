"""The evaluator: `evaluate(backend, problems, config, out_dir) -> results` and `recon eval`.

    from recon.evaluation import EvalConfig, evaluate
    from recon.inference import load_backend
    results = evaluate(load_backend("llamacpp"), problems, EvalConfig(max_tokens=256), "runs/eval/x")
    results["overall"]["accuracy"], results["categories"]["pte"]["ci95"]
"""

from recon import lazy_exports

# Imported on first use, so `recon eval --help` loads neither numpy nor the runner.
_EXPORTS = {
    "EvalConfig": "runner",
    "build_units": "runner",
    "compare_markdown": "compare",
    "compare_runs": "compare",
    "evaluate": "runner",
    "load_eval_problems": "runner",
    "read_records": "runner",
    "results_markdown": "summary",
    "select_problems": "runner",
    "summarize": "summary",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
