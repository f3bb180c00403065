"""Repeated prisoner's-dilemma categories: `trigger` (least δ for grim trigger), `enforceability` (which
outcome path is sustainable at δ) and `feasibility` (folk-theorem payoffs). Reading turns STEER prose
into the stage payoffs R, T, S, P; solving calls `recon.econ.repeated`; rendering writes fresh items.
The sections are laid out as in `matrix`."""

from __future__ import annotations

import functools
import random
import re
from fractions import Fraction
from typing import Callable, Sequence

from recon.data.categories import AuditResult, CategorySpec, register
from recon.data.categories.common import (
    MAX_TRIES,
    ParseError,
    decimals,
    fmt,
    incomplete,
    make_option_problem,
    place_options,
    unparsed,
    verdict_for,
)
from recon.data.problem import Problem
from recon.econ.normal_form import NormalFormGame
from recon.econ.repeated import (
    feasible_and_rational,
    feasible_set,
    min_delta_grim_trigger,
    minmax_values,
    point_in_hull,
    sustainable_minmax,
    sustainable_nash_reversion,
)


# ---------------------------------------------------------------------- reading


# Word stems naming the defecting / cooperating action in STEER's repeated-game stories. A word counts once,
# as the stem that starts earliest in it ('withholds' is withh-, not -hold; 'reinvest' is reinvest-, not -invest;
# 'inadequate' is inadequat-, not adequat-); multi-word phrases ('keep their R&D secret') are read first.
DEFECT_STEMS = (
    "defect", "reneg", "breach", "undercut", "compet", "aggress", "pollut", "overfish", "cheat", "deviat", "betray",
    "barrier", "exploit", "risk", "patent", "unrestrict", "gambl", "opportunis", "divert", "solo", "violat", "break",
    "escalat", "attack", "shirk", "free-rid", "overproduc", "dump", "steal", "fail", "independen", "low-pric", "roll",
    "secret", "frantic", "neglect", "selfish", "leave", "self-interest", "prioritiz", "forgo", "corner", "withh",
    "relax", "conflict", "instigat", "individual", "guard", "default", "hid", "conceal", "infring", "illegal",
    "encroach", "reinvest", "inadequat", "poach", "slash", "ignor", "renegad", "misus", "abandon", "under-invest", "underinvest",
    "leak", "disclos", "advertis",
)
COOPERATE_STEMS = (
    "cooperat", "collud", "collusi", "collaborat", "honor", "honour", "fulfil", "adher", "comply", "complie",
    "commit", "maintain", "abid", "shar", "invest", "safe", "passive", "limit", "lock", "keep", "dutiful", "cautious",
    "stick", "uphold", "upheld", "restrain", "trust", "treaty", "pact", "stable", "steady", "secur", "preserv", "loyal",
    "sustainabl", "hold", "claim", "certain", "guarantee", "conserv", "high-pric", "sustain", "elevat", "integrity",
    "follow", "positiv", "reliabl", "pocket", "avoid", "joint", "respect", "partner", "contribut", "together",
    "careful", "moderat", "complian", "cartel", "adequat", "transparen", "honest", "diligent", "settl", "assured", "reduc",
)
# Phrases read before single words: (pattern, role).
ROLE_PHRASES = (
    (r"moderate advertising|limit\w* (?:its |their )?(?:aggressive )?advertising|non-?poach\w*|non-?compet\w*|high(?:er)? prices?|set(?:s|ting)? high|fix(?:es|ing)? prices?|option a|true to|by the rules", "C"),
    (r"price wars?|pricing wars?|\bwar\b|cut(?:s|ting)? (?:its |their )?prices?|(?:lower|reduc)\w* (?:its |their )?prices?|low prices?"
     r"|fish(?:es|ing)? freely|increase production|own projects?|option b|free[- ]rid\w*|cut(?:s|ting)? corners?"
     r"|keep(?:s|ing)? (?:their |its )?(?:\S+ ){0,2}secret"
     r"|invest\w* in (?:aggressive|expensive|heavy) [\w&-]+(?: r&d)?|(?:heavy|expensive) marketing", "D"),
)


_MONEY = re.compile(r"(?<![\w.])(-\s?)?\$?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+)(?![\w])|\b(nothing)\b")
_DELTA = re.compile(r"discount(?:ed)?(?: factor| rate)?[^.\d]{0,60}?(0?\.\d+|1\.0+)", re.I)
_NEGATORS = re.compile(r"\b(?:loss|lose|loses|losing|cost|costs|deficit|penalty)\b[^.;,\d]{0,25}$", re.I)


def _negated_at(low: str, start: int) -> bool:
    """Is the action word at `start` negated ('non-undercutting', 'decide not to contribute')?"""
    return bool(re.search(r"(?:non-?|not |not to |n't |n't to |never |neither (?:firm |company |party |country |nation )?|no longer |less |refuses? to |refrain(?:s|ing)? from |abstain(?:s|ing)? from )$",
                          low[max(0, start - 20): start]))


def _sym_role(ctx: str) -> str | None:
    """The action of a 'both …' cell: the first action named in the last clause before the payoff that names
    one, within its sentence; None when the sentence names none."""
    sentences = re.split(r"[.;:?]\s", ctx)
    clauses = re.split(r",\s", sentences[-1])
    if len(sentences) == 1 and len(clauses) > 1:
        clauses = clauses[1:]  # '… $65328.91 per period when they compete, both earn': the first clause is the previous payoff's
    opened = [c for c in clauses if _CASE_OPENER.search(c)]  # 'if both forgo the protocol, their shared benefit is'
    both = [c for c in clauses if re.search(r"\bboth\b", c, re.I)]
    for group in (opened, both, clauses):
        for clause in reversed(group):
            roles = _roles_in_order(clause)
            if roles:
                return roles[0]
    return None


def _lower_for_roles(text: str) -> str:
    """Lower-cased text with words that name no action blanked: stems by accident ('respectively'), the
    players ('gamblers'), payoff verbs ('secure a profit', 'a reduced profit')."""
    return re.sub(r"respectiv\w*|irrespective|\bcost of\b|\bcosts?\b|\bhighest\b|\bgamblers\b|\bsecur\w*\s+(?:a|an)\b"
                  r"|\breduced\s+(?:\w+\s+)?(?:profits?|payoffs?|benefits?|revenues?|gains?)\b|\b(?:is|are) reduced\b",
                  lambda m: " " * len(m.group()), text.lower())


