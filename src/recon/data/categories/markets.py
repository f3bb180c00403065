"""New categories beyond the paper (its future work), generated only: cournot, stackelberg,
bertrand, bargaining, market_equilibrium, tax_incidence. Numbers are drawn so the answers are
exact; distractors are the classic mistakes (monopoly or competitive quantity, a 50/50 split, a
swapped formula) and perturbations of the answer, each checked to differ from it, drawn so that the
answer's numeric rank among the options is uniform (`recon data shortcuts` checks it)."""

from __future__ import annotations

import random
import re
from fractions import Fraction
from typing import Callable, Sequence

from recon.data.categories import AuditResult, CategorySpec, register
from recon.data.categories.common import fmt, make_option_problem, place_options, split_option_prompt, unparsed, verdict_for
from recon.data.options import option_lookup
from recon.data.problem import Problem
from recon.econ import markets

N_OPTIONS = 4

_GOODS = [
    ("cement", "tonnes"), ("bottled water", "thousand bottles"), ("steel rods", "tonnes"), ("craft beer", "kegs"),
    ("solar panels", "panels"), ("wheat flour", "tonnes"), ("bicycle tyres", "hundred tyres"), ("printer ink", "cartridges"),
    ("lithium", "tonnes"), ("broadband capacity", "units"), ("fresh salmon", "crates"), ("coffee beans", "sacks"),
    ("car batteries", "batteries"), ("olive oil", "barrels"), ("plywood", "pallets"), ("insulin pens", "boxes"),
]
_FIRMS = ["Alder", "Birch", "Cedar", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Lumen"]
_REGIONS = ["an island", "a mountain province", "a coastal city", "a border town", "a river valley", "a university town", "a mining region", "a desert state"]


def _money(x: Fraction) -> str:
    return f"${fmt(x)}"


def _places(text: str) -> int:
    """Decimal places of a rendered number (0 for an integer)."""
    match = re.search(r"\.(\d+)", text)
    return len(match.group(1)) if match else 0


def numeric_options(
    rng: random.Random, correct: Fraction, mistakes: Sequence[Fraction], render: Callable[[Fraction], str], n: int = N_OPTIONS
) -> tuple[list[str], int]:
    """The correct value and n−1 distinct positive wrong values, rendered like the correct one (same
    decimal places), shuffled with the gold at a uniform position. The rank of the correct value
    among the options is drawn uniformly too, so neither position nor numeric order carries the
    answer: the named mistakes on the needed side come first, then perturbations of the answer."""
    correct_text = render(correct)
    places = _places(correct_text)
    scale = Fraction(10) ** places

    def rounded(x: Fraction) -> Fraction:
        return Fraction(round(x * scale)) / scale

    below_wanted = rng.randrange(n)
    wanted = {"below": below_wanted, "above": n - 1 - below_wanted}
    sides: dict[str, list[Fraction]] = {"below": [], "above": []}
    pool = [rounded(m) for m in mistakes]
    rng.shuffle(pool)
    step = max(abs(correct), Fraction(1)) / 10
    for k in range(1, 60):  # perturbations of growing size, each on a random side
        pool.append(rounded(correct + rng.choice([-1, 1]) * step * k * Fraction(rng.randint(8, 12), 10)))
    for m in pool:
        side = "below" if m < correct else "above"
        if m > 0 and m != correct and len(sides[side]) < wanted[side] and m not in sides[side] and _places(render(m)) == places:
            sides[side].append(m)
    while len(sides["below"]) + len(sides["above"]) < n - 1:  # too close to 0 for enough positive values below
        top = max(sides["above"] + [correct])
        m = max(rounded(top + step * Fraction(rng.randint(5, 15), 10)), top + 1 / scale)
        while _places(render(m)) != places:  # 12.5 → 13.5, not 13: no option stands out by its length
            m += 1 / scale
        sides["above"].append(m)
    wrong = [render(m) for m in sides["below"] + sides["above"]]
    return place_options(rng, correct_text, wrong)


def _pick_firms(rng: random.Random, k: int) -> list[str]:
    return rng.sample(_FIRMS, k)


def _demand_text(a: Fraction, b: Fraction) -> str:
    return f"P = {fmt(a)} - {fmt(b)}Q" if b != 1 else f"P = {fmt(a)} - Q"


# =========================================================================== cournot
_COURNOT_TEMPLATES = [
    "{n_word} firms ({firms}) sell {good} in {region}. Market inverse demand is {demand}, where Q is total output in {unit}, and each firm has a constant marginal cost of ${c} with no fixed cost. The firms choose quantities simultaneously (Cournot competition). {ask}",
    "In {region}, the {good} market is supplied by {n_word} identical producers, {firms}, who set outputs at the same time. Inverse demand is {demand} (Q in {unit}) and every producer's marginal cost is ${c}. {ask}",
    "Consider a Cournot oligopoly of {n_lower} firms, {firms}, producing {good}. Demand: {demand}; marginal cost: ${c} per unit for each firm. {ask}",
]
_COURNOT_ASKS = {
    "quantity": "What quantity does each firm produce in the Nash equilibrium?",
    "price": "What is the equilibrium market price?",
    "profit": "What profit does each firm earn in equilibrium?",
    "total": "What is the total industry output in equilibrium?",
}
_NUMBER_WORDS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}


