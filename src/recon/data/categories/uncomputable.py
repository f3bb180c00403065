"""Published categories no exact solver can re-derive: they are kept and flagged, never audited."""

from __future__ import annotations

from recon.data.categories import CategorySpec, register
from recon.data.categories.common import not_computable

register(CategorySpec(
    "budget_balance", "option",
    not_computable("budget balance of a verbal risk-sharing scheme is a judgement on prose, not a computation"),
    None, "STEER risk sharing: is a described scheme budget balanced (kept, not audited)."))
register(CategorySpec(
    "econnli", "yes_no",
    not_computable("EconNLI causal entailment between economic events has no formal model to solve"),
    None, "EconNLI: can the premise causally lead to the hypothesis (kept, not audited)."))
register(CategorySpec(
    "econlogicqa", "ordering",
    not_computable("EconLogicQA event orderings are judged by annotators, not computed"),
    None, "EconLogicQA: logical order of four economic events (kept, not audited)."))