def _roles_in_order(text: str) -> list[str]:
    """Every action role named in `text`, in order of appearance: phrases first, then one stem per word
    (negations like `non-undercutting` or `not to contribute` flip it)."""
    low = _lower_for_roles(text)
    hits: list[tuple[int, str]] = []
    for pattern, role in ROLE_PHRASES:
        for m in re.finditer(pattern, low):
            hits.append((m.start(), {"C": "D", "D": "C"}[role] if _negated_at(low, m.start()) else role))
            low = low[: m.start()] + " " * (m.end() - m.start()) + low[m.end():]
    for word in re.finditer(r"[a-z][a-z&-]*", low):
        found = [(word.group(0).find(stem), -len(stem), r) for stems, r in ((DEFECT_STEMS, "D"), (COOPERATE_STEMS, "C"))
                 for stem in stems if stem in word.group(0)]
        if found:
            r = min(found)[2]
            negated = _negated_at(low, word.start()) or bool(re.match(r"non-?(?!e)", word.group(0)))
            hits.append((word.start(), {"C": "D", "D": "C"}[r] if negated else r))
    return [r for _, r in sorted(hits)]


def _first_role(text: str) -> str | None:
    """'D' or 'C' for the action named first in `text` ('a firm that breaks the collusion' is 'D')."""
    roles = _roles_in_order(text)
    return roles[0] if roles else None


def _role(text: str) -> str | None:
    """'D' or 'C' for the action named last in `text`."""
    roles = _roles_in_order(text)
    return roles[-1] if roles else None


def parse_delta(text: str) -> Fraction | None:
    m = _DELTA.search(text)
    if not m:
        m = re.search(r"(0?\.\d+)[^.]{0,40}discount", text, re.I)
    return Fraction(m.group(1)) if m else None


def _payoff_numbers(text: str, delta: Fraction | None) -> list[tuple[Fraction, int, int]]:
    """(value, start, end) of every payoff number; the discount factor, '0 and 1' and numbers inside
    names are skipped; a number after 'loss'/'cost' is negated."""
    out = []
    for m in _MONEY.finditer(text):
        if m.group(3):  # 'the firm that contributed gains nothing'
            if re.search(r"(?:gain|get|earn|receive|make)s?\s+$", text[max(0, m.start() - 12): m.start()], re.I):
                out.append((Fraction(0), m.start(), m.end()))
            continue
        raw = m.group(2).replace(",", "")
        value = Fraction(raw)
        has_money = "$" in m.group(0) or "." in raw
        if not has_money:
            continue  # bare integers are years, counts, '0 and 1'
        if delta is not None and value == delta and value < 1:
            continue
        if value < 1 and re.search(r"discount", text[max(0, m.start() - 80): m.end() + 40], re.I):
            continue
        if m.group(1) or _NEGATORS.search(text[: m.start()]) or re.match(r"\s*(?:in|of)\s+(?:costs?|loss(?:es)?|damages?)\b", text[m.end():], re.I):
            value = -value  # 'incurs a loss of 5', 'each incur 673.0 in costs'
        out.append((value, m.start(), m.end()))
    return out


_AGENT = r"(?:firm|company|companies|country|nation|player|corporation|party|business|side|state|bank|store|supplier|manufacturer|producer)"


_MIXED_CUE = re.compile(
    r"\b(?:one|only one|a single|either)\b[^.;]*\b(?:other|another)\b|\bthe other\b|\bwhile the\b|\bwhereas\b"
    r"|\bonly one\b|\bone of them\b|\b(?:if|should|when) one\b"
    r"|\b(?:a|the) (?:deviating|defecting|cheating|reneging|breaching|deviator|defector)\b"
    rf"|\b{_AGENT}\s+A\b[^.;]*\b{_AGENT}\s+B\b"
    r"|\b(?:if|should|when)\b(?![^.;]*\bboth\b)[^.;,]*\bwhile\b", re.I)  # 'if Firm A defects while B cooperates'


_SYMMETRIC_CUE = re.compile(r"\bboth\b|\beach\b(?! other)|\bmutual|\bneither\b|\bthey all\b|\b(?:if|when) they\b", re.I)


_CASE_OPENER = re.compile(r"\bif\b|\bwhen\b|\bshould\b|\bin case\b|\bscenario\b", re.I)


_RESPECTIVE = re.compile(r"respective|accordingly|in that order", re.I)


_LABEL = re.compile(rf"\b{_AGENT}\s+([AB])\b|\bthe (one|other)\b|\b([AB])(?='s|\s+(?:earns|gets|receives|makes|obtains|gains|would|will)\b)", re.I)


def _condition_roles(ctx: str) -> dict[str, str]:
    """In 'if Firm A undercuts while Firm B keeps prices high' (or 'one … the other'), the action of each
    named side: {'A': 'D', 'B': 'C'} / {'one': …, 'other': …}."""
    labels = list(_LABEL.finditer(ctx))
    out: dict[str, str] = {}
    for k, m in enumerate(labels[:2]):
        key = (m.group(1) or m.group(2) or m.group(3)).lower()
        end = labels[k + 1].start() if k + 1 < len(labels) else len(ctx)
        role = _roles_in_order(ctx[m.end(): end])
        if role and key not in out:
            out[key] = role[0]
    if re.search(r"\bone\b", ctx, re.I) and "one" not in out:
        m = re.search(r"\bone\b([^,;]*?)\b(?:while|and|but|whereas)\b", ctx, re.I)
        if m and _roles_in_order(m.group(1)):
            out["one"] = _roles_in_order(m.group(1))[0]
    return out


def _owner_role(tail: str, condition: dict[str, str]) -> str | None:
    """The role of the side a payoff goes to, read from the words just before it."""
    labels = list(_LABEL.finditer(tail))
    if labels:
        own_words = _role(tail[labels[-1].end():])  # 'the one who chose to share' describes itself
        if own_words is not None:
            return own_words
        key = (labels[-1].group(1) or labels[-1].group(2) or labels[-1].group(3)).lower()
        if key in condition:
            return condition[key]
    return _role(tail)


class MissingPayoffs(ParseError):
    """The text lacks the payoffs its question needs."""


def _named_side_role(owner_text: str, condition: str) -> str | None:
    """'if AlphaTech sets a high price while BetaTech engages in a price war, AlphaTech receives …': the role
    of the named side the owner text mentions."""
    m = re.search(r"\b(?:[Ii]f|[Ss]hould|[Ww]hen)\s+([A-Z][\w.&-]*(?: [A-Z][\w.&-]*)?)\s+([^.;]*?)\bwhile\s+([A-Z][\w.&-]*(?: [A-Z][\w.&-]*)?)\s+(.*)", condition)
    if not m:
        return None
    first, second = _roles_in_order(m.group(2))[:1], _roles_in_order(m.group(4))[:1]
    if not first and not second:
        return None
    r1 = first[0] if first else {"C": "D", "D": "C"}[second[0]]
    r2 = second[0] if second else {"C": "D", "D": "C"}[r1]
    if r1 == r2:
        return None
    said = [(owner_text.rfind(m.group(1)), r1), (owner_text.rfind(m.group(3)), r2)]
    pos, role = max(said)
    return role if pos >= 0 else None