def generate_cournot(rng: random.Random, difficulty: int) -> Problem:
    n = min(1 + max(difficulty, 1), 6)
    b = Fraction(rng.choice([1, 1, 2, 3]))
    q = rng.randint(4, 60)
    c = Fraction(rng.randint(2, 80))
    a = c + q * (n + 1) * b
    eq = markets.cournot(a, b, [c] * n)
    mono = markets.monopoly(a, b, c)
    comp_q = markets.competitive_quantity(a, b, c)
    ask = rng.choice(list(_COURNOT_ASKS))
    qi = eq.quantities[0]
    wrong_q = [mono.total_quantity / n, comp_q / n, (a - c) / (2 * b), (a - c) / (n * b)]
    if ask == "quantity":
        correct, mistakes, render = qi, wrong_q, lambda x: f"{fmt(x)} {unit}"
    elif ask == "total":
        correct, mistakes, render = eq.total_quantity, [mono.total_quantity, comp_q, qi, (a - c) / (2 * b) * n], lambda x: f"{fmt(x)} {unit}"
    elif ask == "price":
        correct, mistakes, render = eq.price, [mono.price, c, a - b * qi, (a + c) / 2 + 1], _money
    else:
        correct, mistakes, render = eq.profits[0], [mono.profits[0] / n, qi * qi, (eq.price - c) * eq.total_quantity, Fraction(0)], _money
    good, unit = rng.choice(_GOODS)
    firms = _pick_firms(rng, n)
    template = rng.randrange(len(_COURNOT_TEMPLATES))
    question = _COURNOT_TEMPLATES[template].format(
        n_word=_NUMBER_WORDS[n], n_lower=_NUMBER_WORDS[n].lower(), firms=", ".join(firms), good=good, region=rng.choice(_REGIONS), unit=unit,
        demand=_demand_text(a, b), c=fmt(c), ask=_COURNOT_ASKS[ask],
    )
    options, gold = numeric_options(rng, correct, mistakes, render)
    steps = [
        f"Firm i maximises (P - c) q_i with P = {fmt(a)} - {fmt(b)}(q_i + Q_-i).",
        f"First-order condition: {fmt(a)} - {fmt(2 * b)} q_i - {fmt(b)} Q_-i - {fmt(c)} = 0.",
        f"By symmetry Q_-i = {n - 1} q, so q = (a - c) / ((n + 1) b) = ({fmt(a)} - {fmt(c)}) / ({n + 1} * {fmt(b)}) = {fmt(qi)}.",
        f"Total output Q = {fmt(eq.total_quantity)}, price P = {fmt(a)} - {fmt(b)} * {fmt(eq.total_quantity)} = {fmt(eq.price)}.",
        f"Each firm's profit = ({fmt(eq.price)} - {fmt(c)}) * {fmt(qi)} = {fmt(eq.profits[0])}.",
        f"So the answer is {render(correct)}.",
    ]
    return make_option_problem("cournot", question, options, gold, steps, {"firms": n, "ask": ask, "params": _params(a=a, b=b, c=c, n=n)}, template=str(template))


