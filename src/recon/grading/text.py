"""What a careful reader sees: one cleaning pass over answer text before anything is parsed.

Unicode is folded to what it renders as (NFKC: fullwidth and mathematical digits; zero-width and bidi
controls dropped; Cyrillic/Greek letters that look Latin mapped to Latin; every script's decimal digits to
ASCII), LaTeX and markdown wrappers are stripped, and runs of spaces become one space (newlines are kept:
they separate statements). Every step is one linear pass."""

from __future__ import annotations

import re
import unicodedata

# Zero-width, soft-hyphen and bidi control characters render as nothing.
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF], None
)
# Cyrillic and Greek letters that render like Latin ones.
_LOOKALIKES = str.maketrans(
    "АВЕКМНОРСТУХаеорсухіІјЈѕЅԁԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧο",
    "ABEKMHOPCTYXaeopcyxiIjJsSdqwABEZHIKMNOPTYXo",
)


class _Folding(dict):
    """str.translate table built on demand: invisible characters dropped, lookalikes mapped, every
    Unicode decimal digit mapped to its ASCII digit."""

    def __missing__(self, code: int):
        ch = chr(code)
        value = _LOOKALIKES.get(code, code)
        if value == code and ch.isdecimal():
            value = str(unicodedata.decimal(ch))
        self[code] = value
        return value


_FOLDING = _Folding(_INVISIBLE)

_WRAPPER = re.compile(
    r"\\(?:boxed|fbox|text|textbf|textit|textsf|texttt|textrm|textnormal|textup|textmd|emph|mathbf|mathit|"
    r"mathrm|mathsf|mathtt|mathbb|mathcal|mbox|hbox|bm|boldsymbol|operatorname|underline|overline)\s*(?=\{)"
    r"|\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|displaystyle|textstyle|bf|it|rm|sf)(?![A-Za-z])"
)
_ARROW = re.compile(
    r"\\(?:to|rightarrow|longrightarrow|Rightarrow|Longrightarrow|implies|succ|gt)(?![A-Za-z])|[→⟶⇒⟹➝➔≻]|(?<!-)-+>|(?<!=)=+>"
)
_EMPTY_SET = re.compile(r"\\(?:emptyset|varnothing)(?![A-Za-z])|\\\{\s*\\\}|∅")
_LATEX_CONNECTIVE = re.compile(r"\\(?:(lor|vee|mid|vert)|(land|wedge))(?![A-Za-z])")
_LATEX_SPACE = re.compile(r"\\(?:quad|qquad|[ ,;:!>])|~")
_ESCAPED = re.compile(r"\\([%&])")
_DROPPED = re.compile(r"\\[{}$#_]|[{}$#*_`]")
_LINE_MARK = re.compile(r"^[ \t]*>+[ \t]?", re.M)
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S \n]")  # runs, and whitespace other than a space
_NEWLINES = re.compile(r" ?\n[ \n]*")


def fold_unicode(text: str) -> str:
    """NFKC, then invisible characters dropped, lookalike letters and non-ASCII digits mapped to ASCII."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_FOLDING)


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """The answer text a reader sees: Unicode folded, `\\mathbf{…}`-style wrappers, `$`, `#`, `~`, `\\ `,
    escaped and plain braces and markdown emphasis removed, arrows/`\\succ` as ` > `, `\\emptyset` as `∅`."""
    s = fold_unicode(text)
    latex = "\\" in s
    if latex:
        s = _WRAPPER.sub("", s.replace("\\\\", "\n"))
    if latex or "∅" in s:
        s = _EMPTY_SET.sub(" ∅ ", s)
    if latex:
        s = _LATEX_CONNECTIVE.sub(lambda m: " or " if m.group(1) else " and ", s)
    if latex or ">" in s or not s.isascii():
        s = _ARROW.sub(" > ", s)
    if latex or "~" in s:
        s = _LATEX_SPACE.sub(" ", s)
    if latex:
        s = _ESCAPED.sub(r"\1", s)
    s = _DROPPED.sub("", s)
    if ">" in s:
        s = _LINE_MARK.sub("", s)
    if not keep_newlines:
        return _SPACES.sub(" ", s.replace("\n", " ")).strip()
    return _NEWLINES.sub("\n", _SPACES.sub(" ", s)).strip()


_COMPARABLE_EDGES = " .;:!,'\"()[]"


def comparable(text: str) -> str:
    """Case-, space-, currency-sign- and edge-punctuation-insensitive form used to compare option texts."""
    s = clean_text(text).casefold()
    return " ".join(s.split()).strip(_COMPARABLE_EDGES)
