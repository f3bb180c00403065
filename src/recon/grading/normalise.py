"""One small normaliser per answer type, registered by name: it reads one span of cleaned answer text
(a box's content, or a final statement) into a canonical value, or says it is a hedge or a negation.

A new answer type is one `@register(...)` function here: `parse(span, choices, gold) -> Parsed | None`
plus the pattern that says a sentence mentions an answer of that type (for the unboxed fallback).
Spans arrive cleaned (`recon.grading.text.clean_text`)."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import chain
from typing import Callable, Hashable, Literal, Sequence

from recon.grading.text import clean_text, comparable

Kind = Literal["answer", "hedge", "negation"]
MAX_DIGITS = 6  # no number longer than this is read (int() is never called on an unbounded digit run)


@dataclass(frozen=True)
class Parsed:
    """What a span says. `value` is canonical (option number, "yes"/"no", tuple of letters, frozenset of
    cells); for a hedge, the distinct values named; for a negation, the value negated. `text` is the option
    text written after the number; `by_text` marks an option recognised from its text alone."""

    kind: Kind
    value: Hashable
    text: str | None = None
    by_text: bool = False


Parse = Callable[[str, "Sequence[str] | None", "str | None"], "Parsed | None"]


@dataclass(frozen=True)
class Normaliser:
    parse: Parse
    mentions: re.Pattern[str]
    display: Callable[[Hashable], str]


NORMALISERS: dict[str, Normaliser] = {}


def register(answer_type: str, mentions: str, display: Callable[[Hashable], str]):
    """Register `parse` as the normaliser of `answer_type`."""

    def decorator(parse: Parse) -> Parse:
        NORMALISERS[answer_type] = Normaliser(parse, re.compile(mentions, re.I), display)
        return parse

    return decorator


def get_normaliser(answer_type: str) -> Normaliser:
    try:
        return NORMALISERS[answer_type]
    except KeyError:
        raise ValueError(f"unknown answer_type {answer_type!r}; registered: {sorted(NORMALISERS)}") from None


_NEGATION = re.compile(r"(?=[nNeErRiI'])\b(?:not|never|except|rather than|instead of|nor|exclud\w*)\b|n't\b", re.I)
_CLAUSE_BREAK = re.compile(r"[.;:!?,]|\b(?:and|but)\b")
NEGATION_REACH = 8  # a negation governs what starts at most this many characters after it ("not the Option 2")


class _Negations:
    """The negation words of a span, found once; `before(at)` says whether one governs offset `at`
    ("not Option 2", "isn't (0, 1)"), so each candidate costs a bisection, not a search."""

    def __init__(self, span: str):
        self.span = span
        self.ends = [m.end() for m in _NEGATION.finditer(span)]

    def before(self, at: int) -> bool:
        i = bisect_right(self.ends, at) - 1
        return (
            i >= 0
            and at - self.ends[i] <= NEGATION_REACH
            and not _CLAUSE_BREAK.search(self.span, self.ends[i], at)
        )


def _verdict(named: list[Hashable], negated: list[Hashable]) -> Parsed | None:
    """One distinct value named → an answer; several → a hedge; only negated ones → a negation."""
    distinct = list(dict.fromkeys(named))
    if len(distinct) > 1:
        return Parsed("hedge", tuple(distinct))
    if distinct:
        return Parsed("answer", distinct[0])
    return Parsed("negation", negated[0]) if negated else None


def _small_int(digits: str) -> int | None:
    return int(digits) if len(digits) <= MAX_DIGITS else None


# ---------------------------------------------------------------------------------------------- option

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10}
_WORDS = {w: i + 1 for i, w in enumerate("one two three four five six seven eight nine ten".split())}
_NUMBER_WORD = "|".join(_WORDS)
_NUMBER = rf"(?:[0-9]{{1,6}}(?![0-9])|(?-i:[IVX]{{1,4}})(?![A-Za-z])|(?:{_NUMBER_WORD})\b)"
# After a separator, a Roman numeral or number word followed by another word is prose ("and I think").
_MORE_NUMBER = rf"(?:[0-9]{{1,6}}(?![0-9])|(?:(?-i:[IVX]{{1,4}})|{_NUMBER_WORD})(?![A-Za-z])(?!\s?[A-Za-z]))"
_OPTION_WORD = r"\b(?:options?|choices?)\s?(?:no\.?|number)?\s?[:#.]?\s?"
_OPTION = re.compile(rf"{_OPTION_WORD}({_NUMBER})(?![0-9]|\.[0-9])", re.I)
# "Option 2, 3", "Option 2/3", "Option 2-3", "Option 2 or 3", "Options 2 and Option 3", "Option 1 to 4".
_MORE = re.compile(
    r"\s?\(?\s?(?:,\s?(?:or|and)?|/|\\|\||&|\+|-|–|—|\bor\s(?:maybe|perhaps|possibly)\b|\b(?:maybe|perhaps|possibly)\b"
    r"|\bor\b|\band\b|\bto\b|\bthrough\b|\bnor\b|\bvs\.?|\bversus\b)"
    rf"\s?(?:(?:options?|choices?)\s?)?({_MORE_NUMBER})(?![0-9]|\.[0-9])"
    r"|\s([0-9]{1,6})(?![0-9]|\.[0-9])",  # or a number after a bare space ("Option 1 2 3 4")
    re.I,
)
# "Option 3 is not…", "Option 3 fails": the option is ruled out, not given.
_RULED_OUT = re.compile(
    r"\s?(?:(?:is|are|was|would be|seems)\s(?:not\b|incorrect|wrong|false|ruled out|eliminated|dominated)|isn't|fails\b)", re.I
)
_OPTION_TEXT_START = re.compile(r"^\s?[:.)\-–—]*\s?")
# Where an explanation starts ("Option 2 since Option 3 is dominated"): options named after it are reasons.
_EXPLANATION = re.compile(r"\b(?:because|since|given that|due to|whereas|unlike|rather than|than|while)\b", re.I)
_BARE_NUMBER = re.compile(rf"({_NUMBER})\.?", re.I)
# "Option 3 also works", "Option 3 is also correct": a second option offered as valid, not a reason.
_ALSO_VALID = re.compile(
    r"\s?(?:(?:is|are|would be|could be|might be|may be)\s)?(?:also|equally)\s"
    r"(?:works?|valid|correct|right|optimal|fine|acceptable|possible|an?\s(?:valid|correct|optimal))\b"
    r"|\s?(?:works?|is\s(?:valid|correct|fine|optimal|right))\s(?:too|as well|also)\b",
    re.I,
)
# A bare option number, then text: `2: stay out`, `(2) stay out`, `2. stay out`.
_LEADING_NUMBER = re.compile(r"\(?\s?([0-9]{1,6})(?:\s?[:)\-–—]|\.(?=\s)|(?=\s))\s?(.+)")
# Bare numbers joined as alternatives ("2 or 3", "1, 2, 3, 4"): a hedge without the word "Option".
_BARE_LIST = re.compile(r"(?:[0-9]+(?![0-9])|[ ,/&|+.()\-–—]|\bor\b|\band\b|\beither\b)+", re.I)
_ALTERNATIVES = re.compile(r"\s?(?:\bor\b|\beither\b|/|;|\|)\s?", re.I)
_BARE_DIGITS = re.compile(r"(?<![0-9.])[0-9]{1,6}(?![0-9]|\.[0-9])")  # whole numbers, not decimals


def _option_number(token: str) -> int | None:
    if token[0] in "IVX":
        return _ROMAN.get(token)
    return _small_int(token) if token[0].isdigit() else _WORDS.get(token.lower())


def _choice_index(text: str, choices: Sequence[str] | None) -> int | None:
    """The 1-based number of the one choice whose text is `text`, else None."""
    if not choices or len(text) > 2 * max(len(c) for c in choices) + 40:
        return None
    key = comparable(text)
    hits = [i + 1 for i, c in enumerate(choices) if key and comparable(c) == key]
    return hits[0] if len(hits) == 1 else None


def _without_reasons(s: str, choices: Sequence[str] | None) -> str:
    """`s` cut where a reason naming other options starts ("Option 2 since Option 3 is dominated"), unless
    that word is part of the option's text (`Option 2: lower than firm B`, or words that begin a choice)."""
    first = _OPTION.search(s)
    reason = _EXPLANATION.search(s, first.end()) if first else None
    if not reason or not _OPTION.search(s, reason.end()):
        return s
    if any(_ALSO_VALID.match(s, later.end()) for later in _OPTION.finditer(s, reason.end())):
        return s  # "Option 2 while Option 3 also works" names both
    between = s[first.end() : reason.start()]
    if between.lstrip()[:1] in (":", "-", "–", "—", "(") or (
        comparable(between) and any(comparable(c).startswith(comparable(between)) for c in choices or [])
    ):
        return s
    return s[: reason.start()]