# =========================================================================== stackelberg
_STACKELBERG_TEMPLATES = [
    "{leader} is the established producer of {good} in {region} and commits to its output first; the entrant {follower} observes it and then chooses its own output. Inverse demand is {demand} (Q in {unit}) and both firms have marginal cost ${c}. {ask}",
    "In a Stackelberg duopoly for {good}, the leader {leader} moves first and the follower {follower} best-responds. Market demand is {demand}, and each firm's marginal cost is ${c}. {ask}",
    "Two firms sell {good}: {leader} announces its quantity before {follower} decides. With inverse demand {demand} and a common unit cost of ${c}, and both firms maximising profit, answer: {ask}",
]
_STACKELBERG_ASKS = {
    "leader": "How much does the leader produce in the subgame-perfect equilibrium?",
    "follower": "How much does the follower produce in the subgame-perfect equilibrium?",
    "price": "What is the market price in the subgame-perfect equilibrium?",
    "leader_profit": "What is the leader's equilibrium profit?",
}


def generate_stackelberg(rng: random.Random, difficulty: int) -> Problem:
    b = Fraction(rng.choice([1, 1, 2]))
    k = rng.randint(3, 30)
    c_leader = Fraction(rng.randint(2, 60))
    asymmetric = difficulty >= 2
    c_follower = c_leader + (rng.randint(1, k) if asymmetric else 0)
    a = c_leader + 12 * k * b  # keeps every answer exact
    eq = markets.stackelberg(a, b, c_leader, c_follower)
    cournot_eq = markets.cournot(a, b, [c_leader, c_follower])
    ql, qf = eq.quantities
    ask = rng.choice(list(_STACKELBERG_ASKS))
    quantity = lambda x: f"{fmt(x)} {unit}"  # noqa: E731
    if ask == "leader":
        correct, mistakes, render = ql, [cournot_eq.quantities[0], qf, (a - c_leader) / b, (a - c_leader) / (3 * b) / 2], quantity
    elif ask == "follower":
        correct, mistakes, render = qf, [cournot_eq.quantities[1], ql, (a - c_follower) / (2 * b), qf / 2], quantity
    elif ask == "price":
        correct, mistakes, render = eq.price, [cournot_eq.price, (a + c_leader) / 2, c_leader, a - b * ql], _money
    else:
        correct, mistakes, render = eq.profits[0], [cournot_eq.profits[0], eq.profits[1], (a - c_leader) ** 2 / (4 * b), ql * ql], _money
    good, unit = rng.choice(_GOODS)
    leader, follower = _pick_firms(rng, 2)
    template = rng.randrange(len(_STACKELBERG_TEMPLATES))
    cost_text = fmt(c_leader) if not asymmetric else f"{fmt(c_leader)} for {leader} and ${fmt(c_follower)} for {follower}"
    question = _STACKELBERG_TEMPLATES[template].format(
        leader=leader, follower=follower, good=good, region=rng.choice(_REGIONS), unit=unit, demand=_demand_text(a, b), c=cost_text,
        ask=_STACKELBERG_ASKS[ask],
    )
    if asymmetric:
        question = question.replace("both firms have marginal cost", "marginal costs are")
        question = question.replace("each firm's marginal cost is", "marginal costs are")
        question = question.replace("a common unit cost of", "unit costs of")
    options, gold = numeric_options(rng, correct, mistakes, render)
    steps = [
        f"Follower's best response: q_f = (a - c_f - b q_l) / (2b) = ({fmt(a)} - {fmt(c_follower)} - {fmt(b)} q_l) / {fmt(2 * b)}.",
        f"Leader maximises (a - b(q_l + q_f(q_l)) - c_l) q_l, giving q_l = (a - 2c_l + c_f) / (2b) = {fmt(ql)}.",
        f"Then q_f = {fmt(qf)}, price P = {fmt(a)} - {fmt(b)} * {fmt(ql + qf)} = {fmt(eq.price)}.",
        f"Profits: leader ({fmt(eq.price)} - {fmt(c_leader)}) * {fmt(ql)} = {fmt(eq.profits[0])}, follower {fmt(eq.profits[1])}.",
        f"So the answer is {render(correct)}.",
    ]
    return make_option_problem("stackelberg", question, options, gold, steps, {"ask": ask, "asymmetric": asymmetric, "params": _params(a=a, b=b, c_leader=c_leader, c_follower=c_follower)}, template=str(template))


# =========================================================================== bertrand
_BERTRAND_TEMPLATES = [
    "{firm1} and {firm2} sell identical {good} in {region} and compete by setting prices simultaneously. Market demand is Q = {a} - {bq}P; consumers buy from the cheaper firm and split equally on a tie{tie}. {costs} {ask}",
    "Two retailers, {firm1} and {firm2}, offer the same {good}. Buyers all go to the lower price (equal split if prices are equal{tie}). Demand is Q = {a} - {bq}P. {costs} In the Bertrand equilibrium, {ask_lower}",
    "In a homogeneous-product price war over {good}, {firm1} and {firm2} post prices at the same time. Demand: Q = {a} - {bq}P; the lowest price captures the whole market{tie}. {costs} {ask}",
]
_BERTRAND_ASKS = {"price": "What is the equilibrium market price?", "profit": "What profit does {firm1} earn in equilibrium?"}