def _post_owner_role(text: str, end: int, limit: int) -> str | None:
    """The role named right after a payoff: '815.0 for the gambler who secured the reward'."""
    m = re.match(r"\s*(?:in \w+ )?(?:for|to) (?:the|a|each) ([^,;.]*)", text[end: limit])
    return _role(m.group(1)) if m else None


def _stated_payoffs(text: str) -> list[tuple[Fraction, int, int]]:
    """The four stage payoffs as (value, start, end); a mirrored sentence's repeats are dropped."""
    delta = parse_delta(text)
    nums = _payoff_numbers(text, delta)
    if not nums:
        raise MissingPayoffs("the text states no payoffs (it refers to a matrix it does not give)")
    if len(nums) > 4:  # 'Conversely, if firm B competes while A colludes, B earns …': a mirrored pair repeats values
        seen: set[Fraction] = set()
        kept = [n for n in nums if not (n[0] in seen or seen.add(n[0]))]
        repeats = [k for k, n in enumerate(nums) if n not in kept]
        mirrored = re.search(r"\b(?:conversely|vice versa|similarly|likewise|and the reverse)\b", text, re.I) or (
            len(repeats) == 2 and repeats[1] == repeats[0] + 1)  # 'if firm B complies but firm A does not, B's …, A's …'
        nums = kept if mirrored and len(kept) == 4 else nums
    if len(nums) != 4:
        raise ParseError(f"expected 4 payoffs, found {len(nums)}")
    return nums


def parse_symmetric_pd(text: str) -> dict[str, Fraction]:
    """R (both cooperate), T (defect against a cooperator), S (cooperate against a defector) and P (both
    defect) from STEER prose with four payoffs: read by the words before each payoff, else (payoffs
    listed before their cases: '534.0 if both secure the reward, 918.5 for the gambler, …') by the clause
    around each. Raises ParseError when a cell cannot be told."""
    nums = _stated_payoffs(text)
    try:
        return _read_by_preceding_words(text, nums)
    except ParseError as first:
        try:
            return _read_by_clauses(text, nums)
        except ParseError:
            raise first from None


def _read_by_preceding_words(text: str, nums: list[tuple[Fraction, int, int]]) -> dict[str, Fraction]:
    """The words between one payoff and the previous one say whether a new case starts ('both'/'each' → a
    symmetric cell, 'one … the other' or 'Firm A … Firm B' → the asymmetric pair) and which actions it
    names (collude, renege, …); 'respectively' takes the roles in the order named."""
    contexts: list[str] = []
    groups: list[tuple[str, list[int]]] = []
    for k, (_, start, _end) in enumerate(nums):
        ctx = text[nums[k - 1][2] if k else max(0, start - 300): start]
        own = re.split(r"[.;:]\s", ctx)[-1]  # the payoff's own sentence names its case
        if not (_CASE_OPENER.search(own) or _SYMMETRIC_CUE.search(own) or _MIXED_CUE.search(own)):
            after = re.split(r"[,.;]\s|[,.;]$", text[_end: nums[k + 1][1] if k + 1 < len(nums) else len(text)])[0]
            ctx = own = own + " " + after  # '… both firms receive $79267.50 annually if they honor the contract'
        contexts.append(ctx)
        ctx = own
        each_after = re.match(r"\s*(?:each|apiece|per firm|for each)\b", text[_end: _end + 12], re.I)
        if each_after and not _SYMMETRIC_CUE.search(ctx):
            ctx += " each"  # "… their annual payoffs are $41953.34 each"
        open_pair = bool(groups) and groups[-1][0] == "mixed" and len(groups[-1][1]) == 1
        if open_pair and not _CASE_OPENER.search(ctx) and not re.search(r"\bboth\b", ctx, re.I):
            kind = "cont"
        elif _SYMMETRIC_CUE.search(ctx) and not (open_pair and _MIXED_CUE.search(ctx)):
            kind = "mixed" if _MIXED_CUE.search(ctx) and not re.search(r"\bboth\b|\bmutual", ctx, re.I) else "sym"
        elif _MIXED_CUE.search(ctx):
            kind = "mixed"
        else:
            kind = "cont"
        if kind == "cont" and groups:
            groups[-1][1].append(k)
        elif kind == "cont":
            raise ParseError("the first payoff names no case")
        else:
            groups.append((kind, [k]))
    shape = sorted((kind, len(ks)) for kind, ks in groups)
    if shape != [("mixed", 2), ("sym", 1), ("sym", 1)]:
        raise ParseError(f"payoff cases read as {shape}, expected two symmetric cells and one mixed pair")
    cells: dict[str, Fraction] = {}
    sym = [ks[0] for kind, ks in groups if kind == "sym"]
    roles = [_sym_role(contexts[k]) or _role(re.split(r"[,;.]\s", text[nums[k][2]:] + " ")[0]) for k in sym]  # '… gain 427.0 if they stick to it'
    if roles.count(None) == 1:  # one symmetric cell names its action, the other is the other action
        known = next(r for r in roles if r is not None)
        roles = [r if r is not None else {"C": "D", "D": "C"}[known] for r in roles]
    if None in roles:
        raise ParseError("cannot tell which symmetric cell a payoff belongs to")
    if roles[0] == roles[1]:
        raise ParseError(f"two payoffs read as {'R' if roles[0] == 'C' else 'P'}")
    for k, role in zip(sym, roles):
        cells["R" if role == "C" else "P"] = nums[k][0]
    for kind, ks in groups:
        if kind == "sym":
            continue
        a, b = ks
        after_b = text[nums[b][2]: nums[b][2] + 40]
        prefix = re.split(r",(?=[^,]*$)", contexts[a])[0] if "," in contexts[a] else contexts[a]
        if not _roles_in_order(prefix):
            prefix = contexts[a]
        prefix = re.split(r"\b(?:their|the) respective\b", prefix, flags=re.I)[0]
        tail_a = contexts[a][len(prefix):]
        condition_text = re.split(r"[.;:?]\s", prefix)[-1]  # the case is named in the payoff's own sentence
        condition = _condition_roles(condition_text)
        order = _roles_in_order(condition_text)
        order = [r for i, r in enumerate(order) if i == 0 or r != order[i - 1]]
        bare_pair = not re.search(r"[A-Za-z]", contexts[b].replace("and", ""))
        former = [re.search(r"\b(former|latter)\b", c, re.I) for c in (tail_a, contexts[b])]
        if all(former) and len(order) >= 2:
            pick = {"former": order[-2], "latter": order[-1]}
            ra, rb = (pick[m.group(1).lower()] for m in former if m)
        elif _RESPECTIVE.search(contexts[a] + contexts[b] + after_b) or bare_pair:
            if len(order) == 1 and re.search(r"\bthe other\b|\bwhile\b|\bwhereas\b", condition_text, re.I):
                order = order + [{"C": "D", "D": "C"}[order[0]]]  # 'if one remains compliant while the other does not'
            if len(order) < 2 or order[-2] == order[-1]:
                raise ParseError("'respectively' without two named actions")
            ra, rb = order[-2], order[-1]
        else:
            ra, rb = (_post_owner_role(text, nums[k][2], nums[k + 1][1] if k + 1 < len(nums) else len(text)) for k in (a, b))
            ra = ra or _owner_role(tail_a, condition) or _named_side_role(tail_a, condition_text)
            if ra is None and re.match(r"\W*(?:it|that (?:firm|company|country|player))\b", tail_a, re.I):
                ra = condition.get("one") or (order[0] if order else None)  # 'if one firm defects …, it earns'

            other = re.search(r"\bthe other\b(.*)$", contexts[b], re.I)
            if rb is None and ra is not None and other and _role(other.group(1)) is None:
                rb = {"C": "D", "D": "C"}[ra]  # '…, while the other company incurs a loss': other than the one just named
            rb = rb or _owner_role(contexts[b], condition) or _named_side_role(contexts[b], condition_text)
            if rb is None and ra is not None:
                rb = "C" if ra == "D" else "D"
            if ra is None and rb is not None:
                ra = "C" if rb == "D" else "D"
        if {ra, rb} != {"C", "D"}:
            raise ParseError("cannot tell the defector's payoff from the cooperator's")
        cells["T" if ra == "D" else "S"] = nums[a][0]
        cells["T" if rb == "D" else "S"] = nums[b][0]
    return cells


