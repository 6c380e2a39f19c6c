"""A deliberately plain interpreter of the rule language: the oracle the compiled rules must match."""

from __future__ import annotations

import fnmatch
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from chalicelib.domain.fields import Kind
from chalicelib.domain.segments.facts import Facts
from chalicelib.domain.segments.rules import field_kind

CATALOGUE = {
    "TEA": {"cycle": 30, "upgrades": ["BIGTEA"], "options": ["POT"]},
    "BIGTEA": {"cycle": 90, "upgrades": [], "options": ["POT"]},
    "POT": {"cycle": None, "upgrades": [], "options": []},
}
RFM = {  # (recency, frequency) -> group, spelled out cell by cell
    **{(5, f): "champions" for f in (4, 5)},
    **{(r, f): "loyal" for r in (3, 4) for f in (4, 5)},
    (5, 1): "new_customers",
    **{(r, f): "potential_loyalists" for r in (4, 5) for f in (2, 3)},
    (4, 1): "potential_loyalists",
    **{(3, f): "need_attention" for f in (2, 3)},
    (3, 1): "about_to_sleep",
    **{(1, f): "cannot_lose" for f in (4, 5)},
    **{(2, f): "at_risk" for f in (3, 4, 5)},
    **{(2, f): "hibernating" for f in (1, 2)},
    **{(1, f): "lost" for f in (1, 2, 3)},
}


def evaluate(rule: dict[str, Any], facts: Facts) -> bool:
    if "all" in rule:
        return all(evaluate(r, facts) for r in rule["all"])
    if "any" in rule:
        return any(evaluate(r, facts) for r in rule["any"])
    if "not" in rule:
        return not evaluate(rule["not"], facts)
    if "viewed" in rule:
        since = facts.now - timedelta(days=rule.get("within_days", 3650))
        hits = [v for v in facts.visits if v.at >= since and fnmatch.fnmatchcase(v.path, rule["viewed"])]
        return len(hits) >= rule.get("at_least", 1)
    if "did" in rule:
        at = facts.events.get(rule["did"])
        return at is not None and at >= facts.now - timedelta(days=rule.get("within_days", 3650))
    if "score" in rule:
        return _compare(Decimal(str(facts.scores.get(rule["score"], 0.0))), rule, Kind.MONEY, facts)
    if "grade" in rule:
        grades = rule["grade"] if isinstance(rule["grade"], list) else [rule["grade"]]
        return facts.grade in grades or facts.grade[:1] in grades
    if "segment" in rule:
        return rule["segment"] in facts.segments
    bought = facts.products
    orders = max(facts.contact.get("purchase_count") or 0, 1 if bought else 0)
    if "customer" in rule:
        return {"new": orders == 0, "existing": orders >= 1, "one_time": orders == 1, "repeat": orders >= 2}[
            rule["customer"]
        ]
    if "bought" in rule:
        since = facts.now.date() - timedelta(days=rule.get("within_days", 3650))
        return any(day >= since for sku, day in bought.items() if rule["bought"] in ("*", sku))
    if "replenishment_due" in rule:
        return any(
            CATALOGUE[sku]["cycle"] is not None
            and day + timedelta(days=CATALOGUE[sku]["cycle"]) <= facts.now.date()
            for sku, day in bought.items()
            if rule["replenishment_due"] in ("*", sku)
        )
    for key, follow in (("upgrade_candidate", "upgrades"), ("option_candidate", "options")):
        if key in rule:
            return any(
                CATALOGUE[sku][follow] and not any(s in bought for s in CATALOGUE[sku][follow])
                for sku in bought
                if rule[key] in ("*", sku)
            )
    if "rfm" in rule:
        groups = rule["rfm"] if isinstance(rule["rfm"], list) else [rule["rfm"]]
        cell = (int(facts.rfm[0]), int(facts.rfm[1])) if facts.rfm else None
        return cell is not None and RFM[cell] in groups
    name = rule["field"]
    value = (
        facts.contact.get("attrs", {}).get(name[5:]) if name.startswith("attr.") else facts.contact.get(name)
    )
    return _compare(value, rule, field_kind(name), facts)


def _compare(value: Any, rule: dict[str, Any], kind: Kind, facts: Facts) -> bool:
    op = next(k for k in rule if k not in ("field", "score"))
    arg = rule[op]
    if op == "exists":
        return (value not in (None, "")) == arg
    if kind is Kind.DATE:
        day = date.fromisoformat(value[:10]) if isinstance(value, str) and len(value) >= 10 else None
        if day is None:
            return False
        if op == "within_last_days":
            return 0 <= (facts.now.date() - day).days <= arg
        if op == "more_than_days_ago":
            return (facts.now.date() - day).days > arg
        if op == "between":
            return date.fromisoformat(arg[0]) <= day <= date.fromisoformat(arg[1])
        bound = date.fromisoformat(arg)
        return {"lt": day < bound, "lte": day <= bound, "gt": day > bound, "gte": day >= bound}[op]
    if kind in (Kind.INT, Kind.MONEY):
        number = None if value is None or isinstance(value, (bool, str)) else Decimal(str(value))
        if op == "ne":
            return number is None or number != Decimal(str(arg))
        if number is None:
            return False
        if op == "between":
            return Decimal(str(arg[0])) <= number <= Decimal(str(arg[1]))
        if op == "in":
            return number in {Decimal(str(a)) for a in arg}
        bound = Decimal(str(arg))
        return {
            "eq": number == bound,
            "lt": number < bound,
            "lte": number <= bound,
            "gt": number > bound,
            "gte": number >= bound,
        }[op]
    text = value.lower() if isinstance(value, str) else None
    if op == "ne":
        return text != arg.lower()
    if text is None:
        return False
    if op == "in":
        return text in {a.lower() for a in arg}
    if op == "contains":
        return arg.lower() in text
    if op == "matches":
        return re.search(arg, text) is not None  # text is lower-cased; the compiled rule ignores case
    return text == arg.lower()