@register("option", rf"(?=[oOcC]){_OPTION_WORD}{_NUMBER}", lambda n: f"Option {n}")
def parse_option(s: str, choices: Sequence[str] | None = None, gold: str | None = None) -> Parsed | None:
    """`Option 2: text` → 2 (with its text). Two or more numbers named (`Option 2 or 3`, `Option 2, 3`,
    `Option 2/3`, `Options 2 and 3`, `Option 1-4`), or a number whose text is another choice's, is a hedge;
    `not Option 2` is a negation; options named after "because"/"since"/"than"… are reasons, not answers.
    Without a number, the text of exactly one choice, or a bare number."""
    in_range = (lambda n: 0 < n <= len(choices)) if choices else (lambda n: True)
    s = _without_reasons(s, choices)
    negations = _Negations(s)
    named: list[int] = []
    negated: list[int] = []
    text_start, end = None, 0
    while match := _OPTION.search(s, end):
        numbers = [_option_number(match.group(1))]
        end = match.end()
        while (more := _MORE.match(s, end)) and (n := _option_number(more.group(1) or more.group(2))) is not None and in_range(n):
            numbers.append(n)
            end = more.end()
        numbers = [n for n in numbers if n is not None]
        if negations.before(match.start()) or _RULED_OUT.match(s, end):
            negated.extend(numbers)
        else:
            named.extend(numbers)
            text_start = end if text_start is None else text_start
            if len(set(named)) > 1:  # a hedge whatever follows
                break
    verdict = _verdict(named, negated)
    if verdict is None:
        lead = _LEADING_NUMBER.fullmatch(s) if choices else None
        if lead and (number := _small_int(lead.group(1))) and in_range(number):
            text = lead.group(2).strip()
            other = _choice_index(text, choices)
            if other is not None:
                return Parsed("answer", number, text=text) if other == number else Parsed("hedge", (number, other))
        by_text = _choice_index(s, choices)
        if by_text is not None:
            return Parsed("answer", by_text, by_text=True)
        named_texts = {_choice_index(part, choices) for part in _ALTERNATIVES.split(s)} - {None} if choices else set()
        if len(named_texts) > 1:  # two choices' texts offered as alternatives
            return Parsed("hedge", tuple(sorted(named_texts)))
        if _BARE_LIST.fullmatch(s) and len(set(numbers := _BARE_DIGITS.findall(s))) > 1:
            return Parsed("hedge", tuple(dict.fromkeys(int(n) for n in numbers)))
        bare = _BARE_NUMBER.fullmatch(s)
        number = _option_number(bare.group(1)) if bare else None
        return Parsed("answer", number) if number is not None else None
    if verdict.kind != "answer":
        return verdict
    text = _OPTION_TEXT_START.sub("", s[text_start:], count=1).strip() or None
    other = _choice_index(text, choices) if text else None
    if other is not None and other != verdict.value:
        return Parsed("hedge", (verdict.value, other))
    return Parsed("answer", verdict.value, text=text)