# Where the words between two payoffs stop describing the first: the last break of the strongest kind.
_CLAUSE_BREAKS = (re.compile(r"[.;:?!](?=\s|$)"), re.compile(r",(?=\s|$)"), re.compile(r"\s(?:while|whereas|and|but)(?=\s|$)"))
_PAIR_CUE = re.compile(r"\bone\b[^#]*\bother\b|\bthe other\b|\bwhile\b|\bwhereas\b|\bagainst\b", re.I)


def _last_break(gap: str) -> int:
    for pattern in _CLAUSE_BREAKS:
        hits = list(pattern.finditer(gap))
        if hits:
            return hits[-1].start()
    return len(gap)


def _clause_owner_role(clause: str) -> str | None:
    """The action of the side a payoff in `clause` ('#') goes to: the words that name the side, before the
    case they are in ('a firm that undercuts while the other …', '# for the secure player if one gambles …'),
    or the side's label in the case ('if A adheres and B breaches, A receives #')."""
    pre, post = clause.split("#")
    pre = re.sub(r"^\W*(?:and|while|whereas|but)\b", "", pre.strip(), flags=re.I)
    cut = r"(?:^|\s)(?:while|whereas|against|if|when|should)\s"
    subject = re.split(cut, re.split(r",\s", pre)[-1], flags=re.I)[0]
    label = re.match(r"\s*(?:\w+\s+)?([AB])\b", subject)
    return (_first_role(subject) or (label and _condition_roles(pre).get(label.group(1).lower()))
            or _named_side_role(subject, pre) or _first_role(re.split(cut, post, flags=re.I)[0]))


def _payoff_clauses(text: str, nums: list[tuple[Fraction, int, int]]) -> list[str]:
    """Each payoff's clause with the payoff as '#': the words between two payoffs are cut at their last break."""
    before = text[: nums[0][1]]
    bounds = [before[_last_break(before):]]
    for k in range(1, len(nums)):
        gap = text[nums[k - 1][2]: nums[k][1]]
        cut = _last_break(gap)
        end = re.search(r"[.;?!](?=\s|$)|,(?=\s+(?:whereas|while|but|however|if)\b)", gap)  # … or where a new case opens
        bounds[-1] += "#" + gap[: min(cut, end.start()) if end else cut]
        bounds.append(gap[cut:])
    bounds[-1] += "#" + re.split(r"[.;?!](?:\s|$)", text[nums[-1][2]:])[0]
    return [re.sub(r"^[.;:?!,]?\s*", "", c) for c in bounds]


def _read_by_clauses(text: str, nums: list[tuple[Fraction, int, int]]) -> dict[str, Fraction]:
    """Each payoff with its own clause: the words between two payoffs are cut at their last break, the part
    before it describing the first payoff ('534.0 if both secure the reward, | 918.5 for the gambler, and |
    570.5 for the secure player if one gambles …'). A clause with 'both'/'each' and no second side is a
    symmetric cell, named by its first action; the other two are the pair, each named by its owner's
    action ('the other' takes the other one)."""
    clauses = _payoff_clauses(text, nums)
    sym = [k for k, c in enumerate(clauses) if _SYMMETRIC_CUE.search(c) and not _PAIR_CUE.search(c)]
    pair = [k for k in range(4) if k not in sym]
    if len(sym) != 2:
        raise ParseError(f"{len(sym)} payoff clauses read as symmetric cells")
    sym_roles = [_first_role(clauses[k]) for k in sym]
    pair_roles = [_clause_owner_role(clauses[k]) for k in pair]
    if pair_roles == [None, None] and _RESPECTIVE.search(clauses[pair[0]] + clauses[pair[1]]):
        parts = re.split(r"[.;:?!]\s", text[: nums[pair[0]][1]])
        sentence = next((p for p in reversed(parts) if re.search(r"\bone\b", p, re.I)), parts[-1])
        case = re.split(r",\s", sentence)[0]  # 'if one pockets and one bets, the respective gains are'
        pair_roles = [_first_role(case), None]
    flip = {"C": "D", "D": "C"}
    for roles in (sym_roles, pair_roles):
        if roles.count(None) == 1:
            known = next(r for r in roles if r is not None)
            roles[roles.index(None)] = flip[known]
        if set(roles) != {"C", "D"}:
            raise ParseError("cannot tell the payoff clauses' actions apart")
    cells = {("R" if r == "C" else "P"): nums[k][0] for k, r in zip(sym, sym_roles)}
    cells.update({("S" if r == "C" else "T"): nums[k][0] for k, r in zip(pair, pair_roles)})
    return cells


