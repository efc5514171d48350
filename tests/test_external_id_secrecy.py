"""ExternalIds never reach anyone but the security team: every URL of the site, every export.

The estate has an estate-wide ExternalId (``SKYLEDGER_EXTERNAL_ID``) and per-account ones with
distinctive values; the read role of each account trusts the hub with an ``sts:ExternalId``
condition (so the values sit in collected trust policies, the IAM graph, its paths and the checks'
evidence), one account's ExternalId was changed (a history entry), the trust policy changed too (a
resource revision), and a finding stored before the engine masked evidence still quotes one.

The walk resolves every URL pattern from the URL conf, fills its arguments from every real object,
fetches each page as a viewer and as an account owner, follows every export link the pages offer
(plus the known ``?export=`` / ``format=`` parameters), decodes XLSX (a zip of XML) and asserts that
no ExternalId appears in any body. The security user's test shows the values are there to find.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import re
import zipfile
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import AwsAccount, Team
from core.secrets import MASK, TextRedactor, redact_policy
from iam_audit import engine, graph_store
from iam_audit.checks import base as checks
from iam_audit.models import Finding, Principal
from inventory.models import CollectionRun, Resource, RunState
from tests.factories import UserFactory
from tests.iam_audit.access.stored import collect_iam, store_story
from tests.iam_audit.builders import make_finding
from tests.iam_audit.graph.factories import (
    IDENTITY,
    MGMT,
    OPS,
    OUTSIDE,
    PROD,
    STAGING,
    aws_policy_arn,
    managed,
    role_item,
    root,
    story,
    trust,
)

pytestmark = pytest.mark.django_db

ESTATE_ID = "estate-xid-Q7Zp4Kd9WmTr"
STAGING_ID = "staging-xid-N3v8Rt2LqYx"
PROD_OLD_ID = "prod-xid-old-H5c1Bn7Gs"
PROD_ID = "prod-xid-new-W2k6Jm4Ff"
VENDOR_ID = "vendor-xid-P8d3Lx5Zq"  # only in a trust policy, never in the registry
SECRETS = (ESTATE_ID, STAGING_ID, PROD_OLD_ID, PROD_ID, VENDOR_ID)
HUB = OPS  # the account Skyledger runs in: the read roles trust it

EXPORT_PARAMS = ("export=csv", "export=xlsx", "export=json", "format=csv", "format=json")
LINK = re.compile(r"""(?:href|data-url|data-src)="([^"]+)\"""")


def _read_role(account_id: str, external_id: str, operator: str = "StringEquals") -> Any:
    condition = {operator: {"sts:ExternalId": external_id}}
    return role_item(
        account_id,
        "SkyledgerReadOnly",
        trust(root(HUB), condition=condition),
        attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
    )


@pytest.fixture
def estate(owner_team: Team, settings: Any) -> dict[str, Any]:
    settings.SKYLEDGER_EXTERNAL_ID = ESTATE_ID
    cache.clear()
    now = dt.datetime.now(dt.UTC)
    s = story()
    # read roles: identity and mgmt use the estate-wide id, staging and prod their own
    s.add(IDENTITY, _read_role(IDENTITY, ESTATE_ID))
    s.add(MGMT, _read_role(MGMT, ESTATE_ID, "ForAnyValue:StringLike"))
    s.add(STAGING, _read_role(STAGING, STAGING_ID))
    s.add(PROD, _read_role(PROD, PROD_OLD_ID))
    # an outside vendor with a list of ExternalIds, any-case key, under StringLike
    s.add(
        PROD,
        role_item(
            PROD,
            "VendorAudit",
            trust(root(OUTSIDE), condition={"StringLike": {"STS:EXTERNALID": [VENDOR_ID, "vendor-*"]}}),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
        ),
    )
    accounts = store_story(s, at=now - dt.timedelta(days=2), owners={STAGING: owner_team})
    staging, prod = accounts[STAGING], accounts[PROD]
    staging.external_id = STAGING_ID
    staging.save()
    prod.external_id = PROD_OLD_ID
    prod.save()
    prod.external_id = PROD_ID  # a history entry where the ExternalId changed
    prod._change_reason = "Rotated the ExternalId"  # type: ignore[attr-defined]
    prod.save()
    # prod's read role now requires the new id: a revision of the role whose trust changed
    prod_items = [i for i in s.items[PROD] if i.name != "SkyledgerReadOnly"] + [_read_role(PROD, PROD_ID)]
    collect_iam(prod, prod_items, at=now - dt.timedelta(days=1))
    graph_store.invalidate()
    for account in accounts.values():
        engine.run_checks(account)
    # a finding the engine stores from a result quoting the trust statement (a check's evidence)
    result = checks.Result.fail(
        f"arn:aws:iam::{PROD}:role/SkyledgerReadOnly",
        f"Trust of SkyledgerReadOnly requires ExternalId {PROD_ID}",
        {"statement": trust(root(HUB), condition={"StringEquals": {"sts:ExternalId": PROD_ID}})},
    )
    engine.run_checks(
        prod,
        only=["iam.trust_outside_org"],
        extra_results={"iam.trust_outside_org": [result]},
    )
    CollectionRun.objects.create(
        account=staging, state=RunState.DONE, message="done", started_at=now, finished_at=now
    )
    return accounts


# --- the walk ------------------------------------------------------------------------------------


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, Any]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns == "admin":
                continue  # Django's admin: superusers only, walked as its index below
            yield from _patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield name, (prefix + str(entry.pattern), entry.pattern.converters)


def _objects_for(name: str) -> list[dict[str, Any]]:
    """Every set of path arguments for URL ``name``, from the real objects."""
    if name.endswith(":check_detail"):
        # the catalogue's pages: those about trust (they quote conditions) and one other
        ids = sorted(engine.catalogue())
        return [{"check_id": c} for c in ids if "trust" in c] + [{"check_id": ids[0]}]
    model = {
        "accounts:team_detail": Team,
        "accounts:team_history": Team,
        "accounts:team_edit": Team,
        "accounts:team_delete": Team,
        "inventory:resource_detail": Resource,
        "inventory:run_detail": CollectionRun,
        "inventory:run_progress": CollectionRun,
        "iam_audit:finding_detail": Finding,
        "iam_audit:principal_detail": Principal,
    }.get(name, AwsAccount)
    return [{"pk": pk} for pk in model.objects.order_by("pk").values_list("pk", flat=True)]


def site_urls() -> list[str]:
    """Every URL of the site, arguments filled from every object, plus per-account query forms."""
    urls = ["/admin/"]
    for name, (_route, converters) in _patterns(get_resolver()):
        if not name:
            continue
        if not converters:
            # a page without arguments: itself and every export parameter it might take
            urls.append(reverse(name))
            urls.extend(f"{reverse(name)}?{param}" for param in EXPORT_PARAMS)
            continue
        urls.extend(reverse(name, kwargs=kwargs) for kwargs in _objects_for(name))
    for account in AwsAccount.objects.all():
        for name in ("inventory:map", "inventory:map_data", "inventory:exposed", "inventory:resource_list"):
            urls.append(f"{reverse(name)}?account={account.pk}")
        urls.append(f"{reverse('iam_audit:finding_list')}?account={account.pk}&status=")
        urls.append(f"{reverse('iam_audit:access_paths_export')}?format=json&to_account={account.account_id}")
    for principal in Principal.objects.all():
        export = reverse("iam_audit:access_paths_export")
        urls.append(f"{export}?format=json&from_principal={principal.arn}")
    return urls


def body_text(response: Any) -> str:
    """The response body as text; an XLSX (or any zip) is opened and its XML read."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return content.decode("utf-8", "replace")


