"""No form POST makes a server error: hostile values in each field give the form's error (a 4xx, a
page with the error, or a redirect with a message), never a 500.

Every URL pattern that takes a POST is found by sending it an empty POST (the ones that delete or
log out are named instead); each must be one of the forms below or of the actions that read nothing.
A form's fields and a valid starting point come from the form its GET page shows (the account's
current values, for the edit pages), then each field in turn gets the hostile values.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.test import Client
from django.urls import resolve, reverse

from accounts.forms import ImportConfirmForm
from iam_audit.forms import TriageForm
from tests.fuzz.harness import CORE_VALUES, DATE_VALUES, INT_VALUES, STR_VALUES, Prober, report, walk
from tests.fuzz.seed import Estate

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

#: URL name -> the roles that may post it (the others get 403, also checked).
FORMS: dict[str, tuple[str, ...]] = {
    "accounts:account_create": ("security",),
    "accounts:account_edit": ("security", "owner"),
    "accounts:team_create": ("security",),
    "accounts:team_edit": ("security",),
    "accounts:import_confirm": ("security",),
    "iam_audit:finding_triage": ("security",),
    "iam_audit:baseline_settings": ("security",),
    "inventory:refresh_all": ("security",),
    "inventory:refresh_account": ("security",),
    "login": ("anonymous",),
}
#: Forms without a GET page of their own.
FORM_CLASSES: dict[str, type[forms.BaseForm]] = {
    "iam_audit:finding_triage": TriageForm,
    "accounts:import_confirm": ImportConfirmForm,
}
#: POST actions that read no field (or only a file: the upload has its own test below).
NO_FIELDS = {
    "accounts:designate_identity",
    "accounts:import_cancel",
    "accounts:import_upload",
    "inventory:discover_accounts",  # calls AWS: not sent here (tests/inventory/discovery)
    "inventory:check_account_access",  # calls AWS: not sent here
}
#: Not sent an empty POST while looking for POST endpoints: they delete or log out.
DESTRUCTIVE = {"accounts:account_delete", "accounts:team_delete", "logout"}

MULTI_VALUES: tuple[list[str], ...] = (["1", str(2**63)], ["-1", "\x00"], ["x"] * 50)


def post_urls(estate: Estate) -> dict[str, str]:
    args = estate.path_args()
    urls = {}
    for route in walk():
        if not route.name or route.name.startswith("admin:"):
            continue
        urls[route.name] = reverse(route.name, kwargs=args.get(route.name))
    return urls


def as_post(value: Any) -> Any:
    """A form's current value as a browser would post it (None when a browser sends nothing)."""
    if isinstance(value, bool):
        return "on" if value else None
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, list | tuple):
        return [str(as_post(v)) for v in value if as_post(v) is not None]
    return None if value is None else str(value)


def starting_data(form: forms.BaseForm) -> dict[str, Any]:
    data = {}
    for name in form.fields:
        value = as_post(form[name].value())
        if value is not None:
            data[form.add_prefix(name)] = value
    return data


def hostile(field: forms.Field) -> Iterator[Any]:
    yield from CORE_VALUES
    if isinstance(field, forms.IntegerField | forms.ModelChoiceField | forms.FloatField):
        yield from INT_VALUES[:5]
    elif isinstance(field, forms.DateField | forms.DateTimeField):
        yield from DATE_VALUES
    else:
        yield from STR_VALUES[:3]
    if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        yield from MULTI_VALUES


def clients(security_user: Any, owner_user: Any, viewer_user: Any) -> dict[str, Client]:
    out = {}
    for role, user in (("security", security_user), ("owner", owner_user), ("viewer", viewer_user)):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        out[role] = client
    out["anonymous"] = Client(raise_request_exception=False)
    return out


def form_and_data(
    name: str, url: str, client: Client, estate: Estate
) -> tuple[forms.BaseForm, dict[str, Any]]:
    if name in FORM_CLASSES:
        form = FORM_CLASSES[name]()
        data = starting_data(form)
        if name == "iam_audit:finding_triage":
            data.update(action="suppress", ids=[str(estate.finding.pk)], reason="accepted_risk")
            data["justification"] = "fuzz"
        return form, data
    if name.startswith("inventory:refresh"):
        return _NextForm(), {"next": "/"}
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    form = response.context["form"]
    return form, starting_data(form)