def _negated(question: str) -> bool:
    """Does the question ask for the option that is NOT sustainable/feasible?"""
    last = re.split(r"(?<=[.!])\s+", question.strip())[-1]
    last = re.sub(r"\bnot (?:just|only|merely|simply)\b", "", last, flags=re.I)  # "… and not just immediate gains"
    return bool(re.search(r"\b(?:not|cannot|can't|can not|never|unenforceable|infeasible|unsustainable)\b", last, re.I))


def _option_value(option: str) -> Fraction | None:
    m = re.fullmatch(r"\s*\$?\s*(-?\d*\.?\d+)\s*", option)
    return Fraction(m.group(1)) if m else None


def classify_path(option: str) -> str | None:
    """Which outcome path an enforceability option describes, or None ('random' mixes are not paths)."""
    low = option.lower()
    if re.search(r"random", low):
        return None
    if re.search(r"\bboth\b[^.]*\b(?:odd|even)\b|\bboth\b[^.]*\bthen both\b", low):
        return "cooperate_then_defect"
    if re.search(r"alternat|takes? turns|taking turns|switch(?:ing)? roles|in turn|odd|rotate|turn-taking", low):
        return "take_turns"
    roles = _roles_in_order(option)  # the first action named is what both do ('break the non-compete …')
    if not roles:
        return None
    two_sides = re.search(r"\bone\b[^.]*\bother\b|\bwhile\b|\bwhereas\b|\ba\b[^.]*\bb\b", low) and not re.search(r"\bboth\b", low)
    if two_sides and len(set(roles)) == 2:
        return "one_defects"
    return "both_cooperate" if roles[0] == "C" else "both_defect"


def _notion_of(question: str) -> str:
    return "spe" if re.search(r"subgame", question, re.I) else "nash"


def _option_point(option: str) -> tuple[Fraction, Fraction] | None:
    vals = re.findall(r"-?\$?-?\d[\d,]*\.?\d*", option)
    vals = [("-" if "-" in v else "") + v.replace("-", "").replace("$", "") for v in vals]
    try:
        nums = [Fraction(v.replace(",", "")) for v in vals]
    except ValueError:
        return None
    if len(nums) == 1:
        return nums[0], nums[0]
    if len(nums) == 2:
        return nums[0], nums[1]
    return None


# ---------------------------------------------------------------------- solving


# The outcome paths an enforceability option can name (row = firm A, column = firm B; 0 = cooperate).
PATHS: dict[str, list[tuple[int, int]]] = {
    "both_cooperate": [(0, 0)],
    "both_defect": [(1, 1)],
    "one_defects": [(0, 1)],
    "take_turns": [(0, 1), (1, 0)],
    "cooperate_then_defect": [(0, 0), (1, 1)],
}


def pd_game(cells: dict[str, Fraction]) -> NormalFormGame:
    """The symmetric 2×2 game with strategy 0 = cooperate, 1 = defect."""
    R, T, S, P = cells["R"], cells["T"], cells["S"], cells["P"]
    return NormalFormGame([[[R, S], [T, P]], [[R, T], [S, P]]], [["cooperate", "defect"], ["cooperate", "defect"]])


def _pd_conditions(cells: dict[str, Fraction]) -> list[str]:
    """What keeps a grim-trigger question from being well posed (empty when it is)."""
    R, T, S, P = cells["R"], cells["T"], cells["S"], cells["P"]
    problems = []
    if not T > R:
        problems.append("no temptation (T <= R)")
    if not R > P:
        problems.append("cooperation pays no more than mutual defection (R <= P)")
    if not P >= S:
        problems.append("mutual defection is not a stage equilibrium (S > P)")
    return problems


def path_sustainable(game: NormalFormGame, path: Sequence[tuple[int, int]], delta: Fraction, notion: str):
    return (sustainable_nash_reversion(game, path, delta) if notion == "spe"
            else sustainable_minmax(game, path, delta, kind="mixed"))


def path_average(game: NormalFormGame, path: Sequence[tuple[int, int]], player: int) -> Fraction:
    """A player's long-run average payoff per period along a cyclic path."""
    return sum((game.utility(player, profile) for profile in path), Fraction(0)) / len(path)


def best_sustainable_path(game: NormalFormGame, kinds: Sequence[str], delta: Fraction, notion: str, player: int) -> str | None:
    """Of the paths `kinds` sustainable at δ, the one with the highest long-run average for `player`; None when
    no path is sustainable or two tie."""
    values = {k: path_average(game, PATHS[k], player) for k in kinds if path_sustainable(game, PATHS[k], delta, notion).sustainable}
    best = max(values.values(), default=None)
    winners = [k for k, v in values.items() if v == best]
    return winners[0] if len(winners) == 1 else None


def audits_pd(audit: Callable[[Problem, dict[str, Fraction]], AuditResult]) -> Callable[[Problem], AuditResult]:
    """An audit of a symmetric prisoner's dilemma, handed the payoff cells parsed from the question: a question
    without its payoffs is `incomplete`, one whose payoffs do not parse is `unparsed`."""

    @functools.wraps(audit)
    def run(problem: Problem) -> AuditResult:
        try:
            cells = parse_symmetric_pd(problem.question)
        except MissingPayoffs as exc:
            return incomplete(str(exc))
        except ParseError as exc:
            return unparsed(str(exc))
        return audit(problem, cells)

    return run


@audits_pd
def audit_trigger(problem: Problem, cells: dict[str, Fraction]) -> AuditResult:
    values = [_option_value(o) for o in problem.choices or []]
    if any(v is None for v in values):
        return unparsed("an option is not a number")
    shown = {k: fmt(v) for k, v in cells.items()}
    issues = _pd_conditions(cells)
    if issues:
        return AuditResult("ill_posed", None, "; ".join(issues), {"cells": shown})
    res = min_delta_grim_trigger(pd_game(cells))
    delta = res.delta
    correct = []
    for k, (text, v) in enumerate(zip(problem.choices or [], values)):
        decimals = len(text.strip().split(".")[1]) if "." in text else 0
        if abs(v - delta) <= Fraction(1, 2 * 10**decimals):
            correct.append(k)
    reason = f"δ* = (T−R)/(T−P) = ({fmt(cells['T'])}−{fmt(cells['R'])})/({fmt(cells['T'])}−{fmt(cells['P'])}) = {float(delta):.4f}"
    return verdict_for(problem, problem.choices or [], correct, f"{float(delta):.4f}", reason, cells=shown)


_BEST_FOR_SECOND = re.compile(r"which of them gives .{1,40}? the highest long-run average payoff", re.I)