def _links(url: str, text: str) -> set[str]:
    """Same-site links a page offers that download or export something."""
    found = set()
    for href in LINK.findall(text):
        href = unescape(href)
        target = urljoin(url, href)
        parts = urlsplit(target)
        if parts.netloc or not parts.path.startswith("/"):
            continue
        if re.search(r"(^|&)(sort|page)=", parts.query):
            continue  # the same export in another order
        if re.search(r"(^|&)(export|format)=", parts.query) or parts.path.endswith(("/export/", "/data/")):
            found.add(target)
    return found


def walk(client: Client) -> dict[str, str]:
    """Every site URL, every export link found on the pages and every known export parameter:
    url -> body text."""
    seen: dict[str, str] = {}
    queue = site_urls()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code in (301, 302) and "/login/" not in response.get("Location", ""):
            queue.append(urljoin(url, response["Location"]))
        text = body_text(response)
        seen[url] = text
        if response.get("Content-Type", "").startswith("text/html"):
            queue.extend(link for link in _links(url, text) if link not in seen)
    return seen


def leaks(bodies: dict[str, str]) -> list[tuple[str, str]]:
    return [(url, secret) for url, text in bodies.items() for secret in SECRETS if secret in text]


@pytest.mark.parametrize("role", ["viewer", "owner"])
def test_no_page_or_export_shows_an_external_id_to_anyone_but_security(
    client: Client, estate: dict[str, Any], owner_user: Any, viewer_user: Any, role: str
) -> None:
    client.force_login(owner_user if role == "owner" else viewer_user)
    bodies = walk(client)
    assert len(bodies) > 100  # the walk reached the site, its objects and its exports
    exports = [u for u in bodies if "export=xlsx" in u]
    assert exports, "no XLSX export was walked"
    found = leaks(bodies)
    assert not found, found[:20]
    # the masks are there, so the pages did show what carries an ExternalId
    role_page = reverse(
        "inventory:resource_detail",
        args=[Resource.objects.get(arn=f"arn:aws:iam::{STAGING}:role/SkyledgerReadOnly").pk],
    )
    assert MASK in bodies[role_page]
    history = bodies[reverse("accounts:account_history", args=[estate[PROD].pk])]
    assert "changed (value hidden" in history and "Rotated the ExternalId" in history


