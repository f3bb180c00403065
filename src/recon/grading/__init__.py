"""One answer parser and grader, shared by the GRPO reward and the evaluator (spec: docs/grading.md)."""

# Bump whenever a grading rule changes (docs/grading.md): eval and distill runs record it in their identity,
# so a run resumed under other rules is refused instead of mixing verdicts.
GRADER_VERSION = "2"

from recon.grading.extract import THINK_MODES, Extraction, ThinkMode, answer_region, extract_answer, find_boxed
from recon.grading.grade import (
    HIERARCHICAL_REWARD,
    Grade,
    grade,
    grade_problem,
    parse_option_number,
    parse_ordering,
    parse_pairs,
    parse_yes_no,
)
from recon.grading.normalise import NORMALISERS, Parsed, canonical_answer, register
from recon.grading.rewards import REWARD_REGISTRY, completion_text, get_reward, grade_batch

__all__ = [
    "GRADER_VERSION",
    "HIERARCHICAL_REWARD",
    "NORMALISERS",
    "REWARD_REGISTRY",
    "THINK_MODES",
    "Extraction",
    "Grade",
    "Parsed",
    "ThinkMode",
    "answer_region",
    "canonical_answer",
    "completion_text",
    "extract_answer",
    "find_boxed",
    "get_reward",
    "grade",
    "grade_batch",
    "grade_problem",
    "parse_option_number",
    "parse_ordering",
    "parse_pairs",
    "parse_yes_no",
    "register",
]