def generate_bertrand(rng: random.Random, difficulty: int) -> Problem:
    c1 = Fraction(rng.randint(5, 60))
    asymmetric = difficulty >= 2 or rng.random() < 0.4
    c2 = c1 + rng.randint(1, 20) if asymmetric else c1
    bq = Fraction(rng.choice([1, 2, 4]))
    a = Fraction(int(c2 * bq) + rng.randint(20, 200) * int(bq))  # Q = a - bq P, so the choke price is a/bq
    inverse_a, inverse_b = a / bq, 1 / bq
    if asymmetric and c2 >= (inverse_a + c1) / 2:
        c2 = c1 + 1
    eq = markets.bertrand(inverse_a, inverse_b, [c1, c2])
    firm1, firm2 = _pick_firms(rng, 2)
    ask = rng.choice(list(_BERTRAND_ASKS)) if asymmetric else "price"  # equal costs: the profit is always 0
    mono = markets.monopoly(inverse_a, inverse_b, c1)  # firm 1 alone: its unconstrained price and profit
    mono_price = mono.price
    cournot_price = markets.cournot(inverse_a, inverse_b, [c1, c2]).price
    if ask == "price":
        correct, mistakes, render = eq.price, [mono_price, cournot_price, c1 if asymmetric else c1 + 1, (c1 + c2) / 2 + (0 if asymmetric else 2)], _money
    else:
        correct = eq.profits[0]
        mono_profit = mono.profits[0]
        mistakes = [mono_profit, mono_profit / 2, (cournot_price - c1) * (a - bq * cournot_price) / 2, (c2 - c1 + 1) * (a - bq * c2)]
        render = _money
    costs = f"Each unit costs {firm1} ${fmt(c1)} and {firm2} ${fmt(c2)} to supply." if asymmetric else f"Both have a constant marginal cost of ${fmt(c1)}."
    tie = ", except that a tie goes to the lower-cost firm" if asymmetric else ""
    template = rng.randrange(len(_BERTRAND_TEMPLATES))
    good, _ = rng.choice(_GOODS)
    ask_text = _BERTRAND_ASKS[ask].format(firm1=firm1)
    question = _BERTRAND_TEMPLATES[template].format(
        firm1=firm1, firm2=firm2, good=good, region=rng.choice(_REGIONS), a=fmt(a), bq=fmt(bq) if bq != 1 else "", tie=tie,
        costs=costs, ask=ask_text, ask_lower=ask_text[0].lower() + ask_text[1:],
    )
    options, gold = numeric_options(rng, correct, mistakes, render)
    if ask == "price" and eq.price == c2:
        # The local trace of a price question: compare the two costs, apply the rule, name the price.
        low = "equal" if c1 == c2 else f"lower cost {firm1}"
        rule = ("equal costs → price = cost" if c1 == c2 else
                f"the lower-cost firm prices at the rival's cost {fmt(c2)} (below its monopoly price)")
        steps = [f"costs: {firm1} {fmt(c1)} vs {firm2} {fmt(c2)} → {low}", f"rule: {rule} → price {render(correct)}",
                 *option_lookup(options, gold)]
        return make_option_problem("bertrand", question, options, gold, steps, {"ask": ask, "asymmetric": asymmetric, "params": _params(a=inverse_a, b=inverse_b, c1=c1, c2=c2)}, template=str(template))
    if asymmetric:
        steps = [
            f"{firm1} has the lower cost ({fmt(c1)} < {fmt(c2)}). {firm2} would lose money below {fmt(c2)}, so it cannot undercut a price of {fmt(c2)}.",
            f"{firm1}'s monopoly price would be (a/b + c1)/2 = {fmt(mono_price)}, above {fmt(c2)}, so it limit-prices at P = {fmt(eq.price)} and wins the tie.",
            f"Quantity Q = {fmt(a)} - {fmt(bq)} * {fmt(eq.price)} = {fmt(eq.total_quantity)}; {firm1}'s profit = ({fmt(eq.price)} - {fmt(c1)}) * {fmt(eq.total_quantity)} = {fmt(eq.profits[0])}.",
        ]
    else:
        steps = [
            "With identical products and equal costs, any price above marginal cost is undercut by the rival.",
            f"The unique equilibrium is P = c = {fmt(c1)}: the firms split Q = {fmt(eq.total_quantity)} and earn zero profit.",
        ]
    steps.append(f"So the answer is {render(correct)}.")
    return make_option_problem("bertrand", question, options, gold, steps, {"ask": ask, "asymmetric": asymmetric, "params": _params(a=inverse_a, b=inverse_b, c1=c1, c2=c2)}, template=str(template))


