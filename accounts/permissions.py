"""Who may do what. Every view calls these on the server; templates only use them to hide buttons.

Roles (DESIGN.md): the security team (members of the ``security`` group, and superusers) may do
everything; an account owner (member of the team that owns an account) edits that account's
records; everyone else who is logged in is a viewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.mixins import UserPassesTestMixin
from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from accounts.models import AwsAccount

SECURITY_GROUP = "security"


def is_security(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_skyledger_is_security", None)
    if cached is None:
        cached = user.groups.filter(name=SECURITY_GROUP).exists()
        user._skyledger_is_security = cached  # type: ignore[attr-defined]
    return cached


def owned_team_ids(user: User | AnonymousUser) -> set[int]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_skyledger_team_ids", None)
    if cached is None:
        cached = set(user.teams.values_list("id", flat=True))
        user._skyledger_team_ids = cached  # type: ignore[attr-defined]
    return cached


def can_edit_account(user: User | AnonymousUser, account: AwsAccount) -> bool:
    """Security team: any account. Owner: accounts of their teams."""
    if is_security(user):
        return True
    return account.owner_id is not None and account.owner_id in owned_team_ids(user)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("You do not have permission to do that.")


class SecurityTeamRequiredMixin(UserPassesTestMixin):
    """Class-based views that only the security team may use (403 for others)."""

    raise_exception = True

    def test_func(self) -> bool:
        return is_security(self.request.user)  # type: ignore[attr-defined]
