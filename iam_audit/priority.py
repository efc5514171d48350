"""The priority score of a finding, and how it was made. Pure: no Django.

score = severity weight × environment factor + exposure bonus + age bonus, rounded. The terms are
kept so the finding page can say exactly how its score was made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

SEVERITY_WEIGHT = {"critical": 100, "high": 70, "medium": 40, "low": 15, "informational": 5}

# prod and the accounts that hold the keys to everything weigh most; sandbox least.
ENVIRONMENT_FACTOR = {
    "prod": 1.5,
    "org-root": 1.5,
    "identity": 1.4,
    "security": 1.2,
    "operations": 1.2,
    "staging": 1.0,
    "other": 1.0,
    "dev": 0.8,
    "sandbox": 0.5,
}

EXPOSURE_BONUS = {"internet": 30, "public": 30, "external": 20}
# An open security group that protects nothing reachable from the internet matters less.
UNREACHABLE_FACTOR = 0.6
AGE_POINTS_PER_WEEK = 1
AGE_POINTS_MAX = 10


@dataclasses.dataclass(frozen=True)
class Term:
    label: str
    value: float
    op: str  # "base", "×", "+"

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "value": self.value, "op": self.op}


def score(
    severity: str,
    environment: str,
    exposure: str = "",
    first_seen: dt.datetime | None = None,
    now: dt.datetime | None = None,
    reachable: bool | None = None,
) -> tuple[int, list[dict[str, object]]]:
    """Return (priority, explanation terms).

    ``reachable`` is False when exposure analysis says the subject (e.g. an open security group)
    protects nothing actually reachable from the internet; None when not known/applicable.
    """
    terms: list[Term] = []
    base = SEVERITY_WEIGHT.get(severity, 5)
    terms.append(Term(f"severity {severity}", base, "base"))
    factor = ENVIRONMENT_FACTOR.get(environment, 1.0)
    terms.append(Term(f"environment {environment}", factor, "×"))
    total = base * factor
    if reachable is False:
        terms.append(Term("protects nothing reachable from the internet", UNREACHABLE_FACTOR, "×"))
        total *= UNREACHABLE_FACTOR
    bonus = EXPOSURE_BONUS.get(exposure, 0)
    if bonus and reachable is not False:
        terms.append(Term(f"exposure {exposure}", bonus, "+"))
        total += bonus
    if first_seen is not None:
        now = now or dt.datetime.now(dt.UTC)
        weeks = max(0, (now - first_seen).days // 7)
        age = min(AGE_POINTS_MAX, weeks * AGE_POINTS_PER_WEEK)
        if age:
            terms.append(Term(f"open for {weeks} week(s)", age, "+"))
            total += age
    return round(total), [t.as_dict() for t in terms]


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def explain(terms: object, total: int | None = None) -> str:
    """The score as a sentence: ``severity high 70 × environment prod 1.5 + exposure internet 30 = 135``.

    ``terms`` is what :func:`score` returned (as stored in a finding's JSON); anything malformed in
    it is skipped rather than trusted.
    """
    parts: list[str] = []
    for term in terms if isinstance(terms, list) else []:
        if not isinstance(term, dict) or not isinstance(term.get("value"), int | float):
            continue
        label, value, op = str(term.get("label", "")), term["value"], str(term.get("op", "+"))
        text = f"{label} {_number(value)}".strip()
        parts.append(text if not parts or op == "base" else f"{op} {text}")
    sentence = " ".join(parts)
    if total is not None:
        sentence = f"{sentence} = {total}" if sentence else str(total)
    return sentence
