"""STEER's behavioural and social-choice categories: auction_risk, endowment_effect,
certainty_effect, time_inconsistency, condorcet_criterion. Each audits the published prose with
regex parsers and generates fresh items whose gold an exact solver confirms."""

from __future__ import annotations

import random
import re
from fractions import Fraction

from recon.data.categories import AuditResult, CategorySpec, register
from recon.data.categories.common import (
    audits_option_prompt,
    fmt,
    make_option_problem,
    numbers,
    place_options,
    unparsed,
    verdict_for,
)
from recon.data.options import option_lookup
from recon.data.problem import Problem
from recon.econ import auctions, decision, social_choice


# =========================================================================== auction_risk
_SEEKING = re.compile(r"risk[- ]?(?:seek|lov|tak|toler|affin|inclin|hungry|embrac)|thrill[- ]seek|gambl|appetite for risk|propensity for risk|willing to take (?:on )?(?:more |extra )?risk|tolerance for risk", re.I)
_AVERSE = re.compile(r"risk[- ]?aver|cautious|conservative|minimi[sz]e (?:uncertainty|risk)|prudent|risk[- ]?shy|dislike risk|averse to risk|avoid(?:ing)? risk", re.I)
_NEUTRAL = re.compile(r"risk[- ]?neutral", re.I)
_FORMAT_LABEL = {
    "first_price": "first-price sealed-bid",
    "dutch": "Dutch (descending-price)",
    "second_price": "second-price sealed-bid (Vickrey)",
    "english": "English (ascending-price)",
}


def risk_attitude(text: str) -> str | None:
    """averse / seeking / neutral from the question's wording; None if absent or contradictory."""
    found = {name for name, pat in (("seeking", _SEEKING), ("averse", _AVERSE), ("neutral", _NEUTRAL)) if pat.search(text)}
    return found.pop() if len(found) == 1 else None


_CRRA = re.compile(r"u\(x\)\s*=\s*x\^\{?\s*(\d+(?:[./]\d+)?)")
_LOWEST = re.compile(r"\b(?:lowest|least|smallest)\b[^.?]*revenue", re.I)
_EQUAL_REVENUE = re.compile(r"same expected revenue|revenue equivalen|all (?:\w+ )*(?:equal|the same)", re.I)


@audits_option_prompt
def audit_auction_risk(problem: Problem, body: str, options: list[str]) -> AuditResult:
    crra = _CRRA.search(body)
    risk = auctions.risk_attitude_of_rho(Fraction(crra.group(1))) if crra else risk_attitude(body)
    if risk is None:
        return unparsed("no single bidder risk attitude in the question")
    goal = "lowest" if _LOWEST.search(body) else "highest"
    formats = [auctions.canonical_format(o) for o in options]
    equal = [bool(_EQUAL_REVENUE.search(o)) for o in options]
    tiers = auctions.revenue_ranking(risk)
    if risk == "neutral":
        correct = [i for i, e in enumerate(equal) if e]
        reason = "risk-neutral bidders under IPV: revenue equivalence, all four formats tie"
    else:
        best = tiers[0] if goal == "highest" else tiers[-1]
        correct = [i for i, f in enumerate(formats) if f in best]
        reason = f"risk-{risk} bidders under IPV: {goal} revenue from {' = '.join(sorted(_FORMAT_LABEL[f] for f in best))}"
    others = [o for o, f, e in zip(options, formats, equal) if f is None and not e]
    if others:
        reason += f"; {', '.join(others)} outside the four-format ranking, counted as not {goal}"
    answer = "; ".join(f"Option {i + 1}: {options[i]}" for i in correct) or "none of the options"
    return verdict_for(problem, options, correct, answer, reason, risk=risk, goal=goal, formats=formats)