@audits_pd
def audit_enforceability(problem: Problem, cells: dict[str, Fraction]) -> AuditResult:
    text = problem.question
    delta = parse_delta(text)
    if delta is None or not 0 <= delta < 1:
        return unparsed("no discount factor in [0, 1)")
    options = problem.choices or []
    kinds = [classify_path(o) for o in options]
    if sum(k is not None for k in kinds) < len(options) - 1:
        return unparsed("options do not name outcome paths")
    game, notion, negated = pd_game(cells), _notion_of(text), _negated(text)
    notion_name = "SPE with Nash reversion" if notion == "spe" else "Nash equilibrium with minmax punishment"
    shown = {k: fmt(v) for k, v in cells.items()}
    if _BEST_FOR_SECOND.search(text):  # generated form: the sustainable path best for the side that defects in 'one defects'
        if None in kinds:
            return unparsed("an option names no outcome path")
        best = best_sustainable_path(game, kinds, delta, notion, player=1)
        return verdict_for(problem, options, [kinds.index(best)] if best else [], best or "none",
                           f"{notion_name} at δ={fmt(delta)}: the sustainable path best for the second side is {best}",
                           cells=shown, notion=notion)
    ok = {k: path_sustainable(game, PATHS[k], delta, notion).sustainable for k in set(kinds) if k}
    correct = [i for i, k in enumerate(kinds) if k is not None and ok[k] != negated]
    if negated:
        correct += [i for i, k in enumerate(kinds) if k is None]  # a random mix is no outcome path to enforce
    sustained = ", ".join(k for k in sorted(ok) if ok[k]) or "none"
    return verdict_for(problem, options, correct, sustained,
                       f"{notion_name} at δ={fmt(delta)}: sustainable paths {sustained}",
                       cells=shown, notion=notion, negated=negated)


@audits_pd
def audit_feasibility(problem: Problem, cells: dict[str, Fraction]) -> AuditResult:
    text = problem.question
    options = problem.choices or []
    points = [_option_point(o) for o in options]
    if any(p is None for p in points):
        return unparsed("an option is not a payoff or payoff pair")
    game, negated = pd_game(cells), _negated(text)
    mm, hull = minmax_values(game, "mixed"), feasible_set(game)
    good = [feasible_and_rational(game, p, mm, hull) for p in points]
    correct = [i for i, g in enumerate(good) if g != negated]
    return verdict_for(problem, options, correct, ", ".join(o for o, g in zip(options, good) if g) or "none",
                       f"folk theorem: feasible per-period payoffs above minmax ({fmt(mm[0])}, {fmt(mm[1])})",
                       cells={k: fmt(v) for k, v in cells.items()}, negated=negated)


# ---------------------------------------------------------------------- rendering


# Narrative contexts: (setting, agents, cooperative action, defecting action, period, A, B).
REPEATED_CONTEXTS = [
    ("Two firms sell a homogeneous product in a duopoly and each period choose their pricing.", "firms",
     "keep prices high", "start a price war", "year", "Firm A", "Firm B"),
    ("Two neighbouring countries share a fishing ground and each season decide how much to catch.", "countries",
     "respect the fishing quota", "overfish", "season", "Country A", "Country B"),
    ("Two companies have a long-term supply contract and each quarter decide whether to keep their side of it.", "companies",
     "honor the contract", "breach the contract", "quarter", "Company A", "Company B"),
    ("Two tech firms run a joint research programme and each year decide whether to share their results.", "firms",
     "share their research", "hide their results and patent them aggressively", "year", "Firm A", "Firm B"),
    ("Two nations upstream of the same river decide each year whether to limit their emissions.", "nations",
     "limit emissions", "pollute freely", "year", "Nation A", "Nation B"),
]


def _draw_pd(rng: random.Random) -> dict[str, Fraction]:
    """A symmetric prisoner's dilemma T > R > P > S on a half-unit grid."""
    half = lambda lo, hi: Fraction(rng.randint(2 * lo, 2 * hi), 2)  # noqa: E731
    P = half(100, 600)
    R = P + half(40, 400)
    T = R + half(20, 400)
    S = P - half(20, 300)
    return {"R": R, "T": T, "S": S, "P": P}


# Orderings of the four stage payoffs beyond the prisoner's dilemma, so that which outcome path is
# sustainable depends on the numbers and not on the names 'both defect' / 'one defects'.
GAME_FAMILIES = {
    "prisoners_dilemma": "TRPS",
    "chicken": "TRSP",
    "stag_hunt": "RTPS",
    "deadlock": "TPRS",
    "harmony": "RTSP",
}


def _draw_symmetric_game(rng: random.Random) -> dict[str, Fraction]:
    """A symmetric 2×2 game whose payoffs follow the order of a random family (largest first), on a half-unit grid."""
    order = GAME_FAMILIES[rng.choice(sorted(GAME_FAMILIES))]
    values = sorted({Fraction(rng.randint(-200, 1200), 2) for _ in range(12)}, reverse=True)
    if len(values) < 4:
        return _draw_pd(rng)
    picked = sorted(rng.sample(values, 4), reverse=True)
    return dict(zip(order, picked))


def _payoff_sentence(rng: random.Random, ctx: tuple, cells: dict[str, Fraction]) -> str:
    _, agents, coop, defect, period, _, _ = ctx
    R, T, S, P = (decimals(cells[k]) for k in "RTSP")
    variants = [
        f"If both {agents} {coop}, each earns {R} per {period}. If one of them chooses to {defect} while the other "
        f"continues to {coop}, the one who deviates earns {T} and the other earns {S}. If both {defect}, each earns {P}.",
        f"The stage payoffs are: both {coop} → {R} each; both {defect} → {P} each; one chooses to {defect} while the "
        f"other chooses to {coop} → the deviator gets {T} and the other gets {S}.",
        f"Each {period}, mutual cooperation (both {coop}) pays {R} to each, mutual defection (both {defect}) pays {P} to "
        f"each, and when only one of them chooses to {defect}, that one earns {T} while the one who chose to {coop} earns {S}.",
    ]
    return rng.choice(variants)


def _trigger_options(rng: random.Random, delta: Fraction) -> list[str] | None:
    """Four two-decimal values drawn uniformly from a window that contains δ* at a uniformly random place,
    one of them δ* rounded: the gold's rank, gaps and distance to the window's edges carry no information.
    None when the window leaves (0, 1)."""
    width = Fraction(rng.randint(15, 40), 100)
    low = delta - width * Fraction(rng.randint(0, 1000), 1000)
    if low < Fraction(1, 100) or low + width > Fraction(99, 100):
        return None
    correct = f"{float(delta):.2f}"
    values = [correct]
    for _ in range(200):
        if len(values) == 4:
            return values
        text = f"{float(low + width * Fraction(rng.randint(0, 1000), 1000)):.2f}"
        if all(abs(Fraction(text) - Fraction(v)) >= Fraction(2, 100) for v in values):
            values.append(text)
    return None


