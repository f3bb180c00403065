"""One answer parser and grader, shared by the GRPO reward and the evaluator."""

from recon.grading.extract import THINK_MODES, Extraction, ThinkMode, extract_answer, find_boxed, parse_option_number
from recon.grading.grade import HIERARCHICAL_REWARD, Grade, grade, grade_problem
from recon.grading.rewards import REWARD_REGISTRY, completion_text, get_reward, grade_batch

__all__ = [
    "HIERARCHICAL_REWARD",
    "REWARD_REGISTRY",
    "THINK_MODES",
    "Extraction",
    "Grade",
    "ThinkMode",
    "completion_text",
    "extract_answer",
    "find_boxed",
    "get_reward",
    "grade",
    "grade_batch",
    "grade_problem",
    "parse_option_number",
]