_AUCTION_NAMES = {
    "first_price": ["First-price sealed-bid auction", "Sealed-bid first-price auction"],
    "dutch": ["Dutch auction", "Descending-price (Dutch) auction"],
    "second_price": ["Second-price sealed-bid auction", "Vickrey (second-price sealed-bid) auction"],
    "english": ["English auction", "Ascending-price (English) auction"],
}
_EQUAL = "All of these formats yield the same expected revenue"
_SELLERS = [
    ("A regional utility", "a block of spectrum licences"),
    ("A museum", "a rare eighteenth-century painting"),
    ("A city council", "a downtown parking concession"),
    ("A winery", "a cask of its first vintage"),
    ("A bankruptcy trustee", "the patents of a failed start-up"),
    ("A fishing cooperative", "its daily catch of bluefin tuna"),
    ("A sports club", "naming rights to its stadium"),
    ("A farmer", "a prize-winning breeding bull"),
    ("A logistics firm", "a fleet of used delivery vans"),
    ("A government agency", "offshore wind-farm leases"),
    ("An estate executor", "a vintage sports car"),
    ("A charity gala", "a week at a lakeside cabin"),
]
_BIDDER_WORDS = {
    "averse": ["risk-averse", "cautious, risk-averse", "strictly risk-averse"],
    "seeking": ["risk-seeking", "risk-loving", "thrill-seeking, risk-loving"],
    "neutral": ["risk-neutral", "purely risk-neutral"],
}
_AUCTION_TEMPLATES = [
    "{seller} is selling {item}. The {n} bidders are {attitude} and have independent private values. Which auction format gives the seller the {goal} expected revenue?",
    "{seller} plans to auction {item} to {n} bidders whose valuations are private and independent. Knowing the bidders are {attitude}, which format should it expect to raise the {goal} revenue?",
    "Consider {n} {attitude} bidders with independent private values competing for {item} offered by {seller_lower}. In expectation, which auction format brings in the {goal} revenue?",
]
_CRRA_TEMPLATE = (
    "{seller} is selling {item} to {n} bidders with independent private values drawn uniformly from [0, 1]. "
    "Each bidder has utility u(x) = x^{rho} over money won. Which auction format gives the {goal} expected revenue?"
)


def generate_auction_risk(rng: random.Random, difficulty: int) -> Problem:
    risk = rng.choice(["averse", "seeking", "averse", "seeking", "neutral"])
    goal = rng.choice(["highest", "highest", "lowest"])
    seller, item = rng.choice(_SELLERS)
    n = rng.randint(2, 8)
    tiers = auctions.revenue_ranking(risk)
    names = {f: rng.choice(v) for f, v in _AUCTION_NAMES.items()}
    if risk == "neutral":
        correct, wrong = _EQUAL, [names[f] for f in rng.sample(auctions.FORMATS, 3)]
        why = "Under risk neutrality the revenue equivalence theorem applies: all four formats give the same expected revenue."
    else:
        good = tiers[0] if goal == "highest" else tiers[-1]
        bad = tiers[-1] if goal == "highest" else tiers[0]
        pick = rng.choice(sorted(good))
        correct = names[pick]
        wrong = [names[f] for f in sorted(bad)] + [_EQUAL]
        why = (
            "Risk-averse bidders in a pay-your-bid auction shade their bids less to lower the risk of losing, "
            "so first-price and Dutch revenue exceeds second-price and English revenue."
            if risk == "averse"
            else "Risk-seeking bidders in a pay-your-bid auction shade their bids more, gambling on a cheap win, "
            "so second-price and English revenue exceeds first-price and Dutch revenue."
        )
    options, gold = place_options(rng, correct, wrong, n_options=3 if difficulty <= 1 else 4)
    if difficulty >= 2 and risk != "neutral":
        rho = Fraction(rng.choice([1, 2, 3]), 4) if risk == "averse" else Fraction(rng.choice([3, 4, 5]), 2)
        question = _CRRA_TEMPLATE.format(seller=seller, item=item, n=n, rho=fmt(rho), goal=goal)
        fp = auctions.expected_revenue("first_price", n, rho)
        sp = auctions.expected_revenue("second_price", n, rho)
        steps = [
            f"u(x) = x^{fmt(rho)} is {'concave' if rho < 1 else 'convex'}: the bidders are risk-{risk}.",
            f"First-price/Dutch equilibrium bid: b(v) = (n-1)/(n-1+rho) v = {fmt(Fraction(n - 1) / (n - 1 + rho))} v, so expected revenue = {fmt(fp)}.",
            f"Second-price/English: bidding one's value is dominant; expected revenue = E[second-highest value] = (n-1)/(n+1) = {fmt(sp)}.",
            why,
        ]
    else:
        template = rng.randrange(len(_AUCTION_TEMPLATES))
        question = _AUCTION_TEMPLATES[template].format(
            seller=seller, seller_lower=seller[0].lower() + seller[1:], item=item, n=n,
            attitude=rng.choice(_BIDDER_WORDS[risk]), goal=goal,
        )
        steps = [
            "With independent private values, the Dutch auction is strategically equivalent to the first-price sealed-bid auction, "
            "and the English auction to the second-price auction (bidding one's value is dominant).",
            why,
        ]
    if risk != "neutral":
        steps.append(f"The {goal} expected revenue therefore comes from the {correct}; it is the only such format among the options.")
    else:
        steps.append("So no format is strictly best: the answer is that they are all equal.")
    return make_option_problem("auction_risk", question, options, gold, steps, {"risk": risk, "goal": goal}, template="crra" if difficulty >= 2 and risk != "neutral" else "verbal")


