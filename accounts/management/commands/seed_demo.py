"""Create the demo registry: teams, one user per role, and optionally a few sample accounts.

Idempotent: re-running creates only what is missing and leaves existing passwords alone (pass
``--reset-passwords`` for new ones). Passwords are random and printed once, unless ``--password``
fixes one for every user (tests, scripted demos).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.choices import AccountStatus, Environment
from accounts.models import AwsAccount, Team
from accounts.permissions import SECURITY_GROUP

CHANGE_REASON = "Demo seed"

TEAMS: list[tuple[str, str, str]] = [
    ("Platform", "platform@example.com", "Shared infrastructure: networking, CI, observability."),
    ("Payments", "payments@example.com", "Card processing and the ledger."),
    ("Security", "security@example.com", "The security team: audit, detection, response."),
    ("Identity", "identity@example.com", "SSO, IAM Identity Center and the identity account."),
    ("Data", "data@example.com", "Analytics and the data lake."),
]

# username, role, team memberships
USERS: list[tuple[str, str, list[str]]] = [
    ("admin", "superuser", []),
    ("security", "security", ["Security"]),
    ("owner", "owner", ["Payments"]),
    ("viewer", "viewer", []),
]

# what each role is called and may do (the README's roles table, in a line each)
ROLES: dict[str, tuple[str, str]] = {
    "superuser": ("administrator", "everything, and the Django admin"),
    "security": (
        "security team",
        "sees and changes everything: any account, import, discovery, refresh, triage, baseline settings",
    ),
    "owner": (
        "account owner",
        "edits the description, contact and notes of its team's accounts; reads the rest",
    ),
    "viewer": ("viewer", "reads everything and exports; changes nothing"),
}


def login_lines(passwords: dict[str, str]) -> list[str]:
    """One labelled line per demo login: role, user, password (or where it is), what it may do.

    The account owner's line names the team and the accounts it owns now, so a newcomer knows which
    records that login may edit.
    """
    lines = []
    for username, role, memberships in USERS:
        label, may = ROLES[role]
        password = passwords.get(username, "(unchanged; --reset-passwords for a new one)")
        lines.append(f"  {label:<14} user: {username:<9} password: {password}")
        lines.append(f"  {'':<14} may: {may}")
        for team_name in memberships:
            owned = AwsAccount.objects.filter(owner__name=team_name).order_by("name")
            names = ", ".join(f"{a.name} ({a.account_id})" for a in owned) or "none yet"
            lines.append(f"  {'':<14} team {team_name} owns: {names}")
    return lines


# account_id, name, environment, owner, OU
SAMPLE_ACCOUNTS: list[tuple[str, str, str, str, str]] = [
    ("111111111111", "management", Environment.ORG_ROOT, "Security", "Root"),
    ("222222222222", "identity", Environment.IDENTITY, "Identity", "Root/Core"),
    ("333333333333", "log-archive", Environment.OPERATIONS, "Security", "Root/Core"),
    ("444444444444", "security-tooling", Environment.SECURITY, "Security", "Root/Core"),
    ("555555555555", "payments-prod", Environment.PROD, "Payments", "Root/Workloads/Prod"),
    ("555555555556", "payments-staging", Environment.STAGING, "Payments", "Root/Workloads/NonProd"),
    ("666666666666", "platform-prod", Environment.PROD, "Platform", "Root/Workloads/Prod"),
    ("666666666667", "platform-dev", Environment.DEV, "Platform", "Root/Workloads/NonProd"),
    ("777777777777", "data-sandbox", Environment.SANDBOX, "Data", "Root/Sandbox"),
]


class Command(BaseCommand):
    help = "Create demo teams and one user per role (admin, security, owner, viewer); optionally sample accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--with-accounts", action="store_true", help="Also create a few sample accounts (no AWS needed)."
        )
        parser.add_argument(
            "--reset-passwords", action="store_true", help="Give existing demo users new passwords."
        )
        parser.add_argument(
            "--password",
            default=None,
            help="Use this password for every user created or reset (tests, scripted demos) instead of random ones.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fixed = options["password"]
        if fixed is not None and len(fixed) < 12:
            raise CommandError("--password must be at least 12 characters.")
        passwords = self.seed(reset=options["reset_passwords"], fixed=fixed)
        created_accounts = self._accounts() if options["with_accounts"] else 0

        self.stdout.write(f"Teams: {', '.join(name for name, _, _ in TEAMS)}.")
        if options["with_accounts"]:
            self.stdout.write(f"Sample accounts created: {created_accounts}.")
        if passwords:
            self.stdout.write(self.style.WARNING("Logins (new passwords are shown once; store them now):"))
        else:
            self.stdout.write(
                "Logins (users already existed; passwords unchanged, --reset-passwords for new ones):"
            )
        self.stdout.write("\n".join(login_lines(passwords)))

    @transaction.atomic
    def seed(self, *, reset: bool, fixed: str | None) -> dict[str, str]:
        """Teams and users (created where missing); returns the passwords set now, by username."""
        return self._users(self._teams(), reset=reset, fixed=fixed)

    def _teams(self) -> dict[str, Team]:
        teams = {}
        for name, email, description in TEAMS:
            team = Team.objects.filter(name__iexact=name).first()
            if team is None:
                team = Team(name=name, contact_email=email, description=description)
                team._change_reason = CHANGE_REASON  # type: ignore[attr-defined]
                team.save()
            teams[name] = team
        return teams

    def _users(self, teams: dict[str, Team], *, reset: bool, fixed: str | None) -> dict[str, str]:
        user_model = get_user_model()
        security_group, _ = Group.objects.get_or_create(name=SECURITY_GROUP)
        passwords: dict[str, str] = {}
        for username, role, memberships in USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if role == "superuser" and not (user.is_superuser and user.is_staff):
                user.is_superuser = user.is_staff = True
            if created or reset:
                password = fixed or secrets.token_urlsafe(18)
                user.set_password(password)
                passwords[username] = password
            user.save()
            if role == "security":
                user.groups.add(security_group)
            for team_name in memberships:
                teams[team_name].members.add(user)
        return passwords

    @transaction.atomic
    def _accounts(self) -> int:
        teams = {team.name: team for team in Team.objects.filter(name__in=[name for name, _, _ in TEAMS])}
        created = 0
        for account_id, name, environment, owner, ou in SAMPLE_ACCOUNTS:
            if AwsAccount.objects.filter(account_id=account_id).exists():
                continue  # keep whatever people or discovery changed since
            account = AwsAccount(
                account_id=account_id,
                name=name,
                environment=environment,
                owner=teams[owner],
                org_unit=ou,
                status=AccountStatus.ACTIVE,
                description=f"Sample {Environment(environment).label.lower()} account.",
            )
            account.full_clean()
            account._change_reason = CHANGE_REASON  # type: ignore[attr-defined]
            account.save()
            created += 1
        return created
