"""Teacher chain-of-thought distillation (`recon distill`)."""

from recon import lazy_exports

# Imported on first use, so `recon distill --help` loads none of the run machinery.
_EXPORTS = {
    "DistillConfig": "run",
    "RunConflict": "store",
    "RunStore": "store",
    "Trace": "traces",
    "distill": "run",
    "judge": "traces",
    "judge_samples": "run",
    "sft_completion": "traces",
    "sft_record": "store",
    "split_trace": "traces",
    "summarize": "run",
    "summary_markdown": "run",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
