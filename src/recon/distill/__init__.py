"""Teacher chain-of-thought distillation (`recon distill`)."""

from recon.distill.run import DistillConfig, distill, judge_samples, summarize, summary_markdown
from recon.distill.store import RunConflict, RunStore, sft_record
from recon.distill.traces import Trace, judge, sft_completion, split_trace

__all__ = [
    "DistillConfig",
    "RunConflict",
    "RunStore",
    "Trace",
    "distill",
    "judge",
    "judge_samples",
    "sft_completion",
    "sft_record",
    "split_trace",
    "summarize",
    "summary_markdown",
]
