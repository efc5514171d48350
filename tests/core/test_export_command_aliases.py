"""The export commands read as verbs; their old names stay for one release as deprecated aliases."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command, load_command_class
from django.utils import timezone

from inventory.models import Resource
from tests.factories import AwsAccountFactory

ALIASES = {
    "findings": ("iam_audit", "export_findings"),
    "access_paths": ("iam_audit", "export_access_paths"),
    "exposure": ("inventory", "export_exposure"),
    "inventory": ("inventory", "export_inventory"),
}


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("old", sorted(ALIASES))
def test_the_old_name_is_the_new_command(old: str) -> None:
    app, new = ALIASES[old]
    alias = load_command_class(app, old)
    assert isinstance(alias, type(load_command_class(app, new)))
    assert "Deprecated" in alias.help


@pytest.mark.django_db
@pytest.mark.parametrize("old", sorted(ALIASES))
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_alias_writes_the_same_and_warns_on_stderr(old: str, fmt: str) -> None:
    account = AwsAccountFactory()
    now = timezone.now()
    Resource.objects.create(
        account=account,
        region="eu-west-1",
        service="s3",
        type="s3:bucket",
        arn="arn:aws:s3:::=cmd|bucket",
        resource_id="=cmd|bucket",
        name="=cmd|bucket",
        first_seen=now,
        last_seen=now,
    )
    new = ALIASES[old][1]
    new_out, new_err = run(new, "--format", fmt)
    old_out, old_err = run(old, "--format", fmt)
    assert old_out == new_out
    assert new_err == ""
    assert f"manage.py {old} is deprecated" in old_err
    assert f"use manage.py {new}" in old_err