def generate_trigger(rng: random.Random, difficulty: int = 1) -> Problem:
    """A symmetric prisoner's dilemma (T > R > P > S, so mutual defection is the stage equilibrium) and the
    least δ at which grim trigger is subgame perfect; options rounded to two decimals, exactly one within
    rounding of δ*. `difficulty` is unused (the concept has no size)."""
    for _ in range(MAX_TRIES):
        cells = _draw_pd(rng)
        res = min_delta_grim_trigger(pd_game(cells))
        if not (res.well_posed and res.delta is not None and Fraction(5, 100) < res.delta < Fraction(95, 100)):
            continue
        values = _trigger_options(rng, res.delta)
        if values is not None:
            break
    else:
        raise RuntimeError("trigger: no well-posed game found")
    correct = values[0]
    options, gold = place_options(rng, correct, values[1:])
    ctx = rng.choice(REPEATED_CONTEXTS)
    setting, agents, coop, defect, period = ctx[:5]
    ask = rng.choice([
        f"What is the minimum discount factor (rounded to two decimals) for which the grim trigger strategy — {coop} until "
        f"anyone chooses to {defect}, then {defect} forever — is a subgame perfect Nash equilibrium?",
        f"Both {agents} play grim trigger: they {coop} as long as nobody has deviated and {defect} in every {period} after "
        f"a deviation. What is the smallest common discount factor, rounded to two decimals, that makes this a subgame "
        f"perfect equilibrium?",
    ])
    question = f"{setting} The interaction is repeated infinitely often with a common discount factor. " \
               f"{_payoff_sentence(rng, ctx, cells)} {ask}"
    R, T, S, P = (cells[k] for k in "RTSP")
    steps = [
        f"Stage payoffs: R = {fmt(R)} (both cooperate), T = {fmt(T)} (deviate against a cooperator), "
        f"S = {fmt(S)} (cooperate against a deviator), P = {fmt(P)} (both defect).",
        "T > R > P > S, so defecting is dominant and mutual defection is the stage Nash equilibrium: the grim "
        "punishment is itself an equilibrium, as subgame perfection needs.",
        "Cooperating forever is worth R/(1−δ); the best deviation gives T now and P forever after: T + δP/(1−δ).",
        f"R/(1−δ) ≥ T + δP/(1−δ) ⇔ δ ≥ (T−R)/(T−P) = ({fmt(T)}−{fmt(R)})/({fmt(T)}−{fmt(P)}) = {fmt(T - R)}/{fmt(T - P)} "
        f"≈ {float(res.delta):.4f}, which rounds to {correct}.",
    ]
    return make_option_problem("trigger", question, options, gold, steps,
                               meta={"difficulty": difficulty, "delta_star": str(res.delta), "cells": {k: str(v) for k, v in cells.items()}},
                               template="grim")


# Wordings of each outcome path, short and long, so that an option's length (or its length rank among the
# options) does not tell which paths are offered.
PATH_WORDINGS = {
    "both_cooperate": ["Both {agents} {coop}", "Both {agents} {coop} every {period}",
                       "In every {period} from now on, both {agents} {coop}",
                       "Both {agents} always {coop}, {period} after {period}, forever"],
    "both_defect": ["Both {agents} {defect}", "Both {agents} {defect} every {period}",
                    "In every {period} from now on, both {agents} {defect}",
                    "Both {agents} always {defect}, {period} after {period}, forever"],
    "one_defects": ["{a} chooses to {coop} while {b} chooses to {defect}",
                    "{a} chooses to {coop} every {period} while {b} chooses to {defect} every {period}",
                    "{b} chooses to {defect} while {a} chooses to {coop}, {period} after {period}, forever"],
    "take_turns": ["The {agents} take turns: one chooses to {defect} while the other chooses to {coop}",
                   "The {agents} take turns: one chooses to {defect} while the other chooses to {coop}, switching roles every {period}",
                   "They take turns, the one who chooses to {defect} and the one who chooses to {coop} trading places every {period}"],
    "cooperate_then_defect": ["Both {agents} {coop} in odd {period}s and both {defect} in even {period}s",
                              "Both {agents} {coop} in one {period}, then both {defect} in the next, and so on",
                              "In odd {period}s both {agents} {coop}; in even {period}s both {defect}"],
}


def _path_options(rng: random.Random, ctx: tuple) -> dict[str, str]:
    _, agents, coop, defect, period, a, b = ctx
    return {kind: rng.choice(wordings).format(agents=agents, coop=coop, defect=defect, period=period, a=a, b=b)
            for kind, wordings in PATH_WORDINGS.items()}


def _sustainability_steps(game: NormalFormGame, kinds: Sequence[str], delta: Fraction, notion: str, second: str) -> list[str]:
    """Per path: its tightest incentive check and the second side's long-run average."""
    steps = []
    for k in kinds:
        res = path_sustainable(game, PATHS[k], delta, notion)
        worst = min(res.checks, key=lambda c: c["path_value"] - c["deviation_value"])
        steps.append(
            f"{k.replace('_', ' ')}: worst case player {worst['player']} at phase {worst['phase']}: following the path is "
            f"worth {float(worst['path_value']):.4f} per period (normalised), deviating is worth "
            f"(1−δ)·{fmt(worst['best_deviation_payoff'])} + δ·{fmt(res.punishment[worst['player']])} = "
            f"{float(worst['deviation_value']):.4f} → {'sustainable' if res.sustainable else 'not sustainable'}; "
            f"{second} averages {fmt(path_average(game, PATHS[k], 1))}.")
    return steps


# The four paths every generated enforceability item offers. Which of them is sustainable depends on the
# payoffs (a symmetric 2×2 game always has a pure equilibrium, so at least one is), and the question asks for
# the sustainable one that pays the second side most: the offered set never changes and the gold, drawn first,
# is each path a quarter of the time, so neither the options nor the question's words carry the answer.
ENFORCEABILITY_KINDS = ("both_cooperate", "both_defect", "one_defects", "take_turns")


