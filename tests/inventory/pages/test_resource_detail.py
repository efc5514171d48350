"""One resource's page: where it lives, tags, readable metadata, revisions, links, escaping."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.models import Resource, ResourceRevision, RevisionKind
from inventory.records import Coverage, Record
from inventory.services.ingest import ingest
from inventory.views.resources import change_rows, metadata_entries, pretty_json
from tests.inventory.pages.conftest import XSS, make_resource

pytestmark = pytest.mark.django_db


def url(resource: Resource) -> str:
    return f"/inventory/resources/{resource.pk}/"


def test_anonymous_is_sent_to_login(client: Client, estate: dict[str, Any]) -> None:
    response = client.get(url(estate["web"]))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["security_user", "owner_user", "viewer_user"])
def test_every_logged_in_role_sees_the_page(
    client: Client, estate: dict[str, Any], role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))
    page = client.get(url(estate["web"])).content.decode()
    assert "web-1" in page and "payments-prod" in page and "555555555555" in page
    assert "EC2 instance" in page and "ec2:instance" in page
    assert estate["web"].arn in page


def test_missing_resource_is_404(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    assert client.get("/inventory/resources/999999/").status_code == 404


def test_page_shows_tags_metadata_and_links(client: Client, prod: AwsAccount, viewer_user: Any) -> None:
    resource = make_resource(
        prod,
        name="web-2",
        region="eu-west-1",
        tags={"team": "payments", "env": "prod"},
        data={
            "InstanceId": "i-0abc",
            "State": {"Name": "running", "Code": 16},
            "SecurityGroups": [{"GroupId": "sg-1"}, {"GroupId": "sg-2"}],
            "EbsOptimized": False,
            "PublicIpAddress": None,
        },
    )
    client.force_login(viewer_user)
    response = client.get(url(resource))
    page = response.content.decode()
    assert response.context["tags"] == [("env", "prod"), ("team", "payments")]
    assert '<details class="meta-entry" data-key="State">' in page
    assert '<details class="meta-entry" data-key="SecurityGroups">' in page
    assert "2 items" in page and "2 keys" in page
    assert '"GroupId": "sg-2"' in page.replace("&quot;", '"')
    assert "false" in page and "null" in page  # scalars as JSON spells them
    assert 'id="raw-json"' in page
    assert prod.get_absolute_url() in page
    assert f"/inventory/resources/?account_id={prod.pk}&amp;region=eu-west-1" in page


@pytest.mark.urls("tests.inventory.pages.urls_without_audit")
def test_no_findings_link_while_the_findings_page_does_not_exist(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    response = client.get(url(estate["web"]))
    assert response.context["findings_url"] is None
    assert "Findings about this resource" not in response.content.decode()


@pytest.mark.urls("tests.inventory.pages.urls_with_findings")
def test_findings_link_filters_the_findings_by_this_resource(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    resource = estate["web"]
    response = client.get(url(resource))
    query = urlencode({"account": resource.account_id, "q": resource.arn})
    assert response.context["findings_url"] == f"/audit/findings/?{query}"
    assert f'href="/audit/findings/?{query.replace("&", "&amp;")}"' in response.content.decode()


def test_findings_link_with_a_very_long_arn_stays_within_the_search_box(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    resource = make_resource(prod, arn="arn:aws:s3:::" + "b" * 400)
    client.force_login(viewer_user)
    findings_url = client.get(url(resource)).context["findings_url"]
    query = parse_qs(urlsplit(findings_url).query)
    assert query["q"] == [resource.arn[:200]] and query["account"] == [str(prod.pk)]


def test_html_payloads_in_name_tags_and_metadata_are_escaped(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    resource = make_resource(
        prod,
        name=XSS,
        tags={XSS: XSS, "ok": "</pre><script>alert(2)</script>"},
        data={XSS: XSS, "Nested": {"k": XSS}, "List": [XSS]},
        resource_id=XSS,
    )
    ResourceRevision.objects.create(
        resource=resource, kind=RevisionKind.CHANGED, changes=[{"path": XSS, "old": XSS, "new": {"x": XSS}}]
    )
    client.force_login(viewer_user)
    page = client.get(url(resource)).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page and "</pre><script>" not in page
    assert "&lt;script&gt;alert" in page


def test_revisions_show_what_changed_and_when_newest_first(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    def instance(state: str, size: str) -> Record:
        return Record(
            type="ec2:instance",
            arn="arn:aws:ec2:eu-west-1:555555555555:instance/i-01",
            resource_id="i-01",
            name="api",
            region="eu-west-1",
            tags={"team": "a"},
            data={"State": {"Name": state}, "InstanceType": size},
        )

    ok = {"ec2:instance": Coverage.OK}
    start = timezone.now() - dt.timedelta(hours=4)  # the sweep stamps deletions "now"
    ingest(prod, "eu-west-1", ["ec2:instance"], [instance("running", "t3.micro")], ok, seen_at=start)
    ingest(
        prod,
        "eu-west-1",
        ["ec2:instance"],
        [instance("stopped", "t3.micro")],
        ok,
        seen_at=start + dt.timedelta(hours=1),
    )
    ingest(
        prod,
        "eu-west-1",
        ["ec2:instance"],
        [instance("stopped", "m5.large")],
        ok,
        seen_at=start + dt.timedelta(hours=2),
    )
    ingest(prod, "eu-west-1", ["ec2:instance"], [], ok, seen_at=start + dt.timedelta(hours=3))
    resource = Resource.objects.get(resource_id="i-01")
    client.force_login(viewer_user)
    response = client.get(url(resource))
    revisions = response.context["revisions"]
    assert [r.kind for r in revisions] == ["deleted", "changed", "changed"]
    assert [(c.path, c.old, c.new) for c in revisions[1].changes] == [
        ("data.InstanceType", "t3.micro", "m5.large")
    ]
    assert [(c.path, c.old, c.new) for c in revisions[2].changes] == [
        ("data.State.Name", "running", "stopped")
    ]
    page = response.content.decode()
    assert "data.State.Name" in page and "running" in page and "stopped" in page
    assert "Deleted: collection stopped seeing this resource" in page
    assert "No longer seen by a complete collection." in page


def test_only_the_latest_revisions_are_shown(client: Client, prod: AwsAccount, viewer_user: Any) -> None:
    resource = make_resource(prod)
    now = timezone.now()
    ResourceRevision.objects.bulk_create(
        [
            ResourceRevision(
                resource=resource,
                collected_at=now - dt.timedelta(minutes=i),
                changes=[{"path": "data.n", "old": i, "new": i + 1}],
            )
            for i in range(55)
        ]
    )
    client.force_login(viewer_user)
    response = client.get(url(resource))
    assert len(response.context["revisions"]) == 50 and response.context["more_revisions"]
    assert response.context["revisions"][0].changes[0].old == "0"
    assert "Older changes are not shown." in response.content.decode()


def test_page_query_count_is_constant(
    client: Client, prod: AwsAccount, viewer_user: Any, django_assert_max_num_queries: Any
) -> None:
    resource = make_resource(prod, tags={f"k{i}": "v" for i in range(40)})
    ResourceRevision.objects.bulk_create(
        [ResourceRevision(resource=resource, changes=[{"path": "x", "old": 1, "new": 2}]) for _ in range(30)]
    )
    client.force_login(viewer_user)
    with django_assert_max_num_queries(6):
        assert client.get(url(resource)).status_code == 200


# --- the display helpers, on odd data ------------------------------------------------------------


def test_metadata_that_is_not_an_object_is_still_shown() -> None:
    entries = metadata_entries(["a", 1])
    assert len(entries) == 1 and entries[0].nested and '"a"' in entries[0].text
    assert metadata_entries({}) == []
    mixed = metadata_entries({"b": 1, "a": True, 3: "x"})
    assert [(e.key, e.text) for e in mixed] == [("3", "x"), ("a", "true"), ("b", "1")]


def test_huge_metadata_is_cut_with_a_note() -> None:
    text, cut = pretty_json({"blob": "x" * 300_000})
    assert cut and len(text) < 201_000 and "more characters not shown" in text
    entries = metadata_entries({"Big": ["y" * 250_000]})
    assert entries[0].truncated


def test_odd_change_entries_are_shown_not_dropped() -> None:
    rows = change_rows([{"path": "a", "old": None, "new": {"k": [1, 2]}}, "weird", {"new": "x"}, 7])
    assert (rows[0].old_absent, rows[0].new) == (True, '{"k": [1, 2]}')
    assert rows[1].path == "(change)" and rows[1].new == "weird"
    assert rows[2].path == "" and rows[2].new == "x"
    assert rows[3].new == "7"
    assert change_rows("not a list") == [] and change_rows(None) == []