# ---------------------------------------------------------------------------------------------- yes/no

_LABEL = re.compile(
    r"^[\s\W]*(?:(?:so|thus|hence|therefore|in conclusion|my|the|final|correct|short)\W+)*"
    r"(?:(?:final\s+)?(?:answer|verdict|conclusion|result)(?:\s+is)?\W*)?"
    r"(?:(?:definitely|clearly|certainly|surely|absolutely|likely|probably)\W+)?",
    re.I,
)
_YES_NO = re.compile(r"(yes|no)\b", re.I)
_YES_NO_BOTH = re.compile(r"(?:either|both|neither)\b", re.I)
_YES_NO_NEGATION = re.compile(r"(?:not|n't|never)\b", re.I)
# The other value right after, as an alternative ("yes or no", "yes/no") or as the whole rest ("yes, no").
_YES_NO_HEDGE = re.compile(
    r"\b(?:or|nor|versus|vs)\W+(?:(?:maybe|perhaps|possibly)\W+)?(?:yes|no|not)\b|(?:yes|no)\s?/\s?(?:yes|no|not)\b"
    r"|\b(?:(?:could|might|may)\s(?:also\s)?be|maybe|perhaps|possibly|alternatively)\W+(?:yes|no)\b",
    re.I,
)
# The other value later, standing as an answer of its own ("Yes; but also No", "no otherwise", "(yes for
# patient players)") rather than as a word of the explanation ("Yes, because no firm deviates").
_YES_NO_AS_ANSWER = re.compile(
    r"\b(yes|no)\b(?=\s*(?:$|[.,;:!?)\]]|\b(?:otherwise|else|for|if|when|whenever|unless|under|in case)\b))", re.I
)
_YES_NO_TAIL = re.compile(r"\W*(?:(?:or|and|nor|vs|versus|but)\W+)?(?:(?:maybe|perhaps|possibly)\W+)?(yes|no|not|maybe)\W*", re.I)


