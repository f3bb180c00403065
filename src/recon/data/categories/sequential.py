"""Sequential-game category `backward_induction`: STEER's three-stage chain stories in prose and trees
listed one terminal history per line. Reading, solving and rendering are separated as in `matrix`."""

from __future__ import annotations

import itertools
import random
import re
from fractions import Fraction
from typing import Any, NamedTuple, Sequence

from recon.data.categories import AuditResult, CategorySpec, register
from recon.data.categories.common import (
    ParseError,
    fmt,
    incomplete,
    make_option_problem,
    max_scan,
    place_options,
    unparsed,
    verdict_for,
)
from recon.data.options import option_lookup
from recon.data.problem import Problem
from recon.econ.extensive import Decision, Leaf, backward_induction, from_nested, subgame_perfect_paths


# ---------------------------------------------------------------------- reading
# A chain story is read by structure: the two players and their pronouns, then every payoff number with
# its owner ('Alice will get N', 'N for Bob', 'her company … N', 'N and M respectively'), payments and
# losses as negative amounts, then outcomes (one per clause naming both players) in the order of the
# stages, and finally which player's decision the question asks about and at which stage.

_BI_NUMBER = re.compile(r"(?<![\w.])(?<!turn )(?<!round )(?<!stage )-?\d+(?:\.\d+)?(?!\w|\.\d|\s*-?\s*(?:[a-z]+\s+)?(?:rounds?|stages?|nodes?|steps?|years?|turns?|decision|phases?)\b)", re.I)
_NON_NAMES = {"If", "In", "At", "The", "However", "Should", "Using", "What", "Consider", "Two", "When", "After", "Both",
              "Each", "This", "They", "Their", "A", "An", "Imagine", "Suppose", "Assume", "Given"}
_STOP = re.compile(r"finali|accept|settle|close|seal|conclude|agree|\btake\b|maintain|revert|stick|own treatment|conventional"
                   r"|standard|traditional|original|secure|lock|sign|wrap|immediately|switch\w* back|go(?:es)? back"
                   r"|continue with (?:his|her|their) (?:own|initial|recommended|conservative|current)", re.I)
_CONTINUE = re.compile(r"negotiat|\bpass|escalat|refer|extend|switch(?!\w* back)|adopt|push|further|back to|proceed|experimental"
                       r"|\blet\b|another round|counter|\bcontinue(?! with)|reject|delay|wait|hold out|decline|defer|alternative|opt for|yield|\bleave\b|\bhand\b|choose (?:Dr\.|Mr\.|Ms\.)"
                       r"|continue with (?:Dr\.|Mr\.|Ms\.)|improve|raise", re.I)
_PRONOUNS = {"she": "f", "her": "f", "herself": "f", "hers": "f", "he": "m", "him": "m", "his": "m", "himself": "m",
             "they": "n", "them": "n", "their": "n", "themself": "n", "themselves": "n"}
_NOT_SUBJECT = re.compile(r"(?:\b(?:with|to|of|for|from|by|than|over|on|about|at|onto|into)\s+(?:the\s+)?)$", re.I)
_LOSS_VERB = re.compile(r"\b(?:pay|pays|paying|paid|lose|loses|losing|loss of|cost|costs|costing|penalty of|fine of|owe|owes)\b[^.;\d]{0,25}$", re.I)
_LATE = re.compile(r"\b(?:third|final|last|end|round three|round 3|stage 3)\b", re.I)
_SECOND = re.compile(r"\b(?:second|round two|round 2|stage 2|next round|his turn|her turn|their turn)\b", re.I)
_WORD = re.compile(r"[a-z]{3,}")
_FILLER = {"should", "the", "and", "with", "his", "her", "their", "own", "for", "this", "that", "round", "stage", "first",
           "second", "third", "final", "decision", "choose", "decide", "opt", "option", "will", "can", "deal", "terms"}


class ChainStory(NamedTuple):
    """A prose chain game: the players (first mover first), the outcome of stopping at each stage and the
    outcome when the last mover continues (a value is None where the text gives no number), the condition
    text of each outcome and the 0-based stage asked about."""

    names: tuple[str, str]
    outcomes: list[list[Fraction | None]]
    conditions: list[str]
    stage: int


