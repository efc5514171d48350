"""Which account is the identity account: the security team's decision, and a suggestion for it.

The identity account (where people's IAM users live, and from which they assume roles elsewhere) is
not something a name can tell: discovery and imports guess environments from names, and a guess
never designates it. Until a person sets an account's environment to "identity" (the account form,
an import with an environment column, or the one-click designation), ``iam.user_outside_identity``
answers UNKNOWN and the account list and the home page ask for it, suggesting the account that holds
the most IAM users and whose principals other accounts' roles trust (:func:`suggestion`, from stored
resources).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from django.db.models import Count
from django.http import HttpRequest

from accounts.choices import AccountStatus, Environment
from accounts.models import AwsAccount
from accounts.permissions import is_security
from iam_audit.policy.model import statements
from inventory.models import Resource

PROMPT = "No identity account is designated"


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """The account that looks like the identity account, and why."""

    account: AwsAccount
    users: int  # IAM users stored for it
    trusted_by: int  # roles in other accounts whose trust names it (its root or a principal in it)


def suggestion() -> Suggestion | None:
    """The account holding the most IAM users, ties broken by how many other accounts' roles trust
    it; None when no registered account has an IAM user. Two queries plus one over stored roles."""
    counts = dict(
        Resource.objects.filter(type="iam:user", deleted_at__isnull=True)
        .values_list("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    if not counts:
        return None
    accounts = {
        a.pk: a
        for a in AwsAccount.objects.filter(pk__in=list(counts)).exclude(status=AccountStatus.NOT_IN_ORG)
    }
    if not accounts:
        return None
    by_id = {a.account_id: pk for pk, a in accounts.items()}
    trusted: Counter[int] = Counter()
    roles = Resource.objects.filter(type="iam:role", deleted_at__isnull=True).values_list(
        "account_id", "data"
    )
    for role_account, data in roles.iterator(chunk_size=2000):
        named: set[int] = set()
        doc = data.get("AssumeRolePolicyDocument") if isinstance(data, dict) else None
        for stmt in statements(doc):
            if stmt.is_allow and stmt.principal is not None:
                named |= {by_id[a] for a in stmt.principal.accounts() if a in by_id}
        for pk in named - {role_account}:
            trusted[pk] += 1
    best = max(accounts, key=lambda pk: (counts.get(pk, 0), trusted[pk], -pk))
    return Suggestion(accounts[best], counts.get(best, 0), trusted[best])


def prompt_context(request: HttpRequest) -> dict[str, Any] | None:
    """The "designate the identity account" notice: None once one is designated."""
    if AwsAccount.objects.filter(environment=Environment.IDENTITY, environment_guessed=False).exists():
        return None
    return {
        "prompt": PROMPT,
        "suggestion": suggestion(),
        # the button is the security team's; the view checks again
        "can_designate": is_security(request.user),
    }