# =========================================================================== endowment_effect
_DECLINED = re.compile(r"declined|answered no|refused|rejected|turned down|said no|chose not to", re.I)
_ACCEPTED = re.compile(r"accepted|answered yes|agreed to|said yes|chose to (?:trade|swap)", re.I)
_OTHER_PARTY = re.compile(r"would (?:he|she|they|your \w+) (?:agree|accept)|do(?:es)? (?:he|she|they) (?:agree|accept)", re.I)


@audits_option_prompt
def audit_endowment_effect(problem: Problem, body: str, options: list[str]) -> AuditResult:
    intro = body.split("'", 1)[0] if "'" in body else body.split("\n", 1)[0]
    declined, accepted = bool(_DECLINED.search(intro)), bool(_ACCEPTED.search(intro))
    if declined == accepted:
        return unparsed("cannot tell whether the earlier trade was declined or accepted")
    yes = [i for i, o in enumerate(options) if o.strip().rstrip(".").casefold() == "yes"]
    no = [i for i, o in enumerate(options) if o.strip().rstrip(".").casefold() == "no"]
    if len(yes) != 1 or len(no) != 1:
        return unparsed("options are not a single Yes and a single No")
    new_situation = body.rsplit("'", 1)[-1]
    if _OTHER_PARTY.search(new_situation):
        return AuditResult("ill_posed", None, "the mirrored situation asks about the other party's choice, not yours")
    trade = decision.reference_independent_trade(kept_a_over_b=declined)
    correct = yes if trade else no
    reason = (
        "declining A-for-B reveals A over B; with the endowments swapped a reference-independent agent trades B for A"
        if declined
        else "accepting A-for-B reveals B over A; with the endowments swapped a reference-independent agent keeps B"
    )
    return verdict_for(problem, options, correct, f"Option {correct[0] + 1}: {options[correct[0]]}", reason)


_GOODS = [
    ("a coffee mug", "a box of chocolates"), ("a concert ticket", "a museum pass"), ("a board game", "a jigsaw puzzle"),
    ("a fountain pen", "a leather notebook"), ("a bottle of olive oil", "a jar of honey"), ("a scarf", "a pair of gloves"),
    ("a potted orchid", "a bonsai tree"), ("a cookbook", "a travel guide"), ("a baseball cap", "a water bottle"),
    ("a gift card for a bookstore", "a gift card for a cinema"), ("a desk lamp", "a wireless speaker"),
    ("a yoga mat", "a set of dumbbells"), ("a vinyl record", "a poster of a film"), ("a picnic basket", "a camping lantern"),
]
_OCCASIONS = [
    "At an office raffle", "At a neighbourhood street party", "During a charity quiz night", "At a conference giveaway",
    "At a family reunion lottery", "At a school fundraiser", "During a holiday gift exchange", "At a trade-fair prize draw",
]
_PARTNERS = ["a colleague", "your cousin", "a neighbour", "your roommate", "a classmate", "a friend"]
_ENDOW_INTROS = {
    True: ["Earlier, you declined the following trade.", "You previously said no in this situation:", "Last time you refused this swap:"],
    False: ["Earlier, you accepted the following trade.", "You previously said yes in this situation:", "Last time you agreed to this swap:"],
}


def generate_endowment_effect(rng: random.Random, difficulty: int) -> Problem:
    good_a, good_b = rng.sample(rng.choice(_GOODS), 2)
    occasion, partner = rng.choice(_OCCASIONS), rng.choice(_PARTNERS)
    declined = rng.random() < 0.5
    first = f"{occasion}, you receive {good_a} and {partner} receives {good_b}. They offer to swap. Do you trade?"
    second = f"{occasion}, you receive {good_b} and {partner} receives {good_a}. They offer to swap. Do you trade?"
    intro = rng.choice(_ENDOW_INTROS[declined])
    closing = rng.choice([
        "Assuming your preferences over the two items do not depend on which one you happen to own, what do you answer now?",
        "If your choice depends only on which item you like more, not on which one you were given, what do you do?",
        "A consistent decision maker without an endowment effect answers:",
    ])
    question = f"{intro}\n'{first}'\nNow the situation is mirrored:\n'{second}'\n{closing}"
    trade = decision.reference_independent_trade(kept_a_over_b=declined)
    options = ["Yes", "No"] if rng.random() < 0.5 else ["No", "Yes"]
    correct = "Yes" if trade else "No"
    steps = [
        f"Before, holding {good_a}, you {'refused' if declined else 'accepted'} {good_b}: you prefer {good_a if declined else good_b}.",
        "Reference independence: the preference between the two items does not depend on which one you own.",
        f"Now you hold {good_b} and are offered {good_a}, so you {'trade' if trade else 'keep ' + good_b}: {correct}.",
    ]
    return make_option_problem("endowment_effect", question, options, options.index(correct), steps, {"declined_before": declined}, template=intro)