def _bi_players(text: str) -> tuple[str, str] | None:
    """The two players' names as the story introduces them ('Alice and Bob', 'Dr. Smith and Dr. Adams',
    'a buyer and a seller' → 'buyer'/'seller'), first mover first."""
    appositive = re.search(r"\b(?:[Aa]n?|[Tt]he)\s+[a-z]+,\s+([A-Z][a-z]+),\s+and\s+(?:[Aa]n?|[Tt]he)\s+[a-z]+,\s+([A-Z][a-z]+)\b", text)
    if appositive:  # 'An entrepreneur, Alex, and an investor, Jamie, …'
        return appositive.group(1), appositive.group(2)
    lettered = re.search(r"\b(?:players?|doctors?|physicians?|Drs?\.|firms?|parties|investors?)\s+([A-Z])\s*,?\s+and\s+(?:\w+\.?\s+)?([A-Z])\b", text, re.I)
    name = r"(?:Dr\.|Mr\.|Ms\.|Mrs\.)\s[A-Z]\w+|\b[A-Z][a-z]+ [A-Z]\b|\b[A-Z][a-z]+(?:[A-Z]\w*)?"  # 'TechA', 'AstraTech'
    # 'Alice and Bob', 'an artist Alice and her manager Bob'
    for m in ([] if lettered else re.finditer(rf"({name})\s*,?\s+and\s+(?:(?:his|her|their)\s+[a-z]+\s+)?({name})\b", text)):
        a, b = m.group(1), m.group(2)
        if a not in _NON_NAMES and b not in _NON_NAMES and a != b:
            break
    else:
        if lettered:  # 'players A and B', 'Dr. A and Dr. B'
            return lettered.group(1), lettered.group(2)
        players = list(dict.fromkeys(re.findall(r"\bPlayer ([A-Z])\b", text)))
        if len(players) >= 2:  # 'Player A represents …, and Player B is …'
            return players[0], players[1]
        m = re.search(r"\ban?\s+(\w+)\s+and\s+an?\s+(\w+)\b", text)
        if not m:
            return None
        a, b = m.group(1), m.group(2)
    if re.search(rf"{re.escape(b)}\s+(?:has|makes|gets|takes|will make)\s+the\s+(?:first|initial)|{re.escape(b)}\s+(?:moves|starts|goes|decides|chooses)\s+first", text):
        a, b = b, a
    return a, b


def _mentions(text: str, names: tuple[str, str]) -> list[tuple[int, int | str]]:
    """(position, who) of every name and personal pronoun, in order: who is the player index for a name
    used as a subject, 'o0'/'o1' for a name that is not ('Dr. Reid's treatment', 'with Alice'), or the
    pronoun's gender ('f', 'm', 'n' for they)."""
    out: list[tuple[int, int | str]] = []
    for k, name in enumerate(names):
        if len(name) == 1:  # 'Player A', 'Dr. A', 'Physician A'
            out += [(m.start(), k) for m in re.finditer(rf"\b(?:[Pp]layer|[Pp]hysician|Dr\.|[Dd]octor|[Ff]irm|[Pp]arty|[Ii]nvestor)\s+{name}\b", text)]
            continue
        out += [(m.start(), k) for m in re.finditer(rf"{re.escape(name)}(?!\w)", text)]
        short = name.split()[-1]
        if short != name:  # 'Dr. Smith' is also 'Smith'
            out += [(m.start(), k) for m in re.finditer(rf"(?<!\. ){re.escape(short)}(?!\w)", text)]
    out = [(pos, who if _NOT_SUBJECT.search(text[:pos]) is None and not re.match(r"\S*['’]s\b", text[pos:]) else f"o{who}")
           for pos, who in out]
    out += [(m.start(), _PRONOUNS[m.group(0).lower()]) for m in re.finditer(rf"\b(?:{'|'.join(_PRONOUNS)})\b", text, re.I)]
    return sorted(out)


def _genders(text: str, names: tuple[str, str]) -> dict[str, int]:
    """Pronoun gender → player, when only one player is referred to by that gender (the nearest name
    before a pronoun votes); empty for two players of one gender, whose pronouns go to the nearest name."""
    votes: dict[tuple[int, str], int] = {}
    last: int | None = None
    for _, who in _mentions(text, names):
        if isinstance(who, int):
            last = who
        elif who in ("f", "m") and last is not None:
            votes[(last, who)] = votes.get((last, who), 0) + 1
    out: dict[str, int] = {}
    for g in ("f", "m"):
        by = {k: votes.get((k, g), 0) for k in (0, 1)}
        if min(by.values()) == 0 < max(by.values()):  # only one player is ever called 'she' (or 'he')
            out[g] = max(by, key=lambda k: by[k])
    if len(set(out.values())) < len(out):
        return {}
    return out


def _owner(mentions: list[tuple[int, int | str]], genders: dict[str, int]) -> int | None:
    """The player the last mention refers to: a name directly, a pronoun by its gender or else the nearest
    name used as a subject before it ('If Dr. Schwarz sticks with Dr. Reid's plan, she …' is Schwarz)."""
    pronoun = False
    for k in range(len(mentions) - 1, -1, -1):
        who = mentions[k][1]
        if isinstance(who, int):
            return who
        if who in ("o0", "o1"):
            if not pronoun:
                return int(who[1])
        elif who in genders:
            return genders[who]
        else:
            pronoun = True
    return None


