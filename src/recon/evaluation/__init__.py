"""The evaluator: `evaluate(backend, problems, config, out_dir) -> results` and `recon eval`.

    from recon.evaluation import EvalConfig, evaluate
    from recon.inference import load_backend
    results = evaluate(load_backend("llamacpp"), problems, EvalConfig(max_tokens=256), "runs/eval/x")
    results["overall"]["accuracy"], results["categories"]["pte"]["ci95"]
"""

from recon.evaluation.compare import compare_markdown, compare_runs
from recon.evaluation.runner import (
    EvalConfig,
    RunMismatchError,
    build_units,
    evaluate,
    load_eval_problems,
    read_records,
    select_problems,
)
from recon.evaluation.summary import results_markdown, summarize

__all__ = [
    "EvalConfig",
    "RunMismatchError",
    "build_units",
    "compare_markdown",
    "compare_runs",
    "evaluate",
    "load_eval_problems",
    "read_records",
    "results_markdown",
    "select_problems",
    "summarize",
]