def generate_enforceability(rng: random.Random, difficulty: int = 1) -> Problem:
    """The four `ENFORCEABILITY_KINDS` outcome paths of an infinitely repeated symmetric 2×2 game (prisoner's
    dilemma, chicken, stag hunt, deadlock or harmony) at a given δ, under a notion drawn independently (SPE with
    Nash reversion or Nash equilibrium with minmax punishment); the answer is the sustainable path with the
    highest long-run average payoff for the second side (in 'one defects' the second side defects). The answer
    path and the notion are drawn first, then games until that path is the unique answer. `difficulty` is unused
    (the concept has no size)."""
    target, notion = rng.choice(ENFORCEABILITY_KINDS), rng.choice(["spe", "nash"])
    for _ in range(10 * MAX_TRIES):
        cells = _draw_symmetric_game(rng)
        game = pd_game(cells)
        delta = Fraction(rng.randint(5, 95), 100)
        if best_sustainable_path(game, ENFORCEABILITY_KINDS, delta, notion, player=1) == target:
            break
    else:
        raise RuntimeError(f"enforceability: no item whose answer is {target}")
    ctx = rng.choice(REPEATED_CONTEXTS)
    texts = _path_options(rng, ctx)
    options, gold = place_options(rng, texts[target], [texts[k] for k in ENFORCEABILITY_KINDS if k != target])
    notion_text = ("a subgame perfect equilibrium in which any deviation is punished by reverting to the stage-game "
                   "Nash equilibrium forever" if notion == "spe" else
                   "a Nash equilibrium of the repeated game in which a deviator is minmaxed forever")
    b = ctx[6]
    question = (f"{ctx[0]} The game is repeated infinitely often and both discount the future with δ = {fmt(delta)}. "
                f"{_payoff_sentence(rng, ctx, cells)} Of the following outcome paths, consider those that can be sustained "
                f"as {notion_text}. Which of them gives {b} the highest long-run average payoff per {ctx[4]}?")
    R, T, S, P = (cells[k] for k in "RTSP")
    punish = "the stage Nash equilibrium worst for him" if notion == "spe" else "his minmax value"
    worth = path_sustainable(game, PATHS[target], delta, notion).punishment[0]
    steps = [f"Stage payoffs: R = {fmt(R)}, T = {fmt(T)}, S = {fmt(S)}, P = {fmt(P)}; a deviator is punished forever with "
             f"{punish}, worth {fmt(worth)} per period.",
             "A path is sustainable when, at every phase, each player's normalised value of following it is at least "
             "(1−δ)·(best one-shot deviation) + δ·(punishment value)."]
    steps += _sustainability_steps(game, ENFORCEABILITY_KINDS, delta, notion, b)
    steps.append(f"Of the sustainable paths, {b} earns most on average with: {texts[target]}.")
    return make_option_problem("enforceability", question, options, gold, steps,
                               meta={"difficulty": difficulty, "notion": notion, "negated": False, "objective": "best_for_second",
                                     "delta": str(delta), "cells": {k: str(v) for k, v in cells.items()}}, template="best_path")


def generate_feasibility(rng: random.Random, difficulty: int = 1) -> Problem:
    """Per-period payoff pairs of an infinitely repeated prisoner's dilemma; by the folk theorem exactly one is
    (or, negated, is not) feasible and strictly individually rational. `difficulty` ≥ 2 uses asymmetric pairs.
    The answer's rank among the options (by the first payoff) is drawn uniformly first, so the largest or
    smallest number says nothing; the negated form needs asymmetric pairs for that (among symmetric points the
    one bad point is always the smallest or the largest), so it is asked at difficulty ≥ 2 only; there the bad
    pair still tends to have the smallest or largest payoff sum."""
    negated = difficulty >= 2 and rng.random() < 0.5
    rank = rng.randrange(4)
    for _ in range(MAX_TRIES):
        cells = _draw_pd(rng)
        game = pd_game(cells)
        hull = feasible_set(game)
        xs = [p[0] for p in hull]
        lo, hi = min(xs), max(xs)

        def draw() -> tuple[Fraction, Fraction]:
            x = Fraction(rng.randint(max(0, int(lo) * 2 - 200), int(hi) * 2 + 200), 2)
            y = x if difficulty < 2 else Fraction(rng.randint(max(0, int(lo) * 2 - 200), int(hi) * 2 + 200), 2)
            return x, y

        points = sorted({draw() for _ in range(40)})
        mm = minmax_values(game, "mixed")
        ok = {p: feasible_and_rational(game, p, mm, hull) for p in points}
        hits = [p for p in points if ok[p] != negated]
        rest = [p for p in points if ok[p] == negated]
        rng.shuffle(hits)
        placed = None
        for hit in hits:
            below = [p for p in rest if p[0] < hit[0]]
            above = [p for p in rest if p[0] > hit[0]]
            if len(below) >= rank and len(above) >= 3 - rank:
                placed = hit, rng.sample(below, rank) + rng.sample(above, 3 - rank)
                break
        if placed is not None:
            hit, others = placed
            break
    else:
        raise RuntimeError("feasibility: no item with exactly one correct option found")
    money = lambda v: ("-$" if v < 0 else "$") + decimals(abs(v))  # noqa: E731
    text = lambda p: f"({money(p[0])}, {money(p[1])})"  # noqa: E731
    options, gold = place_options(rng, text(hit), [text(p) for p in others])
    ctx = rng.choice(REPEATED_CONTEXTS)
    verb = "can NOT" if negated else "can"
    question = (f"{ctx[0]} The game is repeated infinitely often and the players are sufficiently patient (discount "
                f"factor close to 1). {_payoff_sentence(rng, ctx, cells)} By the folk theorem, which of the following "
                f"average per-{ctx[4]} payoff pairs ({ctx[5]}, {ctx[6]}) {verb} be sustained in a subgame perfect "
                f"equilibrium of the repeated game?")
    steps = [f"Stage payoff pairs: {', '.join(f'({fmt(game.utility(0, p))}, {fmt(game.utility(1, p))})' for p in game.profiles())}.",
             f"The feasible set is their convex hull with vertices {', '.join(f'({fmt(x)}, {fmt(y)})' for x, y in hull)}.",
             f"Each player's minmax value is {fmt(mm[0])} (the opponent defects), so sustainable averages must exceed it.",]
    for o in options:
        p = _option_point(o)
        assert p is not None
        yes = lambda b: "yes" if b else "no"  # noqa: E731
        steps.append(f"{o}: feasible {yes(point_in_hull(hull, p))}, above minmax {yes(p[0] > mm[0] and p[1] > mm[1])} → "
                     + ("sustainable." if feasible_and_rational(game, p, mm, hull) else "not sustainable."))
    return make_option_problem("feasibility", question, options, gold, steps,
                               meta={"difficulty": difficulty, "negated": negated, "cells": {k: str(v) for k, v in cells.items()}},
                               template="folk")


# ---------------------------------------------------------------------- registration

for _spec in (
    CategorySpec("trigger", "option", audit_trigger, generate_trigger, "minimum δ for grim trigger in a prisoner's dilemma"),
    CategorySpec("enforceability", "option", audit_enforceability, generate_enforceability, "outcome paths sustainable at a given δ"),
    CategorySpec("feasibility", "option", audit_feasibility, generate_feasibility, "folk-theorem feasible, individually rational payoffs"),
):
    register(_spec)