def _number_owners(sentence: str, names: tuple[str, str], genders: dict[str, int], carry: int | None) -> list[tuple[Fraction, int | None]]:
    """The payoff numbers of one sentence with their owners; `carry` is the player the previous sentences
    named last (for a sentence whose pronoun has no name before it)."""
    nums = list(_BI_NUMBER.finditer(sentence))
    mentions = _mentions(sentence, names)
    out: list[tuple[Fraction, int | None]] = []
    named_after: list[bool] = []  # the payoff's owner is named right after it ('… and -7 for Dr. Lee')
    for k, m in enumerate(nums):
        value = Fraction(m.group(0))
        if value > 0 and _LOSS_VERB.search(sentence[nums[k - 1].end() if k else 0: m.start()]):
            value = -value
        end = nums[k + 1].start() if k + 1 < len(nums) else len(sentence)
        after = re.match(r"\s*(?:[a-z]+\s+){0,3}?(?:to|for)\s+(?:the\s+)?(.{0,40})", sentence[m.end(): end])
        owner, by_name = None, False
        if after:
            post = _mentions(re.split(r"[,;]|\b(?:while|and|but|whereas)\b", after.group(1))[0], names)
            owner = _owner(post[:1], genders) if post else None
            by_name = bool(post) and post[0][1] in (0, 1, "o0", "o1")
        named_after.append(by_name)
        if owner is None:
            before = [x for x in mentions if (nums[k - 1].end() if k else 0) <= x[0] < m.start()]
            owner = _owner(before, genders)
        if owner is None and out and out[-1][1] is not None and not re.search(r"[.;]|\bif\b", sentence[nums[k - 1].end(): m.start()], re.I):
            owner = 1 - out[-1][1]  # 'they would respectively receive 5 and 7', 'Alice gets 5, and Bob 7'
        if owner is None:
            owner = _owner([x for x in mentions if x[0] < m.start()], genders)
        if owner is None:
            owner = carry
        out.append((value, owner))
    # '8 for her and -7 for Dr. Lee', 'obtaining 8 and Dr. Lee -7' (two players of one gender): one outcome's
    # two payoffs go to two players
    for k in range(len(nums) - 1):
        gap = sentence[nums[k].end(): nums[k + 1].start()]
        same_clause = not re.search(r"(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)[.;]|\b(?:if|or)\b", gap, re.I)
        named_next = named_after[k + 1] or bool(re.fullmatch(r"[\s,]*and\s+(?:\S+\s+)?\S+\s*", gap) and _mentions(gap, names))
        if same_clause and out[k][1] is not None and out[k][1] == out[k + 1][1] and named_next and not named_after[k]:
            out[k] = (out[k][0], 1 - out[k][1])
    # 'Alice and Bob get 5 and 7, respectively': owners in the order the clause names the players
    for k in range(len(nums) - 1):
        tail = sentence[nums[k + 1].end(): nums[k + 1].end() + 30]
        if re.match(r"[\s,]*(?:points?\s*)?respectively", tail, re.I):
            named = [w for _, w in _mentions(sentence[: nums[k].start()], names)]
            order = [_owner([(0, w)], genders) for w in named]
            order = [o for o in order if o is not None]
            seen = list(dict.fromkeys(order[len(order) - 2:] if len(set(order[-2:])) == 2 else order))
            if len(seen) == 2:
                out[k], out[k + 1] = (out[k][0], seen[0]), (out[k + 1][0], seen[1])
            else:
                out[k], out[k + 1] = (out[k][0], 0), (out[k + 1][0], 1)
    return out


def _sentences(text: str) -> list[str]:
    """Sentences and ';'-clauses; titles ('Dr. Lee') do not end a sentence."""
    guarded = re.sub(r"\b(Dr|Mr|Ms|Mrs|Prof)\.", "\\1\x00", text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])|(?<=[;])\s+", guarded)
    return [p.replace("\x00", ".") for p in parts if p.strip()]


def _question_actor(question: str, options: Sequence[str], names: tuple[str, str]) -> int | None:
    """The player whose decision is asked: named in 'what should X do' / 'X's strategy', or by every option."""
    by_options = {k for o in options for k, n in enumerate(names) if re.match(rf"\s*(?:The\s+)?{re.escape(n)}", o)}
    if len(by_options) == 1:
        return by_options.pop()
    asked = re.search(r"should\s+(.{0,30})\s+(?:do|make|take|choose|decide)|(\S.{0,30})'s\s+(?:best|optimal|strategy|decision|move|action)", question)
    if asked:
        who = [_owner([(0, w)], {}) for _, w in _mentions(asked.group(1) or asked.group(2), names) if w not in _PRONOUNS.values()]
        if who:
            return who[0]
    return None