# =========================================================================== certainty_effect
_REMAINING = re.compile(r"remaining probability|remaining chance", re.I)
_PERCENT_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(%|percent)?", re.I)


def _tokens(text: str) -> list[tuple[Fraction, bool]]:
    return [(Fraction(m.group(1)), bool(m.group(2))) for m in _PERCENT_NUMBER.finditer(text)]


def _probability_pair(tokens: list[tuple[Fraction, bool]], remaining: bool = False) -> tuple[int, int] | None:
    """Indices of two percentages summing to 100 (±0.02), the first one taken as the win probability;
    with `remaining` (the text says "the remaining probability"), a lone percentage pairs with itself."""
    pct = [i for i, (v, is_pct) in enumerate(tokens) if is_pct]
    for x in range(len(pct)):
        for y in range(x + 1, len(pct)):
            if abs(tokens[pct[x]][0] + tokens[pct[y]][0] - 100) <= Fraction(2, 100):
                return pct[x], pct[y]
    if len(pct) == 1 and remaining:  # "… with the remaining probability"
        return pct[0], pct[0]
    return None


def parse_lottery(text: str) -> decision.Lottery | None:
    """`x with probability p% and 0 with probability (100-p)%` → Lottery(x, p); None if not that shape."""
    tokens = _tokens(text)
    pair = _probability_pair(tokens, bool(_REMAINING.search(text)))
    if pair is None:
        return None
    payoffs = [(i, v) for i, (v, _) in enumerate(tokens) if i not in pair]
    nonzero = [(i, v) for i, v in payoffs if v != 0]
    if len(nonzero) != 1 or len(payoffs) > 2:  # the other outcome may be worded ("break even")
        return None
    idx, payoff = nonzero[0]
    prob_idx = min((j for j in pair if j > idx), default=None)
    if prob_idx is None:
        return None
    return decision.Lottery(payoff, tokens[prob_idx][0] / 100)


def parse_certainty_prior(text: str) -> tuple[Fraction, decision.Lottery] | None:
    """(certain amount, risky lottery) of the earlier choice, or None."""
    tokens = _tokens(text)
    pair = _probability_pair(tokens, bool(_REMAINING.search(text)))
    if pair is None:
        return None
    rest = [(i, v) for i, (v, _) in enumerate(tokens) if i not in pair]
    nonzero = [(i, v) for i, v in rest if v != 0]
    if len(nonzero) != 2 or len(rest) != 3:
        return None
    first_prob = min(pair)
    before = [(i, v) for i, v in nonzero if i < first_prob]
    if not before:
        return None
    risky_idx, risky_payoff = before[-1]
    certain = next(v for i, v in nonzero if i != risky_idx)
    win_prob = min((j for j in pair if j > risky_idx))
    return certain, decision.Lottery(risky_payoff, tokens[win_prob][0] / 100)


@audits_option_prompt
def audit_certainty_effect(problem: Problem, body: str, options: list[str]) -> AuditResult:
    lotteries = [parse_lottery(o) for o in options]
    if len(options) < 2 or None in lotteries:
        return unparsed("an option is not a 'x with p% and 0 with (100-p)%' lottery")
    # options dominated by another option are never chosen; EU must decide between what is left
    alive = [i for i, x in enumerate(lotteries) if not any(decision.dominates(y, x) for y in lotteries if y is not x)]
    stated = _CHOICE_PHRASE.search(body)
    chose_certain = not (stated and stated.group(1))
    prior = parse_certainty_prior(_CHOICE_PHRASE.sub("made a choice", body))
    dropped = f"; options {', '.join(str(i + 1) for i in range(len(options)) if i not in alive)} are dominated" if len(alive) < len(options) else ""
    if len(alive) == 1:
        pick, reason = alive[0], "every other option is first-order stochastically dominated"
    elif len(alive) == 2 and prior is not None:
        certain, risky = prior
        which, reason = decision.eu_consistent_choice(certain, risky, chose_certain, lotteries[alive[0]], lotteries[alive[1]], tolerance=Fraction(1, 10000))
        pick = None if which is None else alive[0] if which == "a" else alive[1]
        reason += f" (earlier choice: the {'certain amount' if chose_certain else 'risky lottery'}){dropped}"
    elif prior is None:
        return unparsed("cannot read the earlier certain-vs-risky choice")
    else:
        pick, reason = None, f"{len(alive)} undominated options"
    details = {"lotteries": [[str(x.payoff), str(x.prob)] for x in lotteries]}
    if pick is None:
        return AuditResult("ill_posed", None, f"{reason}: expected utility does not fix the choice", details)
    return verdict_for(problem, options, [pick], f"Option {pick + 1}: {options[pick]}", reason, **details)