@register("yes_no", r"(?=[yYnN])\b(?:yes|no)\b", lambda v: str(v).capitalize())
def parse_yes_no_span(s: str, choices: Sequence[str] | None = None, gold: str | None = None) -> Parsed | None:
    """The leading word, after a label ("Answer:", "The answer is"): `Yes — no doubt` → yes. The other
    value offered as an alternative (`Yes or No`, `yes/no`, `Yes, no`) or standing as an answer later
    (`Yes; but also No`, `Yes if δ>0.5, no otherwise`) is a hedge; `not yes` a negation."""
    rest = s[_LABEL.match(s).end() :]
    if _YES_NO_NEGATION.match(rest):
        word = _YES_NO.search(rest, 0, 40)
        return Parsed("negation", word.group(1).casefold()) if word else None
    if _YES_NO_BOTH.match(rest):
        return Parsed("hedge", ("yes", "no"))
    word = _YES_NO.match(rest)
    if not word:
        return None
    answer = word.group(1).casefold()
    tail = _YES_NO_TAIL.fullmatch(rest, word.end())
    both = any(m.group(1).casefold() != answer for m in _YES_NO_AS_ANSWER.finditer(rest, word.end()))
    if both or _YES_NO_HEDGE.search(rest) or (tail and tail.group(1).casefold() != answer):
        return Parsed("hedge", ("yes", "no"))
    return Parsed("answer", answer)


# ---------------------------------------------------------------------------------------------- ordering

# Between two letters of a sequence: a mark, a word, or one space. The alternatives consume different
# text, so a failing match cannot backtrack through exponentially many splits.
_STEP = r"(?: ?[,;>\-–—] ?|,? (?:and then|and|then) | )"
_RUN = re.compile(rf"\b[A-Z]\b(?:{_STEP}\b[A-Z]\b)+")
_RUN_ANY_CASE = re.compile(rf"\b[A-Za-z]\b(?:{_STEP}\b[A-Za-z]\b)+", re.I)
_LIST_NUMBER = re.compile(r"(?<![0-9A-Za-z.])[0-9]{1,2}[.):] ?(?=[A-Za-z]\b)")  # "1. A 2. D" numbering
_LETTER = re.compile(r"\b[A-Z]\b")
_CONCATENATED = re.compile(r"\b[A-Z]{2,26}\b")
_CONCATENATED_ANY_CASE = re.compile(r"[A-Za-z]{2,26}")


def _letters(gold_answer: str) -> set[str] | None:
    gold = parse_ordering_span(clean_text(gold_answer))
    return set(gold.value) if gold and gold.kind == "answer" else None  # type: ignore[arg-type]


def _sequence(token: str, universe: set[str] | None, whole: bool) -> tuple[str, ...] | None:
    """The letters of one candidate (upper case): a run `B, C, D, A`, or concatenated `BCDA` when its
    letters are distinct and exactly the gold's (or, with no gold to compare, when it is the whole answer)."""
    letters = tuple(_LETTER.findall(token))
    if len(letters) < 2:
        letters = tuple(token)
        if len(set(letters)) != len(letters) or not (set(letters) == universe if universe else whole):
            return None
    return letters if universe is None or set(letters) <= universe else None


@register("ordering", rf"(?-i:\b[A-Z]\b{_STEP}\b[A-Z]\b|\b[A-Z]{{2,26}}\b)", ", ".join)
def parse_ordering_span(s: str, choices: Sequence[str] | None = None, gold: str | None = None) -> Parsed | None:
    """Letters in sequence in any common notation: `B, C, D, A`, `(B, C, D, A)`, `[B, C, D, A]`, `B > C > D
    > A`, `B \\to C`, `B → C`, `B ≻ C`, `B, then C`, and concatenated `BCDA` when its letters are exactly the
    gold's. Two different sequences (`A, B, C, D or B, A, C, D`) are a hedge; `not A, B, C, D` a negation."""
    universe = _letters(gold) if gold else None
    s = _LIST_NUMBER.sub("", s)
    bare = s.strip(" .()[]")
    whole = _RUN_ANY_CASE.fullmatch(bare) or _CONCATENATED_ANY_CASE.fullmatch(bare)
    candidates = [whole] if whole else chain(_RUN.finditer(s), _CONCATENATED.finditer(s))
    negations = _Negations(s)
    named: dict[tuple[str, ...], None] = {}
    negated: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for match in candidates:
        token = match.group().upper()
        if token in seen and not negations.ends:  # a repeat says nothing new
            continue
        seen.add(token)
        order = _sequence(token, universe, whole is not None)
        if order is None:
            continue
        if negations.before(match.start()):
            negated.append(order)
        else:
            named[order] = None
            if len(named) > 1:  # a hedge whatever follows
                break
    return _verdict(list(named), negated)