def read_chain_story(text: str, options: Sequence[str]) -> ChainStory:
    """A prose chain game with the stage its question asks about; raises ParseError when the players, the
    outcomes or the asked stage cannot be told."""
    names = _bi_players(text)
    if names is None:
        raise ParseError("cannot find the two players' names")
    genders = _genders(text, names)
    sentences = _sentences(text)
    question = next((s for s in reversed(sentences) if "?" in s), sentences[-1])
    body = [s for s in sentences if s is not question]
    outcomes: list[list[Fraction | None]] = []
    conditions: list[str] = []
    carry: int | None = None
    for sentence in body:
        fresh = True
        for value, owner in _number_owners(sentence, names, genders, carry):
            if owner is None:
                raise ParseError(f"cannot tell whose payoff {float(value)} is")
            current = outcomes[-1] if outcomes and not fresh else None
            if current is None or current[owner] is not None or (all(v is not None for v in current)):
                outcomes.append([None, None])
                idx = _BI_NUMBER.search(sentence)
                conditions.append(sentence[: idx.start()] if idx else sentence)
                current = outcomes[-1]
            current[owner] = value
            fresh = False
            carry = owner
        named = [_owner([(0, w)], {}) for _, w in _mentions(sentence, names) if w not in _PRONOUNS.values()]
        carry = named[-1] if named else carry  # a pronoun of unknown gender opening the next sentence
    if len(outcomes) < 2:
        raise ParseError(f"found {len(outcomes)} outcomes, a chain needs at least 2")
    # a stop by the second mover told after the last stage ('If Dr. Bob instead switches …') moves to its stage
    for k in range(2, len(outcomes)):
        subject = re.match(r"\s*(?:If|Should|When)\s+(?:\w+\s+){0,2}?(" + "|".join(map(re.escape, names)) + r")", conditions[k])
        if subject and names.index(subject.group(1)) == 1 and re.search(r"\binstead\b|second", conditions[k]) and not _LATE.search(conditions[k]):
            outcomes.insert(1, outcomes.pop(k))
            conditions.insert(1, conditions.pop(k))
            break
    actor = _question_actor(question, options, names)
    numbered = re.search(r"\b(?:turn|round|stage)\s+(\d+)", question, re.I)
    if numbered:
        stage = int(numbered.group(1)) - 1
    elif actor == 1:
        stage = 1  # in a three-stage chain the second mover decides only at the second stage
    elif actor == 0 and _LATE.search(question):
        stage = len(outcomes) - 2
    elif actor == 0 and not _SECOND.search(question):
        stage = 0
    else:
        raise ParseError("cannot tell which decision node is asked about")
    if actor is not None and stage % 2 != actor:
        raise ParseError(f"{names[actor]} does not move at stage {stage + 1}")
    return ChainStory(names, outcomes, conditions, stage)


def option_action(option: str) -> str | None:
    """'stop' or 'continue' for a backward-induction option: the verb named first after 'should' decides
    (so 'finalize the negotiation' is a stop); None when neither reading fits."""
    text = re.split(r"\bshould\b", option, maxsplit=1)[-1]
    stop, cont = _STOP.search(text), _CONTINUE.search(text)
    if stop and cont:
        return "stop" if stop.start() < cont.start() else "continue"
    if stop or cont:
        return "stop" if stop else "continue"
    return None


def _stems(text: str, names: tuple[str, str]) -> set[str]:
    skip = {w.lower() for n in names for w in n.split()}
    return {w[:5] for w in _WORD.findall(text.lower()) if w not in _FILLER and w not in skip}


def option_actions(options: Sequence[str], stop_condition: str, names: tuple[str, str]) -> list[str | None]:
    """Each option read as 'stop' or 'continue': the option sharing more words with the condition that
    ends the game at this stage ('If Dr. Bob reverts to his protocol, …') is the stop; the verb reading of
    `option_action` decides when the overlap does not."""
    by_verb = [option_action(o) for o in options]
    if len(options) != 2:
        return by_verb
    cond = _stems(stop_condition, names)
    overlap = [len(_stems(o, names) & cond) for o in options]
    if overlap[0] != overlap[1]:
        first = "stop" if overlap[0] > overlap[1] else "continue"
        by_overlap = [first, "continue" if first == "stop" else "stop"]
        if sorted(map(str, by_verb)) != ["continue", "stop"] or re.search(r"treatment|protocol|procedure|plan", stop_condition, re.I):
            return by_overlap
    own = [bool(re.search(r"\b(?:his|her|their) own\b", o, re.I)) for o in options]
    if by_verb == ["stop", "stop"] and sum(own) == 1:  # 'continue with her own plan' / 'switch back to Dr. Smith's plan'
        return ["stop" if o else "continue" for o in own]
    return by_verb


_TREE_LINE = re.compile(r"^- (.+?): \((-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)\)\s*$", re.M)