_ASSETS = [
    "a government bond", "a savings certificate", "a fixed deposit", "a guaranteed annuity", "a treasury note",
    "an insured savings account",
]
_RISKY = [
    "a biotech start-up", "a mining venture", "a film production", "a crypto fund", "an oil exploration stake",
    "a restaurant franchise", "a solar-farm project", "a small-cap growth fund", "a venture-capital round",
]
_CE_NAMES = ["Maya", "Omar", "Lena", "Tomas", "Priya", "Jonas", "Aiko", "Carlos", "Nadia", "Felix"]
_CE_TEMPLATES = [
    "{name} was offered a choice between {safe} paying ${c} for sure and {risky} paying ${x} with probability {p}% and $0 with probability {q}%, and chose {choice}. "
    "Now {name} must choose between two new prospects. If {name} maximises expected utility, which one is chosen?",
    "Given a sure ${c} from {safe} or ${x} with a {p}% chance and $0 with a {q}% chance from {risky}, {name} picked {choice}. "
    "Which of the following prospects should {name} pick now to stay consistent with expected-utility theory?",
    "An investor, {name}, preferred {choice} when comparing {safe} (a certain ${c}) with {risky} (${x} with probability {p}% and $0 with probability {q}%). "
    "Facing the two prospects below, which choice is consistent with the independence axiom?",
]
_CHOICE_PHRASE = re.compile(r"(?:chose|picked|preferred|opted for|took) the (?:sure \$[\d.,]+|([\d.]+)% chance of \$[\d.,]+)", re.I)


def _pct(x: Fraction) -> str:
    return fmt(x * 100)


def _lottery_text(payoff: int, prob: Fraction) -> str:
    return f"${payoff} with probability {_pct(prob)}% and $0 with probability {_pct(1 - prob)}%"


def generate_certainty_effect(rng: random.Random, difficulty: int) -> Problem:
    c = rng.randrange(10, 500) * 10
    x = c + rng.randrange(5, 300) * 10
    p = Fraction(rng.randrange(50, 99), 100)
    r = Fraction(rng.choice([5, 10, 20, 25, 40, 50]), 100)
    chose_certain = rng.random() < 0.5
    safe, risky_name = rng.choice(_ASSETS), rng.choice(_RISKY)
    name = rng.choice(_CE_NAMES)
    choice = f"the sure ${c}" if chose_certain else f"the {_pct(p)}% chance of ${x}"
    template = rng.randrange(len(_CE_TEMPLATES))
    question = _CE_TEMPLATES[template].format(name=name, safe=safe, risky=risky_name, c=c, x=x, p=_pct(p), q=_pct(1 - p), choice=choice)
    safe_new = decision.Lottery(Fraction(c), r)
    risky_new = decision.Lottery(Fraction(x), r * p)
    text_safe = _lottery_text(c, r)
    text_risky = _lottery_text(x, r * p)
    pick, _ = decision.eu_consistent_choice(Fraction(c), decision.Lottery(Fraction(x), p), chose_certain, safe_new, risky_new)
    correct, wrong = (text_safe, [text_risky]) if pick == "a" else (text_risky, [text_safe])
    if difficulty >= 2:  # a prospect dominated by the safe or by the risky one (either may be the answer)
        wrong.append(_lottery_text(c, r / 2) if rng.random() < 0.5 else _lottery_text(x, r * p / 2))
    options, gold = place_options(rng, correct, wrong)
    steps = [
        f"Earlier: sure ${c} versus ${x} with probability {_pct(p)}%. Choosing {choice} means "
        + (f"u({c}) >= {_pct(p)}% * u({x})." if chose_certain else f"{_pct(p)}% * u({x}) > u({c})."),
        f"The new prospects scale both winning probabilities by the common ratio r = {_pct(r)}%: "
        f"${c} with {_pct(r)}% and ${x} with {_pct(r)}% * {_pct(p)}% = {_pct(r * p)}%.",
        "Multiplying both sides of the earlier inequality by r keeps it (independence axiom), so the same ranking holds.",
        f"Expected utility therefore picks: {correct}.",
    ]
    return make_option_problem("certainty_effect", question, options, gold, steps, {"chose_certain": chose_certain, "ratio": str(r)}, template=str(template))