# ---------------------------------------------------------------------------------------------- pairs

_CELL = re.compile(r"[(\[] ?(-?[0-9]{1,6}) ?, ?(-?[0-9]{1,6}) ?[)\]]")
_NO_CELL = re.compile(
    r"∅|\[ ?\]|\( ?\)|\bnone\b|\bno (?:pure[- ]strategy |pure |nash |such )*(?:nash )?equilibri|\bdoes not exist\b", re.I
)
# "none" / "no … equilibrium" that only says the committed cells are all there is ("there is no pure strategy
# Nash equilibrium other than it", "none of the other cells is", "no other equilibrium exists"): not a second
# answer beside the cells, so not a hedge.
_NO_OTHER = re.compile(
    r"\bno (?:pure[- ]strategy |pure |nash |such )*(?:nash )?equilibri\w*(?: (?:exists?|at all|in pure strategies))?"
    r" (?:other than|besides|apart from|aside from|except|beyond)\b"
    r"|\bnone (?:other|of the other|of the remaining|else|besides|apart from|aside from|except)\b"
    r"|\b(?:another|any other|other|a second|a further|an additional)\b[^.;]*?\bdoes not exist\b",
    re.I,
)
_CELL_MARK = "\x00"  # stands for one cell in the skeleton (any NUL in the text is dropped first)
# A list of cells after each cell is replaced by the mark (`[•, •]`, `(•; •)`), or one loose cell.
_CELL_GROUP = re.compile(r"[\[(] ?\x00(?: ?(?:[,;] ?)?(?:and )?\x00)* ?[\])]|\x00")
_PAIRS_HEDGE = re.compile(r"\b(?:or|either|maybe|perhaps|possibly)\b|/", re.I)


@register(
    "pairs", rf"(?=[(\[∅nNdD])(?:{_CELL.pattern}|{_NO_CELL.pattern})", lambda cells: str(sorted(list(c) for c in cells))
)
def parse_pairs_span(s: str, choices: Sequence[str] | None = None, gold: str | None = None) -> Parsed | None:
    """A set of cells in any notation: `[[0, 1], [2, 2]]`, `[0, 1], [2, 2]`, `(0, 1), (2, 2)`, `\\{(1,0),(2,1)\\}`,
    a single `[0, 1]`; `[]`, `∅`, `\\emptyset`, "none" for no cell. Two different lists (`[[0, 0]], [[0, 1]]`),
    "or"/"either"/"/" between candidates, or cells together with "none" are a hedge (but not cells beside "there is no
    equilibrium other than it" and the like, `_NO_OTHER`); `not (0, 1)` a negation."""
    negations = _Negations(s)
    found = list(_CELL.finditer(s))
    skeleton = _CELL.sub(_CELL_MARK, s.replace(_CELL_MARK, ""))
    candidates: set[frozenset[tuple[int, int]]] = set()
    loose: set[tuple[int, int]] = set()  # cells not inside a list of cells
    negated: list[tuple[int, int]] = []
    taken = 0
    for group in _CELL_GROUP.finditer(skeleton):
        members = found[taken : taken + group.group().count(_CELL_MARK)]
        taken += len(members)
        cells = set()
        for cell in members:
            value = (int(cell.group(1)), int(cell.group(2)))  # at most MAX_DIGITS digits each
            if negations.before(cell.start()):
                negated.append(value)
            else:
                cells.add(value)
        if group.group() == _CELL_MARK:
            loose |= cells
        elif cells:
            candidates.add(frozenset(cells))
    if loose:
        candidates.add(frozenset(loose))
    empty = bool(_NO_CELL.search(_NO_OTHER.sub(" ", skeleton) if candidates else skeleton))
    if not candidates and not empty:
        return Parsed("negation", frozenset(negated)) if negated else None
    if len(candidates) > 1 or (candidates and empty) or _PAIRS_HEDGE.search(s):
        return Parsed("hedge", tuple(candidates) + ((frozenset(),) if empty else ()))
    return Parsed("answer", candidates.pop() if candidates else frozenset())


def canonical_answer(answer_type: str, text: str) -> Hashable | None:
    """The canonical value of a bare answer (a gold string), or None when it is not one clean answer."""
    parsed = get_normaliser(answer_type).parse(clean_text(text), None, None)
    return parsed.value if parsed is not None and parsed.kind == "answer" else None