# =========================================================================== bargaining
_DELTAS = [Fraction(1, 2), Fraction(2, 3), Fraction(3, 4), Fraction(4, 5), Fraction(9, 10), Fraction(19, 20)]
_BARGAIN_TEMPLATES = [
    "{p1} and {p2} must split {what} worth ${pie}. {p1} proposes first; {p2} accepts or makes a counter-offer in the next period, and so on {horizon}. Each period of delay discounts {p1}'s payoff by a factor of {d1} and {p2}'s by {d2}. In the subgame-perfect equilibrium, how much does {p1} receive?",
    "In Rubinstein-style alternating-offers bargaining over {what} (${pie}), {p1} makes the first offer. Discount factors per round are {d1} for {p1} and {d2} for {p2}, and offers alternate {horizon}. What is {p1}'s subgame-perfect equilibrium payoff?",
    "A buyer-seller negotiation: {p1} opens with an offer on how to divide {what} worth ${pie}; if {p2} rejects, {p2} proposes next period, alternating {horizon}. Per-period discount factors: {p1} {d1}, {p2} {d2}. What share in dollars does {p1} secure in equilibrium?",
]
_BARGAIN_WHAT = ["a joint-venture profit", "a settlement fund", "a licensing fee", "the surplus from a merger", "a prize purse", "a wage increase pool"]


