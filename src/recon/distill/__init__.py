"""Teacher chain-of-thought distillation (`recon distill`)."""

import importlib

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


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