# =========================================================================== time_inconsistency
_CHOSE = re.compile(r"(?:chose|chosen|choice to receive|opted for|picked|selected|decided on|preferred|prefers|takes)\D{0,30}?\$?\s*(\d+(?:\.\d+)?)", re.I)
_GAP_WORDS = {"tomorrow": 1, "next week": 7, "in a week": 7, "next month": 30, "in a month": 30}


def _option_amount_delay(text: str) -> tuple[Fraction, int] | None:
    nums = numbers(text)
    if len(nums) == 2 and re.search(r"day", text, re.I):
        return nums[0], int(nums[1])
    if len(nums) == 1 and re.search(r"\btoday\b|\bnow\b", text, re.I):
        return nums[0], 0
    return None


@audits_option_prompt
def audit_time_inconsistency(problem: Problem, body: str, options: list[str]) -> AuditResult:
    parsed = [_option_amount_delay(o) for o in options]
    if len(options) != 2 or None in parsed:
        return unparsed("options are not two 'amount, delay in days' payments")
    (amt1, d1), (amt2, d2) = parsed
    if amt1 == amt2 or d1 == d2:
        return AuditResult("ill_posed", None, "the two payments do not trade a larger amount against a longer delay")
    sooner, later = sorted([(d1, amt1, 0), (d2, amt2, 1)])
    if not later[1] > sooner[1]:
        return AuditResult("ill_posed", None, "the later payment is not larger: waiting is dominated")
    chose = _CHOSE.search(body)
    gap_word = next((g for w, g in _GAP_WORDS.items() if w in body.lower()), None)
    if chose is None or gap_word is None:
        return unparsed("cannot read the earlier choice or its delay")
    chosen_amount = Fraction(chose.group(1))
    if chosen_amount not in (sooner[1], later[1]):
        return unparsed(f"the earlier choice names {chosen_amount}, not one of the two amounts")
    if later[0] - sooner[0] != gap_word:
        return AuditResult("ill_posed", None, f"the new delay gap {later[0] - sooner[0]} differs from the earlier gap {gap_word}")
    earlier = "sooner" if chosen_amount == sooner[1] else "later"
    pick = decision.time_consistent_choice(earlier)
    idx = sooner[2] if pick == "sooner" else later[2]
    reason = f"exponential discounting is stationary: shifting both payments by {sooner[0]} days keeps the earlier choice ({earlier})"
    return verdict_for(problem, options, [idx], f"Option {idx + 1}: {options[idx]}", reason)


_GAPS = [(1, "tomorrow", "a day"), (7, "in a week", "a week"), (30, "in a month", "a month")]
_TI_TEMPLATES = [
    "When asked whether you would rather receive ${a} today or ${b} {gap_phrase}, you chose ${chosen} {chosen_when}. "
    "Assuming you discount the future exponentially, would you rather receive ${a} in {t} days or ${b} in {t2} days?",
    "A saver prefers ${chosen} {chosen_when} when offered ${a} today versus ${b} {gap_phrase}. With a constant per-day discount rate, "
    "which does the saver prefer: ${a} paid {t} days from now or ${b} paid {t2} days from now?",
    "Offered ${a} now or ${b} {gap_phrase}, {name} takes ${chosen} {chosen_when}. If {name}'s time preferences are consistent "
    "(exponential discounting), what does {name} choose between ${a} in {t} days and ${b} in {t2} days?",
]