def parse_tree_listing(text: str) -> Decision | None:
    """A tree written as one line per terminal history, `- Up, Left, High: (3, 5)`, players alternating by
    depth from player 0; None when the text has no such listing."""
    spec: dict[str, Any] = {}
    rows = _TREE_LINE.findall(text)
    if not rows:
        return None
    for history, x, y in rows:
        node = spec
        moves = [m.strip() for m in history.split(",")]
        for move in moves[:-1]:
            node = node.setdefault(move, {})
            if not isinstance(node, dict):
                raise ParseError(f"history {history!r} extends a terminal history")
        node[moves[-1]] = [Fraction(x), Fraction(y)]
    tree = from_nested(spec)
    if not isinstance(tree, Decision):
        raise ParseError("the listing has no decision")
    return tree


# ---------------------------------------------------------------------- solving


def centipede_tree(pairs: Sequence[tuple[Fraction, Fraction]]) -> Decision:
    """The chain game: at stage k the mover (alternating from player 0) stops with pairs[k] or continues;
    the last pair is the outcome when the last mover continues."""
    node: Leaf | Decision = Leaf(pairs[-1])
    for k in range(len(pairs) - 2, -1, -1):
        node = Decision(k % 2, {"stop": Leaf(pairs[k]), "continue": node})
    assert isinstance(node, Decision)
    return node


def spe_actions(tree: Decision, history: tuple[str, ...]) -> set[str]:
    """Actions played at `history` in some subgame-perfect equilibrium."""
    return {eq.strategy[history] for eq in backward_induction(tree)}


def _audit_tree_listing(problem: Problem, tree: Decision) -> AuditResult:
    paths = subgame_perfect_paths(tree)
    options = problem.choices or []
    read = [tuple(m.strip() for m in o.split(",")) for o in options]
    correct = [i for i, path in enumerate(read) if path in paths]
    answer = " | ".join(", ".join(p) for p in paths)
    return verdict_for(problem, options, correct, answer, f"subgame-perfect path(s): {answer}")


_STAGE_COUNT = re.compile(r"\b(\d+|two|three|four|five|six|seven)[- ](?:rounds?|turns?|stages?|decision points|phases)\b", re.I)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def chain_readings(story: ChainStory, text: str) -> list[list[tuple[list[Fraction | None], str]]]:
    """The chains (outcome, condition) a story can mean. Usually one: each stage's stop in order, then the
    outcome when the last mover continues. A three-stage story that states both outcomes of the second
    mover's choice ('continuing gives …; switching back gives …') and then the final stage has two: the
    stated outcomes both end the game, or only the stopping one does and the other leads to the last stage."""
    stated = _STAGE_COUNT.search(text)
    n = 3 if not stated else int(_NUMBER_WORDS.get(stated.group(1).lower(), stated.group(1)))
    steps = list(zip(story.outcomes, story.conditions))
    if len(steps) < n + 1 and not _LATE.search(steps[-1][1]):  # the story stops before its last stages
        steps += [([None, None], "")] * (n + 1 - len(steps))
    if len(steps) == n + 1:
        return [steps]
    if n == 3 and len(steps) == 5:
        kinds = [option_action(c) for _, c in steps[1:3]]
        orders = [(steps[1], steps[2]), (steps[2], steps[1])]  # (stop, continue); both when the verbs do not tell
        if sorted(map(str, kinds)) == ["continue", "stop"]:
            orders = orders[:1] if kinds[0] == "stop" else orders[1:]
        return [chain for stop, cont in orders for chain in ([steps[0], stop, steps[3], steps[4]], [steps[0], stop, cont])]
    raise ParseError(f"{len(steps)} outcomes for a {n}-stage chain")


def _continues_after_stop(chain: list[tuple[list[Fraction | None], str]], stage: int, names: tuple[str, str],
                          options: Sequence[str], kinds: Sequence[str | None]) -> bool:
    """Does the next stage open with the asked mover taking the stop action ('Lee sticks with her own
    treatment' ends the game, yet 'if Dr. Lee continues with her own treatment, Dr. Smith decides …')?"""
    if stage + 1 >= len(chain):
        return False
    lead = re.search(rf"\bif\s+{re.escape(names[stage % 2])}\s+([^,]+),", chain[stage + 1][1], re.I)
    own = r"\b(?:his|her|their) own\b"
    stop_option = next(o for o, k in zip(options, kinds) if k == "stop")
    if not (lead and re.search(own, lead.group(1), re.I) and re.search(own, stop_option, re.I)):
        return False
    overlap = {k: len(_stems(o, names) & _stems(lead.group(1), names)) for o, k in zip(options, kinds)}
    return overlap["stop"] > overlap["continue"]


