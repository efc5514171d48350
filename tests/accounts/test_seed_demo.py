from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import AwsAccount, Team
from accounts.permissions import can_edit_account, is_security

pytestmark = pytest.mark.django_db


def password_ok(username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    found = re.findall(r"user: (\S+)\s+password: (\S+)", output)
    return {user: password for user, password in found if not password.startswith("(")}


def test_seed_demo_creates_one_user_per_role_and_is_idempotent() -> None:
    first = run("--with-accounts")
    users = get_user_model().objects
    assert set(users.values_list("username", flat=True)) == {"admin", "security", "owner", "viewer"}
    assert users.get(username="admin").is_superuser
    assert is_security(users.get(username="security"))
    assert not is_security(users.get(username="viewer"))
    owner = users.get(username="owner")
    owned = AwsAccount.objects.filter(owner__members=owner)
    assert owned.exists() and all(can_edit_account(owner, a) for a in owned)
    assert not any(can_edit_account(owner, a) for a in AwsAccount.objects.exclude(owner__members=owner))
    assert "new passwords are shown once" in first and first.count("user: admin ") == 1
    # labelled: role, user, password and what the role may do; the owner's team and its accounts
    assert re.search(r"security team\s+user: security\s+password: \S{20,}", first)
    assert "may: reads everything and exports; changes nothing" in first
    owned_names = ", ".join(f"{a.name} ({a.account_id})" for a in owned.order_by("name"))
    assert f"team Payments owns: {owned_names}" in first

    counts = (users.count(), Team.objects.count(), AwsAccount.objects.count())
    second = run("--with-accounts")
    assert (users.count(), Team.objects.count(), AwsAccount.objects.count()) == counts
    assert "passwords unchanged" in second and "shown once" not in second and not printed_passwords(second)
    assert second.count("password: (unchanged; --reset-passwords for a new one)") == 4


def test_printed_random_passwords_work_and_reset_replaces_them() -> None:
    output = run()
    passwords = printed_passwords(output)
    assert len(set(passwords.values())) == 4 and all(len(p) >= 20 for p in passwords.values())
    assert password_ok("viewer", passwords["viewer"])
    reset = printed_passwords(run("--reset-passwords"))
    assert reset["viewer"] != passwords["viewer"]
    assert password_ok("viewer", reset["viewer"])


def test_fixed_password_option_for_scripts_and_it_must_be_long() -> None:
    run("--password", "demo-password-123")
    assert password_ok("owner", "demo-password-123")
    with pytest.raises(CommandError):
        run("--password", "short")


def test_without_accounts_option_no_accounts_are_created() -> None:
    assert "team Payments owns: none yet" in run()
    assert not AwsAccount.objects.exists()
    assert Team.objects.filter(name__in=["Platform", "Payments", "Security", "Identity"]).count() == 4