class _NextForm(forms.Form):
    """What the refresh buttons post: the page to come back to."""

    next = forms.CharField(required=False)


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refresh buttons find no task broker: nothing is sent anywhere, the page says so."""
    monkeypatch.setattr("inventory.services.refresh.broker_reachable", lambda *a, **k: False)


POST_FORM = re.compile(r"<form\b[^>]*>", re.IGNORECASE)
ACTION = re.compile(r"""\baction=["']([^"']*)["']""", re.IGNORECASE)


def test_every_post_endpoint_is_fuzzed(
    estate: Estate, security_user: Any, owner_user: Any, viewer_user: Any, no_broker: None
) -> None:
    """The POST endpoints: the patterns whose GET is refused (405), and every URL a page's POST form
    sends to (its ``action``, or the page itself): each is fuzzed below or reads no field."""
    client = clients(security_user, owner_user, viewer_user)["security"]
    urls = post_urls(estate)
    takes_post = set()
    for name, url in urls.items():
        if name in DESTRUCTIVE:
            continue
        response = client.get(url)
        if response.status_code == 405:
            takes_post.add(name)
            continue
        if response.status_code != 200 or getattr(response, "streaming", False):
            continue
        for tag in POST_FORM.findall(response.content.decode()):
            if 'method="post"' not in tag.lower():
                continue
            action = ACTION.search(tag)
            target = html.unescape(action.group(1)) if action and action.group(1) else url
            match = resolve(urlsplit(target).path)
            takes_post.add(match.view_name)
    assert "accounts:account_edit" in takes_post and "iam_audit:finding_triage" in takes_post
    unknown = takes_post - set(FORMS) - NO_FIELDS - DESTRUCTIVE
    assert not unknown, f"POST endpoints the fuzz test does not know: {sorted(unknown)}"
    assert DESTRUCTIVE | NO_FIELDS | set(FORMS) <= set(urls)


def test_no_form_value_makes_a_server_error(
    estate: Estate,
    security_user: Any,
    owner_user: Any,
    viewer_user: Any,
    no_broker: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.getLogger("django.request"), "disabled", True)
    by_role = clients(security_user, owner_user, viewer_user)
    urls = post_urls(estate)
    failures = []
    for name, roles in FORMS.items():
        url = urls[name]
        for role in roles:
            prober = Prober(by_role[role], role)
            try:
                form, data = form_and_data(name, url, by_role[role], estate)
                if name == "login":
                    form = AuthenticationForm()
                    data = {"username": "viewer", "password": "wrong"}
                for field_name, field in form.fields.items():
                    key = form.add_prefix(field_name)
                    for value in hostile(field):
                        prober.send("POST", url, data={**data, key: value})
                    prober.send("POST", url, data={k: v for k, v in data.items() if k != key})
                # someone without the right: refused whatever the values
                for other in ("viewer",) if "viewer" not in roles and role != "anonymous" else ():
                    response = Prober(by_role[other], other).send("POST", url, data={**data, "x": "\x00"})
                    assert response.status_code == 403, (name, other, response.status_code)
            finally:
                prober.close()
            failures += prober.failures
    assert not failures, report(failures)


def test_hostile_uploads_give_the_forms_error(estate: Estate, security_user: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(security_user)
    prober = Prober(client, "security")
    url = reverse("accounts:import_upload")
    files: Mapping[str, bytes] = {
        "accounts.csv": b"account_id,name\n\x00\x00\x00,\xff\xfe\n",
        "accounts.xlsx": b"PK\x03\x04 not really a zip",
        "empty.csv": b"",
        "bom.csv": b"\xef\xbb\xbfaccount_id,name\n" + str(2**63).encode() + b",\xe2\x80\xae\n",
        "wide.csv": b"account_id," + b"x" * 100_000 + b"\n1,2\n",
        "\x00.csv": b"account_id,name\n111111111111,a\n",
    }
    try:
        for filename, content in files.items():
            prober.send("POST", url, data={"file": SimpleUploadedFile(filename, content)})
        for value in ("", "\x00", str(2**63)):
            prober.send("POST", url, data={"file": value})
    finally:
        prober.close()
    assert not prober.failures, report(prober.failures)