def audit_backward_induction(problem: Problem) -> AuditResult:
    """Trees listed one terminal history per line are solved directly; prose chain stories (negotiations,
    bidding, treatment choices) are read by `read_chain_story` and solved from the asked stage on. An
    outcome the asked decision depends on without its numbers makes the item `incomplete`."""
    text = problem.question
    options = problem.choices or []
    try:
        tree = parse_tree_listing(text)
    except (ParseError, ValueError) as exc:
        return unparsed(str(exc))
    if tree is not None:
        return _audit_tree_listing(problem, tree)
    try:
        story = read_chain_story(text, options)
    except ParseError as exc:
        return unparsed(str(exc))
    names, stage = story.names, story.stage
    try:
        readings = [r for r in chain_readings(story, text) if stage < len(r) - 1]
    except ParseError as exc:
        return unparsed(str(exc))
    if not readings:
        return unparsed(f"asked about decision {stage + 1} of a {len(story.outcomes) - 1}-decision game")
    verdicts: list[tuple[list[int], set[str], str]] = []
    for chain in readings:
        needed = [pair for pair, _ in chain[stage:]]
        if any(v is None for pair in needed for v in pair):
            return incomplete(f"an outcome from stage {stage + 1} on lacks a payoff")
        kinds = option_actions(options, chain[stage][1], names)
        if sorted(map(str, kinds)) != ["continue", "stop"]:
            return unparsed(f"options read as {kinds}, expected one stop and one continue")
        if _continues_after_stop(chain, stage, names, options, kinds):
            return AuditResult("ill_posed", None, f"the story goes on to the next stage after {names[stage % 2]} stops at stage {stage + 1}")
        pairs = [(Fraction(0), Fraction(0))] * stage + [(p[0], p[1]) for p in needed]  # type: ignore[misc]
        actions = spe_actions(centipede_tree(pairs), ("continue",) * stage)
        outcome_text = "; ".join(f"({float(x):.2f}, {float(y):.2f})" for x, y in pairs[stage:])
        verdicts.append(([i for i, k in enumerate(kinds) if k in actions], actions, outcome_text))
    correct, actions, outcome_text = verdicts[0]
    if any(v[0] != correct for v in verdicts):  # the readings of the story disagree: no option is certain
        correct = sorted({i for v in verdicts for i in v[0]})
    return verdict_for(problem, options, correct, "/".join(sorted(actions)),
                       f"{names[stage % 2]} at stage {stage + 1}: SPE action(s) {sorted(actions)}; outcomes from there {outcome_text}"
                       + (f" ({len(readings)} readings of the story agree)" if len(readings) > 1 and len(correct) == 1 else ""),
                       players=list(names))


# ---------------------------------------------------------------------- rendering


BI_PAIRS = [("Alice", "Bob"), ("Sofia", "Lukas"), ("Alex", "Taylor"), ("Maria", "Kenji"), ("Priya", "Omar")]


CHAIN_STORIES = [
    ("{a} and {b} negotiate a deal over {n} rounds. In each round the player whose turn it is can accept the terms "
     "on the table, which ends the negotiation, or pass the negotiation to the other player.", "accept the terms", "pass the negotiation to {o}"),
    ("{a} and {b} share a growing pot of money over {n} turns. On each turn the player to move can take the pot, which "
     "ends the game, or leave it to grow and hand the turn to the other player.", "take the pot", "leave the pot to {o}"),
    ("{a} and {b} run a joint project with {n} decision points. At each point the player in charge can close the project "
     "and split the proceeds as agreed, or hand control to the other player and continue.", "close the project", "hand control to {o}"),
]


def _distinct_payoffs(rng: random.Random, n: int) -> list[tuple[Fraction, Fraction]]:
    xs = rng.sample(range(-10, 31), n)
    ys = rng.sample(range(-10, 31), n)
    return [(Fraction(x), Fraction(y)) for x, y in zip(xs, ys)]


def _named(names: Sequence[str], payoffs: Sequence[Fraction]) -> str:
    """Payoffs with each player's name beside their number (`[Alice 12, Bob 3]`), so a later step picks the
    mover's number by name from the line above instead of by position."""
    return "[" + ", ".join(f"{n} {fmt(v)}" for n, v in zip(names, payoffs)) + "]"