def generate_time_inconsistency(rng: random.Random, difficulty: int) -> Problem:
    a = rng.randrange(20, 2000)
    b = a + rng.randrange(1, max(2, a // 5))
    gap, gap_phrase, gap_noun = rng.choice(_GAPS[: 1 + min(difficulty, 2)])
    t = rng.randrange(2, 400)
    earlier = rng.choice(["sooner", "later"])
    chosen, chosen_when = (a, "today") if earlier == "sooner" else (b, gap_phrase)
    template = rng.randrange(len(_TI_TEMPLATES))
    question = _TI_TEMPLATES[template].format(
        a=a, b=b, gap_phrase=gap_phrase, chosen=chosen, chosen_when=chosen_when, t=t, t2=t + gap, name=rng.choice(_CE_NAMES)
    )
    sooner_text, later_text = f"${a} in {t} days", f"${b} in {t + gap} days"
    pick = decision.time_consistent_choice(earlier)
    correct = sooner_text if pick == "sooner" else later_text
    options, gold = place_options(rng, correct, [later_text if pick == "sooner" else sooner_text])
    # The local trace: which of the earlier pair was chosen (a copy), that the new pair keeps the same gap
    # (a copy of two delays), the rule, the payment it names, and the option line the box copies.
    steps = [
        f"earlier: ${a} today or ${b} {gap_phrase} → chose ${chosen} → {earlier}",
        f"now: ${a} in {t} days or ${b} in {t + gap} days → same gap as before",
        f"rule: exponential discounting keeps the choice → {pick} → {correct}",
        *option_lookup(options, gold),
    ]
    return make_option_problem("time_inconsistency", question, options, gold, steps, {"earlier_choice": earlier}, template=str(template))


# =========================================================================== condorcet_criterion
_BALLOT = re.compile(r"(\d+)\s+(?:voters?|members?|people|judges?|residents?|shareholders?)\s+(?:voted for|vote for|prefer(?:red)?|ranked|chose)\s+([A-Z](?:\s*>\s*[A-Z])*)\b")
_NO_WINNER = re.compile(r"no condorcet winner|no option beats|\btie\b|\bno (?:clear )?winner|none of|cannot be determined|no candidate", re.I)


def parse_ballots(text: str) -> list[tuple[int, tuple[str, ...]]]:
    return [(int(n), tuple(x.strip() for x in ranking.split(">"))) for n, ranking in _BALLOT.findall(text)]


def _option_candidate(text: str, candidates: set[str]) -> str | None:
    hits = {t for t in re.findall(r"\b([A-Z])\b", text) if t in candidates}
    return hits.pop() if len(hits) == 1 else None


def _named_candidates(body: str) -> set[str]:
    """Single-letter names listed in the introduction (`… are K, R, U, and B`), so a candidate nobody
    ranked is still recognised; an article `A` starting a sentence is not a name."""
    intro = body.split("\n", 1)[0]
    return {m.group(1) for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Z])\b(?=\s*(?:,|and\b|\.|:|$|have\b|are\b|were\b))", intro)}


@audits_option_prompt
def audit_condorcet_criterion(problem: Problem, body: str, options: list[str]) -> AuditResult:
    ballots = parse_ballots(body)
    if not ballots:
        return unparsed("no 'N voters voted for X > Y > Z' lines")
    candidates = sorted({c for _, r in ballots for c in r})
    mapped = []
    for o in options:
        cand = _option_candidate(o, set(candidates) | _named_candidates(body))
        mapped.append(cand if cand else ("none" if _NO_WINNER.search(o) else None))
    if None in mapped:
        return unparsed(f"cannot map option {mapped.index(None) + 1} to a candidate or 'no winner'")
    candidates = sorted(set(candidates) | {m for m in mapped if m != "none"})
    winner = social_choice.condorcet_winner(ballots, candidates)
    partial = [r for _, r in ballots if set(r) != set(candidates)]
    if partial:  # a ballot silent on a candidate: does the winner depend on how that silence counts?
        both_ranked = {(a, b): sum(n for n, r in ballots if a in r and b in r and r.index(a) < r.index(b))
                       for a in candidates for b in candidates if a != b}
        strict = next((a for a in candidates if all(both_ranked[(a, b)] > both_ranked[(b, a)] for b in candidates if b != a)), None)
        if strict != winner:
            return AuditResult("incomplete", None, f"ballots such as {' > '.join(partial[0])} leave candidates unranked: the winner is "
                               f"{winner or 'none'} with unranked candidates last, {strict or 'none'} counting only ranked pairs")
    support = social_choice.pairwise_support(ballots, candidates)
    correct = [i for i, m in enumerate(mapped) if m == (winner or "none")]
    if winner:
        reason = f"{winner} beats every rival pairwise (" + ", ".join(f"{winner}-{o} {support[(winner, o)]}:{support[(o, winner)]}" for o in candidates if o != winner) + "); unranked candidates tie last"
    else:
        cycle = social_choice.majority_cycle(ballots, candidates)
        reason = "no candidate beats all others pairwise" + (f" (cycle {' > '.join(cycle + cycle[:1])})" if cycle else "") + "; unranked candidates tie last"
    answer = "; ".join(f"Option {i + 1}: {options[i]}" for i in correct) or (winner or "no Condorcet winner") + " (not among the options)"
    return verdict_for(problem, options, correct, answer, reason, winner=winner)


_ELECTIONS = [
    ("a book club choosing its next novel", "Novel {c}"),
    ("a city council choosing a park design", "Design {c}"),
    ("a student union electing a president", "Candidate {c}"),
    ("a hiking group picking a destination", "Trail {c}"),
    ("a board selecting a new logo", "Logo {c}"),
    ("a band choosing its tour opener", "Song {c}"),
    ("a research team choosing a project", "Project {c}"),
    ("a co-op deciding which supplier to hire", "Supplier {c}"),
    ("a village picking a festival theme", "Theme {c}"),
    ("a committee ranking grant proposals", "Proposal {c}"),
]
_CONDORCET_TEMPLATES = [
    "In {election}, the options are {names}. The members ranked them as follows:\n{ballots}\nWhich option is the Condorcet winner?",
    "Voters in {election} submitted ranked ballots over {names}:\n{ballots}\nUsing pairwise majority comparisons, which option (if any) beats every other?",
    "{Election} uses the Condorcet criterion to decide among {names}. The ballots were:\n{ballots}\nWhat is the outcome?",
]
_NO_WINNER_TEXTS = ["There is no Condorcet winner", "No option beats every other one pairwise"]


def _ranked_pairs_winner(ballots: list[tuple[int, tuple[str, ...]]], candidates: list[str]) -> str | None:
    """The Condorcet winner when a ballot counts only for pairs it ranks both of."""
    support = {(a, b): sum(n for n, r in ballots if a in r and b in r and r.index(a) < r.index(b)) for a in candidates for b in candidates}
    return next((a for a in candidates if all(support[(a, b)] > support[(b, a)] for b in candidates if b != a)), None)


def generate_condorcet_criterion(rng: random.Random, difficulty: int) -> Problem:
    m = min(3 + max(difficulty, 1) - 1, 6)
    candidates = rng.sample("ABCDEFGHJKLMNPRSTUVWXYZ", m)
    partial = difficulty >= 2
    while True:  # partial ballots: only profiles whose winner does not depend on how unranked options count
        ballots = []
        for _ in range(rng.randint(3, 3 + m)):
            ranking = rng.sample(candidates, m)
            if partial and rng.random() < 0.5:
                ranking = ranking[: rng.randint(1, m - 1)]
            ballots.append((rng.randint(2, 60), tuple(ranking)))
        if not partial or social_choice.condorcet_winner(ballots, candidates) == _ranked_pairs_winner(ballots, candidates):
            break
    election, label = rng.choice(_ELECTIONS)
    names = [label.format(c=c) for c in candidates]
    ballot_text = "\n".join(f"- {n} voters ranked {' > '.join(r)}" for n, r in ballots)
    if partial:
        ballot_text += "\n(Ballots list only the options a voter ranked; unranked options count as tied below all ranked ones.)"
    template = rng.randrange(len(_CONDORCET_TEMPLATES))
    question = _CONDORCET_TEMPLATES[template].format(
        election=election, Election=election[0].upper() + election[1:], names=", ".join(names[:-1]) + " and " + names[-1], ballots=ballot_text
    )
    winner = social_choice.condorcet_winner(ballots, candidates)
    support = social_choice.pairwise_support(ballots, candidates)
    none_text = rng.choice(_NO_WINNER_TEXTS)
    correct = label.format(c=winner) if winner else none_text
    distractors = [n for n in names if n != correct] + ([none_text] if winner else [])
    options, gold = place_options(rng, correct, distractors)
    steps = [f"Pairwise majorities ({'unranked options tie last' if partial else 'full rankings'}):"]
    for i, x in enumerate(candidates):
        for y in candidates[i + 1 :]:
            sx, sy = support[(x, y)], support[(y, x)]
            steps.append(f"{x} vs {y}: {sx} to {sy} -> {x if sx > sy else y if sy > sx else 'tie'}")
    if winner:
        steps.append(f"{winner} wins every pairwise contest, so {correct} is the Condorcet winner.")
    else:
        cycle = social_choice.majority_cycle(ballots, candidates)
        steps.append("No option wins all its pairwise contests" + (f" (majority cycle {' > '.join(cycle + cycle[:1])})." if cycle else "."))
    return make_option_problem("condorcet_criterion", question, options, gold, steps, {"winner": winner, "candidates": m}, template=str(template))


# =========================================================================== registry
register(CategorySpec("auction_risk", "option", audit_auction_risk, generate_auction_risk,
                      "Revenue ranking of first-price/Dutch/second-price/English auctions by risk attitude (IPV)."))
register(CategorySpec("endowment_effect", "option", audit_endowment_effect, generate_endowment_effect,
                      "Reference independence: a declined trade reverses when the endowments are swapped."))
register(CategorySpec("certainty_effect", "option", audit_certainty_effect, generate_certainty_effect,
                      "Expected-utility consistency under a common-ratio scaling (difficulty ≥ 2 adds a dominated option)."))
register(CategorySpec("time_inconsistency", "option", audit_time_inconsistency, generate_time_inconsistency,
                      "Exponential discounting is stationary (difficulty widens the delay gap: day, week, month)."))
register(CategorySpec("condorcet_criterion", "option", audit_condorcet_criterion, generate_condorcet_criterion,
                      "Pairwise-majority (Condorcet) winner; difficulty = candidates − 2, partial ballots from 2."))
