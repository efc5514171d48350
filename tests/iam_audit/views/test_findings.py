"""The findings list and page: default view, filters, search, query bounds, triage, exports, escaping."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.context_processors import _nav
from iam_audit import engine
from iam_audit.choices import EventKind, FindingStatus
from iam_audit.models import Finding, FindingEvent
from inventory.models import Resource
from inventory.records import Record
from tests.accounts.helpers import read_csv, read_xlsx
from tests.factories import AwsAccountFactory
from tests.iam_audit.builders import T0, make_finding, store

pytestmark = pytest.mark.django_db

LIST = "iam_audit:finding_list"
XSS = '<script>alert("x")</script>'
TODAY = timezone.now().date()  # the triage form's "today" (UTC)


@pytest.fixture
def sec(client: Client, security_user: Any) -> Client:
    client.force_login(security_user)
    return client


@pytest.fixture
def viewer(client: Client, viewer_user: Any) -> Client:
    client.force_login(viewer_user)
    return client


@pytest.fixture
def nav_cache() -> Any:
    # the navigation is computed once per process; tests that swap the URLconf must not leak theirs
    _nav.cache_clear()
    yield
    _nav.cache_clear()


def rows(response: Any) -> list[Finding]:
    return list(response.context["table"].page.object_list.data) if response.context["table"].page else []


def pks(response: Any) -> list[int]:
    return [row.record.pk for row in response.context["table"].page.object_list]


def resource(account: Any, name: str = "web", tags: dict[str, str] | None = None) -> Resource:
    arn = f"arn:aws:ec2:eu-west-1:{account.account_id}:security-group/sg-{name}"
    store(
        account,
        "eu-west-1",
        ["ec2:security-group"],
        [
            Record(
                "ec2:security-group",
                arn,
                f"sg-{name}",
                name,
                "eu-west-1",
                tags or {},
                {"GroupId": f"sg-{name}"},
            )
        ],
    )
    return Resource.objects.get(arn=arn)


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_open_and_reopened_findings_most_urgent_first(
    viewer: Client, prod_account: Any
) -> None:
    low = make_finding(prod_account, priority=20)
    high = make_finding(prod_account, priority=150)
    reopened = make_finding(prod_account, priority=90, status=FindingStatus.REOPENED)
    make_finding(prod_account, priority=500, status=FindingStatus.RESOLVED)
    make_finding(prod_account, priority=400, status=FindingStatus.SUPPRESSED)
    response = viewer.get(reverse(LIST))
    assert pks(response) == [high.pk, reopened.pk, low.pk]
    form = response.context["filter_form"]
    assert set(form["status"].value()) == {"open", "reopened"}  # the default is visible in the form


def test_picking_statuses_shows_suppressed_and_resolved_ones(viewer: Client, prod_account: Any) -> None:
    suppressed = make_finding(prod_account, status=FindingStatus.SUPPRESSED)
    resolved = make_finding(prod_account, status=FindingStatus.RESOLVED)
    make_finding(prod_account)
    assert pks(viewer.get(reverse(LIST) + "?status=suppressed")) == [suppressed.pk]
    assert set(pks(viewer.get(reverse(LIST) + "?status=suppressed&status=resolved"))) == {
        suppressed.pk,
        resolved.pk,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("severity=critical", {"crit"}),
        ("severity=critical&severity=low", {"crit", "low"}),
        ("environment=sandbox", {"sandbox"}),
        ("check=s3.public_policy", {"bucket"}),
        ("service=S3", {"bucket"}),
        ("region=ap-southeast-2", {"bucket"}),
        ("q=haystack", {"low"}),  # in the summary
        ("q=NEEDLE-ARN", {"crit"}),  # in the subject, case-insensitive
        ("q=Bucket+policy", {"bucket"}),  # in the title
        # around T0, the builders' first_seen (a week ago); named, or the ids would change every day
        pytest.param(
            f"first_seen_after={T0.date() - dt.timedelta(days=31)}"
            f"&first_seen_before={T0.date() - dt.timedelta(days=1)}",
            {"old"},
            id="first_seen_in_the_month_before_T0",
        ),
        pytest.param(
            f"first_seen_after={T0.date()}", {"crit", "low", "bucket", "sandbox"}, id="first_seen_after_T0"
        ),
    ],
)
def test_filters_narrow_the_list(
    viewer: Client, prod_account: Any, sandbox_account: Any, query: str, expected: set[str]
) -> None:
    made = {
        "crit": make_finding(prod_account, severity="critical", subject="arn:aws:x::1:needle-arn"),
        "low": make_finding(prod_account, severity="low", summary="found in the HayStack"),
        "bucket": make_finding(
            prod_account,
            check_id="s3.public_policy",
            service="S3",
            title="Bucket policy allows anyone",
            region="ap-southeast-2",
        ),
        "sandbox": make_finding(sandbox_account),
        "old": make_finding(prod_account, first_seen=T0 - dt.timedelta(days=17)),
    }
    names = {f.pk: name for name, f in made.items()}
    response = viewer.get(reverse(LIST) + "?" + query)
    assert {names[pk] for pk in pks(response)} == expected


def test_filtering_by_account(viewer: Client, prod_account: Any, sandbox_account: Any) -> None:
    mine = make_finding(prod_account)
    make_finding(sandbox_account)
    assert pks(viewer.get(reverse(LIST) + f"?account={prod_account.pk}")) == [mine.pk]


def test_an_invalid_filter_shows_an_error_and_no_rows_not_everything(
    viewer: Client, prod_account: Any
) -> None:
    make_finding(prod_account)
    response = viewer.get(reverse(LIST) + "?first_seen_after=not-a-date&severity=nonsense")
    assert pks(response) == []
    assert response.context["filter_form"].errors


def test_sorting_by_severity_puts_critical_first(viewer: Client, prod_account: Any) -> None:
    low = make_finding(prod_account, severity="low", priority=500)
    crit = make_finding(prod_account, severity="critical", priority=10)
    assert pks(viewer.get(reverse(LIST) + "?sort=severity")) == [crit.pk, low.pk]


def _estate(n: int) -> None:
    accounts = [AwsAccountFactory(environment=env) for env in ("prod", "dev", "sandbox")]
    for i in range(n):
        account = accounts[i % 3]
        make_finding(account, resource=resource(account, name=f"r{i}") if i % 2 else None, priority=i)


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        reverse(LIST),
        reverse(LIST)
        + "?columns="
        + ",".join(
            [
                "select",
                "priority",
                "severity",
                "title",
                "account",
                "environment",
                "subject",
                "check_id",
                "status",
                "summary",
            ]
        ),
    ],
)
def test_the_list_costs_the_same_queries_for_5_or_60_findings(
    sec: Client, url: str, django_assert_max_num_queries: Any
) -> None:
    _estate(5)
    few = _count_queries(sec, url)
    _estate(55)
    with django_assert_max_num_queries(few):
        response = sec.get(url)
    assert len(response.context["table"].page.object_list) == 50  # it did render more rows
    assert few <= 12


def test_the_finding_page_costs_a_bounded_number_of_queries(sec: Client, prod_account: Any) -> None:
    finding = make_finding(prod_account, resource=resource(prod_account))
    for n in range(20):
        FindingEvent.objects.create(
            finding=finding, at=T0 + dt.timedelta(hours=n), kind=EventKind.REOPENED, note=f"{n}"
        )
    assert _count_queries(sec, reverse("iam_audit:finding_detail", args=[finding.pk])) <= 10


# --- triage ----------------------------------------------------------------------------------------


def _triage(client: Client, data: dict[str, Any]) -> Any:
    return client.post(reverse("iam_audit:finding_triage"), data)


def test_bulk_suppress_records_reason_justification_expiry_and_who(
    sec: Client, security_user: Any, prod_account: Any
) -> None:
    chosen = [make_finding(prod_account) for _ in range(3)]
    untouched = make_finding(prod_account)
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    back = reverse(LIST) + "?severity=high"
    response = _triage(
        sec,
        {
            "action": "suppress",
            "ids": [f.pk for f in chosen],
            "reason": "accepted-risk",
            "justification": "  Bastions behind the VPN  ",
            "until": until,
            "next": back,
        },
    )
    assert response.status_code == 302 and response["Location"] == back
    for finding in chosen:
        finding.refresh_from_db()
        assert finding.status == FindingStatus.SUPPRESSED
        assert finding.suppression_reason == "accepted-risk"
        assert finding.suppression_justification == "Bastions behind the VPN"
        assert finding.suppressed_by == security_user
        assert finding.suppressed_until.date().isoformat() == until
        event = finding.events.get(kind=EventKind.SUPPRESSED)
        assert event.user == security_user and event.note == "Bastions behind the VPN"
    untouched.refresh_from_db()
    assert untouched.status == FindingStatus.OPEN
    # suppressed findings leave the default list and show under "suppressed"
    listed = sec.get(reverse(LIST))
    assert untouched.pk in pks(listed) and chosen[0].pk not in pks(listed)
    assert set(pks(sec.get(reverse(LIST) + "?status=suppressed"))) == {f.pk for f in chosen}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "accepted-risk", "justification": ""}, "justification is required"),
        ({"reason": "", "justification": "why"}, "accepted risk or false positive"),
        ({"reason": "made-up", "justification": "why"}, "Select a valid choice"),
        (
            {"reason": "false-positive", "justification": "why", "until": str(TODAY - dt.timedelta(days=1))},
            "after today",
        ),
        ({"reason": "false-positive", "justification": "why", "until": str(TODAY)}, "after today"),
        (
            {"reason": "false-positive", "justification": "x" * 2001},
            "Justification is at most 2,000 characters (you entered 2,001)",
        ),
    ],
)
def test_suppressing_needs_a_reason_a_justification_and_a_future_date(
    sec: Client, prod_account: Any, data: dict[str, str], message: str
) -> None:
    finding = make_finding(prod_account)
    response = _triage(sec, {"action": "suppress", "ids": [finding.pk], **data})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    shown = [str(m) for m in sec.get(reverse(LIST)).context["messages"]]
    assert any(message in m for m in shown), shown


def test_triage_without_a_selection_or_with_unknown_ids_changes_nothing(
    sec: Client, prod_account: Any
) -> None:
    finding = make_finding(prod_account)
    for ids in ([], [finding.pk + 999], ["abc"]):
        _triage(sec, {"action": "suppress", "ids": ids, "reason": "accepted-risk", "justification": "x"})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert not FindingEvent.objects.filter(kind=EventKind.SUPPRESSED).exists()


def test_triage_never_redirects_off_site(sec: Client, prod_account: Any) -> None:
    finding = make_finding(prod_account)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = _triage(sec, {"action": "unsuppress", "ids": [finding.pk], "next": target})
        assert response["Location"] == reverse(LIST)


def test_resolved_findings_are_left_alone_by_a_bulk_suppress(sec: Client, prod_account: Any) -> None:
    resolved = make_finding(prod_account, status=FindingStatus.RESOLVED)
    active = make_finding(prod_account)
    _triage(
        sec,
        {
            "action": "suppress",
            "ids": [resolved.pk, active.pk],
            "reason": "false-positive",
            "justification": "x",
        },
    )
    resolved.refresh_from_db()
    active.refresh_from_db()
    assert resolved.status == FindingStatus.RESOLVED and active.status == FindingStatus.SUPPRESSED
    shown = [str(m) for m in sec.get(reverse(LIST)).context["messages"]]
    assert any("Suppressed 1 finding" in m and "1 resolved finding was left as is" in m for m in shown)


def test_bulk_lift_makes_findings_active_again_with_a_history_entry(
    sec: Client, security_user: Any, prod_account: Any
) -> None:
    findings = [make_finding(prod_account) for _ in range(2)]
    engine.suppress(findings, user=security_user, reason="accepted-risk", justification="temporary")
    _triage(
        sec, {"action": "unsuppress", "ids": [f.pk for f in findings], "justification": "no longer accepted"}
    )
    for finding in findings:
        finding.refresh_from_db()
        assert finding.status == FindingStatus.REOPENED and finding.suppression_reason == ""
        assert finding.events.filter(kind=EventKind.UNSUPPRESSED, user=security_user).exists()


# --- exports ---------------------------------------------------------------------------------------

JSON_KEYS = {
    "check_id",
    "title",
    "severity",
    "priority",
    "status",
    "account_id",
    "account_name",
    "region",
    "resource_id",
    "arn",
    "summary",
    "first_seen",
    "last_seen",
    # what the finding page shows, so automation sees it too
    "evidence",
    "remediation",
    "risk",
    "references",
    "resources",
}


def test_json_export_is_a_list_of_findings_with_the_documented_fields(
    viewer: Client, prod_account: Any
) -> None:
    with_resource = make_finding(prod_account, resource=resource(prod_account), priority=200)
    make_finding(prod_account, severity="low", priority=10)
    make_finding(prod_account, status=FindingStatus.RESOLVED)
    response = viewer.get(reverse(LIST) + "?export=json&severity=high")
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(b"".join(response.streaming_content))
    assert isinstance(data, list) and len(data) == 1
    item = data[0]
    assert set(item) == JSON_KEYS
    assert item["check_id"] == with_resource.check_id and item["account_id"] == "555555555555"
    assert item["resource_id"] == "sg-web" and item["arn"] == with_resource.subject
    assert item["priority"] == 200 and item["status"] == "open" and item["severity"] == "high"
    assert item["first_seen"] == T0.isoformat()
    check = engine.catalogue()[with_resource.check_id]
    assert item["evidence"] == with_resource.evidence and item["evidence"]["rule"]["FromPort"] == 22
    assert item["remediation"] == check.remediation and "revoke-security-group-ingress" in item["remediation"]
    assert item["references"] == list(check.references) and item["resources"] == [with_resource.subject]


def test_json_export_lists_the_resources_an_account_level_finding_names(
    viewer: Client, prod_account: Any
) -> None:
    root = f"arn:aws:iam::{prod_account.account_id}:root"
    stray = f"arn:aws:ec2:ap-southeast-2:{prod_account.account_id}:security-group/sg-stray"
    evidence = {
        "allowed_regions": ["eu-west-1"],
        "resources": [
            {"type": "s3:bucket", "arn": "arn:aws:s3:::forgotten", "region": "ap-southeast-2"},
            {"type": "ec2:security-group", "arn": stray, "region": "ap-southeast-2"},
        ],
    }
    make_finding(
        prod_account,
        check_id="inventory.unexpected_region",
        subject=root,
        resource_type="",
        evidence=evidence,
    )
    data = json.loads(b"".join(viewer.get(reverse(LIST) + "?export=json").streaming_content))
    (item,) = data
    assert item["arn"] == root and item["resource_id"] == ""
    assert item["resources"] == ["arn:aws:s3:::forgotten", stray]
    assert item["evidence"] == evidence
    assert item["remediation"] == engine.catalogue()["inventory.unexpected_region"].remediation


def test_json_export_of_nothing_is_an_empty_list(viewer: Client) -> None:
    response = viewer.get(reverse(LIST) + "?export=json")
    assert json.loads(b"".join(response.streaming_content)) == []


def test_csv_and_xlsx_exports_neutralise_formulas_from_aws_data(viewer: Client, prod_account: Any) -> None:
    make_finding(prod_account, summary='=HYPERLINK("http://evil")', subject="@SUM(1+1)", region="+eu")
    csv_rows = read_csv(b"".join(viewer.get(reverse(LIST) + "?export=csv").streaming_content))
    header, row = csv_rows[0], csv_rows[1]
    assert "Priority" in header and "Select" not in header and "" not in header
    assert row[header.index("Summary")] == '\'=HYPERLINK("http://evil")'
    assert row[header.index("Resource")] == "'@SUM(1+1)"
    assert row[header.index("Region")] == "'+eu"
    response = viewer.get(reverse(LIST) + "?export=xlsx")
    sheet = read_xlsx(b"".join(response.streaming_content))
    assert sheet[1][sheet[0].index("Summary")] == '\'=HYPERLINK("http://evil")'


# --- the finding page ------------------------------------------------------------------------------


def test_the_finding_page_explains_what_failed_why_it_matters_and_how_to_fix_it(
    sec: Client, prod_account: Any
) -> None:
    finding = make_finding(
        prod_account,
        evidence={
            "policy_statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
            "open_ports": [22, 3389],
            "public": True,
        },
        priority=135,
    )
    body = sec.get(reverse("iam_audit:finding_detail", args=[finding.pk])).content.decode()
    assert "severity high 70 × environment prod 1.5 + exposure internet 30 = 135" in body
    # statements as indented JSON (PostgreSQL's jsonb keeps its own key order)
    assert "<pre>{\n  &quot;" in body and "\n  &quot;Effect&quot;: &quot;Allow&quot;" in body
    assert "22, 3389" in body and "Public" in body
    assert "CIS 5.3" in body or "CIS 5.4" in body  # the check's references
    assert '<code class="cmd">aws ec2 revoke-security-group-ingress' in body or "<pre><code>" in body
    assert "payments-prod" in body and "555555555555" in body
    assert 'name="justification"' in body


def test_the_finding_page_shows_the_lifecycle_with_who_and_why(
    sec: Client, security_user: Any, prod_account: Any
) -> None:
    finding = make_finding(prod_account)
    engine.suppress([finding], user=security_user, reason="false-positive", justification="It is a honeypot")
    body = sec.get(reverse("iam_audit:finding_detail", args=[finding.pk])).content.decode()
    assert "It is a honeypot" in body and "Suppressed" in body and "sec" in body
    assert "Lift suppression" in body and "False positive" in body


@pytest.mark.urls("tests.iam_audit.views.urlconf_stub_inventory")
def test_the_finding_page_links_to_the_resource_page_when_there_is_one(
    sec: Client, prod_account: Any, nav_cache: None
) -> None:
    res = resource(prod_account, name="db")
    finding = make_finding(prod_account, resource=res)
    body = sec.get(reverse("iam_audit:finding_detail", args=[finding.pk])).content.decode()
    assert f'href="/inventory/resources/{res.pk}/"' in body


@pytest.mark.urls("tests.iam_audit.views.urlconf_without_inventory")
def test_the_finding_page_works_without_inventory_pages(
    sec: Client, prod_account: Any, nav_cache: None
) -> None:
    res = resource(prod_account, name="db")
    finding = make_finding(prod_account, resource=res)
    response = sec.get(reverse("iam_audit:finding_detail", args=[finding.pk]))
    assert response.status_code == 200 and "/inventory/" not in response.content.decode()
    listing = sec.get(reverse(LIST)).content.decode()
    assert "sg-db" in listing or "db" in listing


def test_a_missing_finding_is_404(sec: Client) -> None:
    assert sec.get(reverse("iam_audit:finding_detail", args=[999999])).status_code == 404


def test_html_from_aws_is_shown_escaped_everywhere(sec: Client, prod_account: Any) -> None:
    res = resource(prod_account, name=XSS, tags={"owner": XSS, XSS: "v"})
    finding = make_finding(
        prod_account,
        resource=res,
        summary=f"group {XSS} open",
        subject=f"arn:aws:ec2:eu-west-1:555555555555:security-group/{XSS}",
        evidence={"statement": {"Sid": XSS}, "note": XSS, XSS: "key"},
    )
    finding.events.create(at=T0, kind=EventKind.REOPENED, note=XSS)
    pages = [
        sec.get(reverse("iam_audit:finding_detail", args=[finding.pk])),
        sec.get(reverse(LIST)),
        sec.get(reverse(LIST) + "?q=" + "script"),
        sec.get(reverse("home")),
        sec.get(reverse("accounts:account_detail", args=[prod_account.pk])),
    ]
    for response in pages:
        body = response.content.decode()
        assert response.status_code == 200
        assert XSS not in body
    detail = pages[0].content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in detail or "&lt;script&gt;" in detail


def test_the_filtered_list_query_needs_no_distinct(sec: Client, prod_account: Any) -> None:
    # DISTINCT over every column of 100k findings would sort them all; no filter joins a many-relation
    make_finding(prod_account)
    with CaptureQueriesContext(connection) as ctx:
        sec.get(
            reverse(LIST) + f"?severity=high&status=open&account={prod_account.pk}&environment=prod&check=x"
        )
    assert not [q["sql"] for q in ctx.captured_queries if "DISTINCT" in q["sql"]]