def _bi_steps_chain(tree: Decision, names: Sequence[str]) -> tuple[list[str], dict[int, str]]:
    """Backward induction on a chain game, two lines per turn from the last: the outcomes of stopping
    (copied from the question's sentence for that turn) and of continuing (copied from the line above,
    or the question's last sentence), each player's number named; then the mover's two numbers, their
    max, the scan for it (`max_scan`), the action and the value passed up:

        payoffs turn 3 (Alice): stop [Alice 19, Bob 4] continue [Alice 20, Bob 25]
        turn 3 (Alice): stop=19 continue=20 → max 20 → stop=19 no continue=20 yes → continue [Alice 20, Bob 25]

    Returns the lines and each turn's action."""
    chain: list[Decision] = []
    node: Leaf | Decision = tree
    while isinstance(node, Decision):
        chain.append(node)
        node = node.children["continue"]
    value = node.payoffs
    steps, actions = [], {}
    for k in range(len(chain) - 1, -1, -1):
        i = chain[k].player
        stop_pay = chain[k].children["stop"].payoffs
        label = f"turn {k + 1} ({names[i]})"
        steps.append(f"payoffs {label}: stop {_named(names, stop_pay)} continue {_named(names, value)}")
        compared, best = max_scan([("stop", stop_pay[i]), ("continue", value[i])])
        if best == ["stop"]:
            value = stop_pay
        actions[k + 1] = best[0]
        steps.append(f"{label}: {compared} → {actions[k + 1]} {_named(names, value)}")
    return steps, actions


TREE_LEVEL_ACTIONS = [("Up", "Down"), ("Left", "Right"), ("High", "Low"), ("Enter", "Wait"), ("Expand", "Hold"),
                      ("Invest", "Save"), ("Accept", "Reject"), ("North", "South")]


TREE_STORIES = [
    "{a} and {b} make a sequence of public moves, each seeing every earlier move.",
    "Two rival companies, led by {a} and {b}, take turns committing to strategic moves that the other observes.",
    "In a board game, {a} and {b} alternate moves with full knowledge of the moves made so far.",
]


def _tree_from_levels(rng: random.Random, levels: list[tuple[str, str]]) -> tuple[Decision, list[tuple[tuple[str, ...], tuple[Fraction, Fraction]]]]:
    n_leaves = 2 ** len(levels)
    xs, ys = rng.sample(range(-10, 31), n_leaves), rng.sample(range(-10, 31), n_leaves)
    histories = list(itertools.product(*levels))
    pays = [(Fraction(x), Fraction(y)) for x, y in zip(xs, ys)]

    def build(depth: int, prefix: tuple[str, ...]) -> Leaf | Decision:
        if depth == len(levels):
            return Leaf(pays[histories.index(prefix)])
        return Decision(depth % 2, {a: build(depth + 1, prefix + (a,)) for a in levels[depth]})

    tree = build(0, ())
    assert isinstance(tree, Decision)
    return tree, list(zip(histories, pays))


def _tree_steps(tree: Decision, names: Sequence[str]) -> list[str]:
    """Backward induction on a tree, deepest decisions first, two lines per decision node: each action's
    outcome with every player's number named (copied from the listing or from an earlier node's line),
    then the mover's numbers, their max, the scan for it (`max_scan`), the action and the outcome it
    passes up:

        payoffs node Bob after Up: Enter [Ann 3, Bob 5] Wait [Ann 9, Bob 2]
        node Bob after Up: Enter=5 Wait=2 → max 5 → Enter=5 yes Wait=2 no → Enter [Ann 3, Bob 5]

    then the path, read from the root down, one looked-up action at a time."""
    lines: list[tuple[int, list[str]]] = []
    choice: dict[tuple[str, ...], str] = {}

    def solve(node: Leaf | Decision, history: tuple[str, ...]) -> tuple[Fraction, ...]:
        if isinstance(node, Leaf):
            return node.payoffs
        values = {a: solve(c, history + (a,)) for a, c in node.children.items()}
        compared, (best,) = max_scan([(a, v[node.player]) for a, v in values.items()])  # distinct payoffs: one max
        choice[history] = best
        label = f"node {names[node.player]} " + ("at the start" if not history else "after " + ", ".join(history))
        outcomes = " ".join(f"{a} {_named(names, v)}" for a, v in values.items())
        lines.append((len(history), [f"payoffs {label}: {outcomes}", f"{label}: {compared} → {best} {_named(names, values[best])}"]))
        return values[best]

    solve(tree, ())
    steps = [line for _, pair in sorted(lines, key=lambda x: -x[0]) for line in pair]  # deepest first, stable within a depth
    path: tuple[str, ...] = ()
    while path in choice:
        path += (choice[path],)
    steps.append(f"path: {', '.join(path)}")
    return steps