def generate_bargaining(rng: random.Random, difficulty: int) -> Problem:
    d1 = rng.choice(_DELTAS)
    d2 = d1 if difficulty <= 1 else rng.choice(_DELTAS)
    finite = difficulty >= 3 and rng.random() < 0.5
    rounds = rng.randint(2, 5) if finite else 0
    if finite:
        share1, _ = markets.ultimatum_split(1, rounds, d1, d2)
    else:
        share1, _ = markets.rubinstein(1, d1, d2)
    pie = share1.denominator * rng.randint(1, max(1, 2000 // share1.denominator)) * (1 if share1.denominator > 100 else rng.choice([1, 5, 10]))
    correct = share1 * pie
    swapped = (markets.ultimatum_split(1, rounds, d2, d1)[0] if finite else markets.rubinstein(1, d2, d1)[0]) * pie
    mistakes = [Fraction(pie, 2), (1 - share1) * pie, swapped, d2 * pie, (1 - d2) * pie]
    options, gold = numeric_options(rng, correct, mistakes, _money)
    p1, p2 = rng.sample(["Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jun"], 2)
    template = rng.randrange(len(_BARGAIN_TEMPLATES))
    horizon = f"for at most {rounds} rounds (if round {rounds} ends without agreement both get nothing)" if finite else "with no deadline"
    question = _BARGAIN_TEMPLATES[template].format(p1=p1, p2=p2, what=rng.choice(_BARGAIN_WHAT), pie=pie, d1=fmt(d1), d2=fmt(d2), horizon=horizon)
    if finite:
        steps = [f"Solve backwards from round {rounds}, where the proposer takes everything."]
        share = Fraction(1)
        for k in range(rounds - 1, 0, -1):
            responder_delta = d2 if k % 2 == 1 else d1
            share = 1 - responder_delta * share
            steps.append(f"Round {k}: the proposer offers the responder {fmt(responder_delta)} times their next-round share, keeping {fmt(share)} of the pie.")
    else:
        steps = [
            "Stationary subgame-perfect strategies: each proposer offers the responder exactly the discounted value of proposing next.",
            f"{p1}'s share x solves x = 1 - d2 (1 - d1 x), so x = (1 - d2) / (1 - d1 d2) = (1 - {fmt(d2)}) / (1 - {fmt(d1)} * {fmt(d2)}) = {fmt(share1)}.",
        ]
    steps += [f"{p1} receives {fmt(share1)} * ${pie} = ${fmt(correct)}, agreed immediately.", f"So the answer is {_money(correct)}."]
    return make_option_problem("bargaining", question, options, gold, steps, {"rounds": rounds or None, "params": _params(pie=pie, d1=d1, d2=d2, rounds=rounds)}, template=str(template))


# =========================================================================== market_equilibrium
def _linear(intercept: Fraction, slope: Fraction, sign: str) -> str:
    slope_text = "" if slope == 1 else fmt(slope)
    if intercept == 0:
        return f"{slope_text}P"
    if sign == "-":
        return f"{fmt(intercept)} - {slope_text}P"
    return f"{slope_text}P {'+' if intercept > 0 else '-'} {fmt(abs(intercept))}"


_MARKET_TEMPLATES = [
    "In the competitive market for {good} in {region}, demand is Qd = {demand} and supply is Qs = {supply}, with P in dollars and Q in {unit}. {shift}{ask}",
    "The {good} market in {region} is perfectly competitive. Buyers demand Qd = {demand}; sellers supply Qs = {supply}. {shift}{ask}",
    "Suppose market demand for {good} is Qd = {demand} and market supply is Qs = {supply} (Q in {unit}). {shift}{ask}",
]


def generate_market_equilibrium(rng: random.Random, difficulty: int) -> Problem:
    b, d = Fraction(rng.randint(1, 6)), Fraction(rng.randint(1, 6))
    price, quantity = Fraction(rng.randint(3, 60)), Fraction(rng.randint(20, 400))
    a, c = quantity + b * price, quantity - d * price
    shift_kind = rng.choice(["demand", "supply"]) if difficulty >= 2 else None
    shift_text = ""
    a2, c2 = a, c
    if shift_kind:
        size = (b + d) * rng.randint(1, 10)
        direction = rng.choice([1, -1])
        if shift_kind == "supply" and direction == -1:
            size = min(size, (b + d) * max(1, int(quantity / (2 * d)) // int(b + d) or 1))
        if shift_kind == "demand":
            a2 = a + direction * size
        else:
            c2 = c + direction * size
        shift_text = (
            f"Then {'demand rises' if direction > 0 else 'demand falls'} by {fmt(size)} {{unit}} at every price. " if shift_kind == "demand"
            else f"Then {'supply rises' if direction > 0 else 'supply falls'} by {fmt(size)} {{unit}} at every price. "
        )
    try:
        eq = markets.market_clearing(a2, b, c2, d)
    except ValueError:
        return generate_market_equilibrium(rng, difficulty)  # redraw at the same difficulty
    ask = rng.choice(["price", "quantity"])
    prefix = "new " if shift_kind else ""
    ask_text = f"What is the {prefix}equilibrium {'price' if ask == 'price' else 'quantity'}?"
    good, unit = rng.choice(_GOODS)
    template = rng.randrange(len(_MARKET_TEMPLATES))
    question = _MARKET_TEMPLATES[template].format(
        good=good, region=rng.choice(_REGIONS), unit=unit, demand=_linear(a, b, "-"), supply=_linear(c, d, "+"),
        shift=shift_text.format(unit=unit), ask=ask_text,
    )
    old = markets.market_clearing(a, b, c, d)
    if ask == "price":
        correct = eq.price
        mistakes = [old.price if shift_kind else (a + c) / (b + d), (a2 - c2) / abs(b - d) if b != d else eq.price + 2, a2 / b, eq.price + 1]
        render = _money
    else:
        correct = eq.quantity
        mistakes = [old.quantity if shift_kind else (a - c) / 2, a2 - b * (a2 - c2) / (b - d) if b != d else eq.quantity + b, a2 / 2, c2 + d * a2 / b]
        render = lambda x: f"{fmt(x)} {unit}"  # noqa: E731
    options, gold = numeric_options(rng, correct, mistakes, render)
    steps = []
    if shift_kind:
        steps.append(f"After the shift: Qd = {_linear(a2, b, '-')}, Qs = {_linear(c2, d, '+')}.")
    steps += [
        f"Set Qd = Qs: {fmt(a2)} - {fmt(b)}P = {fmt(c2)} + {fmt(d)}P, so P = ({fmt(a2)} - ({fmt(c2)})) / ({fmt(b)} + {fmt(d)}) = {fmt(eq.price)}.",
        f"Q = {fmt(a2)} - {fmt(b)} * {fmt(eq.price)} = {fmt(eq.quantity)}.",
        f"So the answer is {render(correct)}.",
    ]
    return make_option_problem("market_equilibrium", question, options, gold, steps, {"ask": ask, "shift": shift_kind, "params": _params(a=a2, b=b, c=c2, d=d)}, template=str(template))


# =========================================================================== tax_incidence
_TAX_TEMPLATES = [
    "Demand for {good} is Qd = {demand} and supply is Qs = {supply} (P in dollars, Q in {unit}). The government levies a tax of ${t} per unit on {payer}. {ask}",
    "A per-unit excise of ${t} is imposed on {payer} of {good} in {region}. Market demand: Qd = {demand}; market supply: Qs = {supply}. {ask}",
    "{region_cap} introduces a ${t} specific tax on {good}, collected from {payer}. With demand Qd = {demand} and supply Qs = {supply}, {ask_lower}",
]
_TAX_ASKS = {
    "buyer_price": "What price do buyers pay after the tax?",
    "seller_price": "What price do sellers keep per unit after the tax?",
    "buyer_burden": "By how much does the price paid by buyers rise (the buyers' burden per unit)?",
    "deadweight": "What is the deadweight loss of the tax?",
    "revenue": "How much tax revenue is collected?",
}


def generate_tax_incidence(rng: random.Random, difficulty: int) -> Problem:
    b, d = Fraction(rng.randint(1, 5)), Fraction(rng.randint(1, 5))
    price, quantity = Fraction(rng.randint(10, 80)), (b + d) * rng.randint(10, 60)
    a, c = quantity + b * price, quantity - d * price
    t = (b + d) * rng.randint(1, max(1, min(6, int(quantity / (b * d * 2)) or 1)))
    try:
        tax = markets.tax_incidence(a, b, c, d, t)
    except ValueError:
        return generate_tax_incidence(rng, difficulty)
    before = markets.market_clearing(a, b, c, d)
    ask = rng.choice(list(_TAX_ASKS))
    half = t / 2
    if ask == "buyer_price":
        correct, mistakes = tax.buyer_price, [before.price + t, before.price, before.price + half, before.price + tax.seller_burden]
    elif ask == "seller_price":
        correct, mistakes = tax.seller_price, [before.price - t, before.price, before.price - half, before.price - tax.buyer_burden]
    elif ask == "buyer_burden":
        correct, mistakes = tax.buyer_burden, [t, half, tax.seller_burden, Fraction(0)]
    elif ask == "deadweight":
        correct, mistakes = tax.deadweight_loss, [2 * tax.deadweight_loss, t * tax.quantity, t * (before.quantity - tax.quantity) * 2, tax.deadweight_loss + t]
    else:
        correct, mistakes = tax.revenue, [t * before.quantity, tax.revenue / 2, tax.revenue + tax.deadweight_loss, tax.buyer_burden * tax.quantity]
    payer = rng.choice(["sellers", "producers", "buyers", "consumers"]) if difficulty >= 2 else rng.choice(["sellers", "producers"])
    good, unit = rng.choice(_GOODS)
    region = rng.choice(_REGIONS)
    template = rng.randrange(len(_TAX_TEMPLATES))
    question = _TAX_TEMPLATES[template].format(
        good=good, unit=unit, demand=_linear(a, b, "-"), supply=_linear(c, d, "+"), t=fmt(t), payer=payer, region=region,
        region_cap=region[0].upper() + region[1:], ask=_TAX_ASKS[ask], ask_lower=_TAX_ASKS[ask][0].lower() + _TAX_ASKS[ask][1:],
    )
    options, gold = numeric_options(rng, correct, mistakes, _money)
    steps = [
        f"Without the tax: {fmt(a)} - {fmt(b)}P = {fmt(c)} + {fmt(d)}P gives P = {fmt(before.price)}, Q = {fmt(before.quantity)}.",
        f"The tax drives a wedge: buyers pay Pb, sellers keep Pb - {fmt(t)} (whoever remits it). {fmt(a)} - {fmt(b)}Pb = {fmt(c)} + {fmt(d)}(Pb - {fmt(t)}).",
        f"Pb = {fmt(tax.buyer_price)}, Ps = {fmt(tax.seller_price)}, Q = {fmt(tax.quantity)}.",
        f"Buyers bear d/(b+d) = {fmt(d / (b + d))} of the tax ({fmt(tax.buyer_burden)} per unit), sellers {fmt(b / (b + d))} ({fmt(tax.seller_burden)}).",
        f"Revenue = {fmt(t)} * {fmt(tax.quantity)} = {fmt(tax.revenue)}; deadweight loss = 1/2 * {fmt(t)} * ({fmt(before.quantity)} - {fmt(tax.quantity)}) = {fmt(tax.deadweight_loss)}.",
        f"So the answer is {_money(correct)}.",
    ]
    return make_option_problem("tax_incidence", question, options, gold, steps, {"ask": ask, "payer": payer, "params": _params(a=a, b=b, c=c, d=d, t=t)}, template=str(template))


# =========================================================================== re-derivation
def _params(**values: Fraction | int) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}


def solve_from_params(category: str, ask: str, params: dict[str, str]) -> Fraction:
    """The asked-for value, re-derived by the solver from the stored parameters."""
    v = {k: Fraction(x) for k, x in params.items()}
    if category == "cournot":
        eq = markets.cournot(v["a"], v["b"], [v["c"]] * int(v["n"]))
        return {"quantity": eq.quantities[0], "total": eq.total_quantity, "price": eq.price, "profit": eq.profits[0]}[ask]
    if category == "stackelberg":
        eq = markets.stackelberg(v["a"], v["b"], v["c_leader"], v["c_follower"])
        return {"leader": eq.quantities[0], "follower": eq.quantities[1], "price": eq.price, "leader_profit": eq.profits[0]}[ask]
    if category == "bertrand":
        eq = markets.bertrand(v["a"], v["b"], [v["c1"], v["c2"]])
        return {"price": eq.price, "profit": eq.profits[0]}[ask]
    if category == "bargaining":
        rounds = int(v["rounds"])
        split = markets.ultimatum_split(v["pie"], rounds, v["d1"], v["d2"]) if rounds else markets.rubinstein(v["pie"], v["d1"], v["d2"])
        return split[0]
    if category == "market_equilibrium":
        eq = markets.market_clearing(v["a"], v["b"], v["c"], v["d"])
        return {"price": eq.price, "quantity": eq.quantity}[ask]
    if category == "tax_incidence":
        tax = markets.tax_incidence(v["a"], v["b"], v["c"], v["d"], v["t"])
        return {"buyer_price": tax.buyer_price, "seller_price": tax.seller_price, "buyer_burden": tax.buyer_burden,
                "deadweight": tax.deadweight_loss, "revenue": tax.revenue}[ask]
    raise ValueError(f"no market solver for category {category!r}")


_VALUE = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+)?")


def _option_value(text: str) -> Fraction | None:
    match = _VALUE.search(text)
    return Fraction(match.group(0)) if match else None


def audit_market(problem: Problem) -> AuditResult:
    """Re-derive a generated market item from `meta["params"]` (no published items exist; their
    prose is not parsed)."""
    params, ask = problem.meta.get("params"), problem.meta.get("ask", "")
    if not params:
        return unparsed("no solver parameters in meta (only generated items are audited)")
    try:
        _, options = split_option_prompt(problem)
        value = solve_from_params(problem.category, ask, params)
    except (ValueError, KeyError) as exc:
        return unparsed(f"cannot re-derive: {exc}")
    correct = [i for i, o in enumerate(options) if _option_value(o) == value]
    return verdict_for(problem, options, correct, fmt(value), f"{problem.category} {ask or 'share'} = {fmt(value)} by the exact solver")


# =========================================================================== registry
register(CategorySpec("cournot", "option", audit_market, generate_cournot, "Cournot quantity competition, linear demand; difficulty = firms − 1."))
register(CategorySpec("stackelberg", "option", audit_market, generate_stackelberg, "Stackelberg leader-follower duopoly; difficulty ≥ 2 gives unequal costs."))
register(CategorySpec("bertrand", "option", audit_market, generate_bertrand, "Bertrand price competition with homogeneous goods; difficulty ≥ 2 gives unequal costs."))
register(CategorySpec("bargaining", "option", audit_market, generate_bargaining, "Rubinstein alternating offers; difficulty 2 unequal patience, 3 a finite horizon."))
register(CategorySpec("market_equilibrium", "option", audit_market, generate_market_equilibrium, "Linear supply and demand; difficulty ≥ 2 adds a shift."))
register(CategorySpec("tax_incidence", "option", audit_market, generate_tax_incidence, "Per-unit tax: prices, burdens, revenue, deadweight loss; difficulty ≥ 2 taxes either side."))
