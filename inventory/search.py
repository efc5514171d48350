"""The resource search box: what a term matches, and the one expression its index serves.

A term matches a resource when

- its **name**, or the **resource part of its ARN** (what follows ``arn:partition:service:region:account:``,
  e.g. ``role/ops/Admin``, ``instance/i-0abc``, ``function:pay``), contains the term, any case;
- its **resource id** is the term;
- the term starts with ``arn:`` and the resource's **ARN starts with it**, any case (a pasted ARN,
  or ``arn:aws:iam::123456789012:role/`` for an account's roles).

A term that is a whole account id, region or service (``123456789012``, ``eu-west-1``, ``s3``)
matches as text too, and the list offers that account's, region's or service's filter
(:func:`filters_named`): "everything in eu-west-1" is a filter's job, which an index serves, where
OR-ing a quarter of a million resources into a search took seconds at a million.

Why not "the whole ARN contains the term": on PostgreSQL "contains" is served by a trigram (GIN)
index, and every ARN begins with the same 30-odd characters of partition, service, region and
account. Their trigrams made the ARN's index the largest single cost of storing resources (45 %
of the database's CPU for new ones, ``bench/ingest``) while finding nothing the filters do not.
One trigram index covers :class:`SearchText` (migration 0008); ``bench/search`` times each kind
of term at a million resources.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan

# the ARN's head: "arn:" and four fields (partition, service, region, account), each possibly empty
ARN_HEAD_PATTERN = "^arn:[^:]*:[^:]*:[^:]*:[^:]*:"
_ARN_HEAD = re.compile(ARN_HEAD_PATTERN)
_ARN_HEAD_ANY_CASE = re.compile(ARN_HEAD_PATTERN, re.IGNORECASE)
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}|global")
#: The name under which querysets carry :class:`SearchText` (``.alias(search_text=SearchText())``).
SEARCH_ALIAS = "search_text"
#: The SQLite function :class:`SearchText` calls (registered by ``inventory.apps``).
SQLITE_FUNCTION = "skyledger_arn_resource"
#: The fewest characters a trigram index can look up: shorter terms are matched by scanning.
MIN_INDEXED = 3


def arn_resource(arn: str | None) -> str | None:
    """The part of ``arn`` after its head (``arn:partition:service:region:account:``); other text whole."""
    if arn is None:
        return None
    match = _ARN_HEAD.match(arn)
    return arn[match.end() :] if match else arn


class SearchText(Func):
    """``name || ' ' || <the resource part of arn>``: the text "contains" looks into.

    PostgreSQL: the expression of the ``inv_res_search_trgm`` index (migration 0008), so
    ``search_text__icontains`` (``UPPER(...) LIKE``) is an index lookup; the two must stay equal
    (a test reads the plan). SQLite: the same text through a registered Python function.
    """

    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(F("name"), F("arn"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        name_sql, name_params = compiler.compile(self.source_expressions[0])
        arn_sql, arn_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            rest = f"regexp_replace({arn_sql}, '{ARN_HEAD_PATTERN}', '')"
        elif connection.vendor == "sqlite":
            rest = f"{SQLITE_FUNCTION}({arn_sql})"
        else:  # no expression index elsewhere: the whole ARN (finds a little more)
            rest = arn_sql
        return f"({name_sql} || ' ' || {rest})", [*name_params, *arn_params]


@dataclasses.dataclass(frozen=True)
class FilterHint:
    """A filter a search term names: ``param=value`` in the list's query string."""

    text: str  # "region eu-west-1", "account payments-prod (123456789012)"
    param: str
    value: str


def filters_named(term: str) -> list[FilterHint]:
    """The account, region or service filter ``term`` names as a whole word (at most one)."""
    from accounts.models import AwsAccount
    from inventory.resource_types import RESOURCE_TYPES

    word = term.strip(": ").lower()
    if _ACCOUNT_ID.fullmatch(word):
        return [
            FilterHint(f"account {account.name} ({account.account_id})", "account_id", str(account.pk))
            for account in AwsAccount.objects.filter(account_id=word).only("pk", "name", "account_id")
        ]
    if _REGION.fullmatch(word):
        return [FilterHint(f"region {word}", "region", word)]
    if any(rt.service == word for rt in RESOURCE_TYPES.values()):
        return [FilterHint(f"service {word}", "service", word)]
    return []


def search_condition(term: str) -> Q | None:
    """The condition "matches ``term``" (see the module's docstring); ``None`` for a blank term.

    Use it on a queryset that has :data:`SEARCH_ALIAS` (see :func:`search`).
    """
    term = term.strip()
    if not term:
        return None
    if term[:4].lower() == "arn:":
        condition = Q(arn__istartswith=term)
        head = _ARN_HEAD_ANY_CASE.match(term)
        rest = term[head.end() :] if head else ""
        if len(rest) >= MIN_INDEXED:
            # implied by the prefix, and indexed: the ARN's resource part starts with the term's
            condition &= Q(**{f"{SEARCH_ALIAS}__icontains": rest})
        return condition
    if len(term) < MIN_INDEXED:
        # no trigram to look up: as LIKE on the indexed expression, PostgreSQL reads the whole
        # index, then the table (3 s at a million resources). The name and the ARN as they are
        # stored narrow the rows cheaply (a scan, 0.5 s); the expression (a regexp per row)
        # decides only for ARNs that contain the term.
        in_rest = GreaterThan(StrIndex(Upper(SEARCH_ALIAS), Value(term.upper())), 0)
        return Q(name__icontains=term) | (Q(arn__icontains=term) & Q(in_rest)) | Q(resource_id=term)
    return Q(**{f"{SEARCH_ALIAS}__icontains": term}) | Q(resource_id=term)


def search(queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
    """``queryset`` narrowed to the resources that match ``term`` (all of them for a blank term)."""
    condition = search_condition(term)
    if condition is None:
        return queryset
    return queryset.alias(**{SEARCH_ALIAS: SearchText()}).filter(condition)