def test_the_security_team_sees_the_external_ids_where_it_did(
    client: Client, estate: dict[str, Any], security_user: Any
) -> None:
    client.force_login(security_user)
    prod, identity = estate[PROD], estate[IDENTITY]

    def get(url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200, url
        return body_text(response)

    assert PROD_ID in get(reverse("accounts:account_detail", args=[prod.pk]))
    assert ESTATE_ID in get(reverse("accounts:account_detail", args=[identity.pk]))
    history = get(reverse("accounts:account_history", args=[prod.pk]))
    assert PROD_OLD_ID in history and PROD_ID in history
    role = Resource.objects.get(arn=f"arn:aws:iam::{PROD}:role/SkyledgerReadOnly")
    page = get(reverse("inventory:resource_detail", args=[role.pk]))
    assert PROD_ID in page and PROD_OLD_ID in page  # the trust policy and its revision
    graph_store.current()  # the principals table follows the graph
    vendor = Principal.objects.get(arn=f"arn:aws:iam::{PROD}:role/VendorAudit")
    assert VENDOR_ID in get(reverse("iam_audit:principal_detail", args=[vendor.pk]))
    export = get(reverse("iam_audit:access_paths_export") + f"?format=json&to_account={PROD}")
    assert PROD_ID in export and VENDOR_ID in export
    # evidence is masked for everyone, the security team included
    finding = Finding.objects.get(
        subject=f"arn:aws:iam::{PROD}:role/SkyledgerReadOnly", check_id="iam.trust_outside_org"
    )
    assert PROD_ID not in repr(finding.evidence) and PROD_ID not in finding.summary
    page = get(reverse("iam_audit:finding_detail", args=[finding.pk]))
    assert PROD_ID not in page and MASK in page


def test_findings_stored_before_masking_are_masked_by_the_migration_and_on_display(
    client: Client, estate: dict[str, Any], security_user: Any
) -> None:
    migration = importlib.import_module("iam_audit.migrations.0008_mask_external_ids_in_findings")
    statement = trust(root(HUB), condition={"StringEquals": {"sts:ExternalId": VENDOR_ID}})
    old = make_finding(
        estate[PROD],
        summary=f"Trust requires ExternalId {PROD_ID}",
        evidence={"statement": statement},
    )
    client.force_login(security_user)
    # before the migration: the finding page and the JSON export mask it already
    page = client.get(reverse("iam_audit:finding_detail", args=[old.pk])).content.decode()
    export = body_text(client.get(reverse("iam_audit:finding_list") + "?export=json&status="))
    for text in (page, export):
        assert VENDOR_ID not in text and PROD_ID not in text
    assert migration.mask_stored_external_ids(django_apps) >= 1
    old.refresh_from_db()
    assert VENDOR_ID not in repr(old.evidence) and PROD_ID not in old.summary
    assert old.evidence["statement"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert migration.mask_stored_external_ids(django_apps) == 0  # nothing left to mask


def test_a_viewer_never_sees_the_estate_wide_id_even_for_an_account_without_its_own(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    html = client.get(reverse("accounts:account_detail", args=[estate[IDENTITY].pk])).content.decode()
    assert ESTATE_ID not in html


# --- the redactor itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"sts:ExternalId": "abc-secret-1"}},
        {"StringLike": {"STS:EXTERNALID": ["abc-secret-1", "other-secret"]}},
        {"ForAnyValue:StringEquals": {"sts:externalid": ["abc-secret-1"]}},
        {"StringEqualsIgnoreCaseIfExists": {"Sts:ExternalID": "abc-secret-1"}},
    ],
)
def test_redact_policy_masks_every_external_id_condition(condition: dict[str, Any]) -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Condition": condition}]}
    redacted = redact_policy(document)
    assert "abc-secret-1" not in repr(redacted) and MASK in repr(redacted)
    assert "abc-secret-1" in repr(document)  # the input is untouched
    assert redacted["Statement"][0]["Action"] == "sts:AssumeRole"


def test_redact_policy_keeps_other_conditions_and_reads_policies_kept_as_text() -> None:
    import json

    statement = {
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc", "sts:ExternalId": "abc-secret-1"}}
    }
    redacted = redact_policy({"Policy": json.dumps(statement), "plain": statement})
    assert redacted["plain"]["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-abc"
    assert "abc-secret-1" not in redacted["Policy"] and "o-abc" in redacted["Policy"]
    # derived shapes: a requirement with its text, a revision's change at the condition's path
    requirement = {
        "key": "sts:ExternalId",
        "values": ["abc-secret-1"],
        "text": "not (StringNotEquals sts:ExternalId abc-secret-1)",
    }
    change = {"path": "Statement.0.Condition.StringEquals.sts:ExternalId", "old": "abc-secret-1", "new": "x"}
    assert "abc-secret-1" not in repr(redact_policy([requirement, change]))


def test_text_redactor_masks_known_values_longest_first_and_ignores_short_ones() -> None:
    redact = TextRedactor(["secret-one", "secret-one-longer", "abc", ""])
    assert redact("a secret-one-longer and secret-one") == f"a {MASK} and {MASK}"
    assert redact("abc stays") == "abc stays"  # shorter than the minimum: text is left alone
    assert not TextRedactor([]) and TextRedactor([])("x") == "x"


@override_settings(SKYLEDGER_EXTERNAL_ID="")
def test_history_of_a_viewer_says_changed_without_values(
    client: Client, viewer_user: Any, security_user: Any
) -> None:
    account = AwsAccount.objects.create(account_id="123456789012", name="acct", external_id="first-secret-1")
    account.external_id = "second-secret-2"
    account.save()
    client.force_login(viewer_user)
    for url in (
        reverse("accounts:account_history", args=[account.pk]),
        reverse("accounts:account_detail", args=[account.pk]),
    ):
        html = client.get(url).content.decode()
        assert "first-secret-1" not in html and "second-secret-2" not in html
        assert "changed (value hidden" in html and "set (value hidden" in html
    client.force_login(UserFactory(username="sec2", security=True))
    html = client.get(reverse("accounts:account_history", args=[account.pk])).content.decode()
    assert "first-secret-1" in html and "second-secret-2" in html


def test_assume_role_errors_and_log_lines_never_carry_the_external_id() -> None:
    import logging

    from botocore.exceptions import ClientError

    from core.secrets import RedactingFormatter, remember
    from inventory.aws.errors import classify, without_secret
    from inventory.aws.session import Target

    secret = "echoed-xid-T4m9Vb2Kc"
    echoed = ClientError(
        {
            "Error": {"Code": "ValidationError", "Message": f"Value '{secret}' at 'externalId' failed"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "AssumeRole",
    )
    classified = without_secret(classify(echoed, "AssumeRole", assuming_role=True, external_id=True), secret)
    assert secret not in classified.message + classified.detail and MASK in classified.message
    assert secret not in repr(Target("123456789012", "arn:aws:iam::123456789012:role/R", secret))
    remember(secret)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "assume failed: %s", (secret,), None)
    assert RedactingFormatter("%(message)s").format(record) == f"assume failed: {MASK}"


def test_worker_log_handlers_mask_external_ids() -> None:
    """Celery's worker configures its own handlers (not Django's LOGGING); the signal wraps them."""
    import logging

    from config.celery import mask_external_ids_in_worker_logs
    from core.secrets import remember

    remember("worker-log-secret-4711")
    logger = logging.getLogger("skyledger.test.worker")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    try:
        mask_external_ids_in_worker_logs(logger=logger)
        mask_external_ids_in_worker_logs(logger=logger)  # twice: wrapped once
        record = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, "assume: %s", ("worker-log-secret-4711",), None
        )
        text = handler.format(record)
    finally:
        logger.removeHandler(handler)
    assert "worker-log-secret-4711" not in text
    assert text.startswith("[ERROR] assume: ")