def generate_tree_problem(rng: random.Random, difficulty: int) -> Problem:
    """A binary perfect-information tree of depth difficulty + 1 with distinct payoffs (a unique SPE),
    listed one terminal history per line; four candidate paths, exactly one subgame perfect."""
    depth = difficulty + 1
    levels = rng.sample(TREE_LEVEL_ACTIONS, depth)
    a, b = rng.choice(BI_PAIRS)
    names = (a, b)
    tree, leaves_ = _tree_from_levels(rng, levels)
    path = subgame_perfect_paths(tree)[0]
    moves = " ".join(
        f"{'First' if k == 0 else 'Then'} {names[k % 2]} chooses {x} or {y}." for k, (x, y) in enumerate(levels))
    listing = "\n".join(f"- {', '.join(h)}: ({fmt(p[0])}, {fmt(p[1])})" for h, p in leaves_)
    question = (f"{rng.choice(TREE_STORIES).format(a=a, b=b)} {moves} Each player maximises their own payoff. The payoffs "
                f"({a}, {b}) after each sequence of moves are:\n{listing}\n"
                "Which sequence of moves is played in the subgame-perfect equilibrium?")
    others = rng.sample([h for h, _ in leaves_ if h != path], 3)
    options, gold = place_options(rng, ", ".join(path), [", ".join(h) for h in others])
    steps = ["Backward induction, deepest decisions first:", *_tree_steps(tree, names), *option_lookup(options, gold)]
    return make_option_problem("backward_induction", question, options, gold, steps,
                               meta={"difficulty": difficulty, "depth": depth, "option_paths": [o.split(", ") for o in options],
                                     "leaves": [[list(h), str(p[0]), str(p[1])] for h, p in leaves_]}, template="tree")


def generate_backward_induction(rng: random.Random, difficulty: int = 1) -> Problem:
    """Either (40%) a binary tree of depth difficulty + 1 asking for the subgame-perfect path (four options), or
    a chain (centipede-style) game with difficulty + 2 turns asking for the action at a random turn (two
    options) or the turn at which the game ends (up to four options). Payoffs are distinct, so the
    subgame-perfect equilibrium is unique."""
    if difficulty < 1:
        raise ValueError(f"difficulty must be >= 1, got {difficulty}")
    if rng.random() < 0.4:
        return generate_tree_problem(rng, difficulty)
    turns = difficulty + 2
    a, b = rng.choice(BI_PAIRS)
    names = (a, b)
    story, stop, cont = rng.choice(CHAIN_STORIES)
    pairs = _distinct_payoffs(rng, turns + 1)
    tree = centipede_tree(pairs)
    lines = []
    for k in range(turns):
        mover = names[k % 2]
        x, y = pairs[k]
        lines.append(f"If {mover} chooses to {stop} on turn {k + 1}, {a} receives {fmt(x)} and {b} receives {fmt(y)}.")
    x, y = pairs[-1]
    lines.append(f"If {names[(turns - 1) % 2]} instead chooses to {cont.format(o=names[turns % 2])} on the last turn, "
                 f"the game ends with {a} receiving {fmt(x)} and {b} receiving {fmt(y)}.")
    intro = story.format(a=a, b=b, n=turns) + f" {a} moves first. " + " ".join(lines)
    steps, actions = _bi_steps_chain(tree, names)
    steps.insert(0, "Backward induction, last turn first:")
    path = subgame_perfect_paths(tree)[0]
    end_turn = len(path) if path[-1] == "stop" else turns + 1
    if rng.random() < 0.6:
        k = rng.randrange(turns)
        mover = names[k % 2]
        action = next(iter(spe_actions(tree, ("continue",) * k)))
        texts = {"stop": f"{mover} should {stop}", "continue": f"{mover} should {cont.format(o=names[1 - k % 2])}"}
        options, gold = place_options(rng, texts[action], [texts[x] for x in texts if x != action])
        question = f"{intro} Using backward induction, what should {mover} do on turn {k + 1}?"
        steps.append(f"asked turn {k + 1}: {actions[k + 1]} → {texts[action]}")
        steps += option_lookup(options, gold)
        meta_q = {"asked_turn": k + 1, "option_actions": [next(x for x in texts if texts[x] == o) for o in options]}
    else:
        def ending(t: int) -> str:
            return f"The game ends on turn {t}" if t <= turns else f"No one stops; the game runs through all {turns} turns"
        choices = list(range(1, turns + 2))
        others = rng.sample([t for t in choices if t != end_turn], min(3, len(choices) - 1))
        options, gold = place_options(rng, ending(end_turn), [ending(t) for t in others])
        question = f"{intro} In the subgame-perfect equilibrium, when does the game end?"
        steps.append("Play from turn 1:")
        for t in range(1, min(end_turn, turns) + 1):
            steps.append(f"forward turn {t}: {actions[t]}" + (f" → {ending(t)}" if actions[t] == "stop" else ""))
        if end_turn > turns:
            steps.append(f"end: nobody stops → {ending(end_turn)}")
        steps += option_lookup(options, gold)
        meta_q = {"asked": "end_turn", "option_turns": [choices[[ending(t) for t in choices].index(o)] for o in options]}
    return make_option_problem("backward_induction", question, options, gold, steps,
                               meta={"difficulty": difficulty, "turns": turns, "payoffs": [[str(x), str(y)] for x, y in pairs], **meta_q},
                               template="chain")


# ---------------------------------------------------------------------- registration

register(CategorySpec("backward_induction", "option", audit_backward_induction, generate_backward_induction,
                      "subgame-perfect play of chain games and trees"))
