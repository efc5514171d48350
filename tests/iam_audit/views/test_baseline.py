"""The baseline: matrix cells (pass, fail, unknown, not applicable), compliance and its sorting, the
settings grid, exports, the accounts-list column and the account-page panels."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from iam_audit import compliance, engine
from iam_audit.checks import BASELINE_ITEMS, BASELINE_OFF_BY_DEFAULT
from iam_audit.choices import CheckState
from iam_audit.forms import setting_field
from iam_audit.models import BaselineSetting, CheckResult
from tests.accounts.helpers import read_csv, read_xlsx
from tests.factories import AwsAccountFactory
from tests.iam_audit.builders import make_finding, set_result

pytestmark = pytest.mark.django_db

IDS = [check_id for _, check_id in BASELINE_ITEMS]
OFF_IN_SANDBOX = "config.recorder"
assert OFF_IN_SANDBOX in BASELINE_OFF_BY_DEFAULT["sandbox"]


@pytest.fixture
def sec(client: Client, security_user: Any) -> Client:
    client.force_login(security_user)
    return client


@pytest.fixture
def viewer(client: Client, viewer_user: Any) -> Client:
    client.force_login(viewer_user)
    return client


def all_pass(account: Any) -> None:
    for check_id in IDS:
        set_result(account, check_id, CheckState.PASS)


def cells(response: Any, account: Any) -> dict[str, compliance.Cell]:
    row = next(r for r in response.context["rows"] if r.account.pk == account.pk)
    return {c.check_id: c for c in row.cells}


def test_matrix_cells_show_pass_fail_unknown_and_not_applicable_with_reasons(
    viewer: Client, prod_account: Any, sandbox_account: Any
) -> None:
    all_pass(prod_account)
    set_result(prod_account, "guardduty.enabled", CheckState.FAIL, "No enabled detector in eu-west-1")
    finding = make_finding(
        prod_account, check_id="guardduty.enabled", subject="arn:aws:iam::555555555555:root"
    )
    set_result(
        prod_account,
        "iam.access_analyzer",
        CheckState.UNKNOWN,
        "Not evaluated: data not collected for accessanalyzer:analyzer",
    )
    set_result(
        prod_account, "iam.user_outside_identity", CheckState.NOT_APPLICABLE, "This is the identity account"
    )
    CheckResult.objects.filter(account=prod_account, check_id="iam.support_role").delete()  # never evaluated
    set_result(
        sandbox_account, OFF_IN_SANDBOX, CheckState.FAIL, "no recorder"
    )  # stored, but switched off there

    response = viewer.get(reverse("iam_audit:baseline"))
    prod = cells(response, prod_account)
    assert prod["cloudtrail.multi_region"].state == CheckState.PASS
    assert (
        prod["guardduty.enabled"].state == CheckState.FAIL
        and prod["guardduty.enabled"].finding_id == finding.pk
    )
    assert (
        prod["iam.access_analyzer"].state == CheckState.UNKNOWN
        and "not collected" in prod["iam.access_analyzer"].reason
    )
    assert (
        prod["iam.support_role"].state == CheckState.UNKNOWN
        and prod["iam.support_role"].reason == compliance.NOT_EVALUATED
    )
    assert prod["iam.user_outside_identity"].state == CheckState.NOT_APPLICABLE
    sandbox = cells(response, sandbox_account)
    assert sandbox[OFF_IN_SANDBOX].state == CheckState.NOT_APPLICABLE
    assert sandbox[OFF_IN_SANDBOX].reason == "Switched off for Sandbox."

    body = response.content.decode()
    assert f'href="{reverse("iam_audit:finding_detail", args=[finding.pk])}"' in body
    assert 'title="Not evaluated: data not collected for accessanalyzer:analyzer"' in body  # tooltip
    assert '<div class="cell-why">Not evaluated: data not collected' in body  # and a visible short text
    assert "Switched off for Sandbox." in body

    row = next(r for r in response.context["rows"] if r.account.pk == prod_account.pk)
    # 13 items, 1 n/a -> 12 applicable; 9 pass (fail, unknown, never evaluated do not)
    assert (row.passed, row.applicable) == (len(IDS) - 4, len(IDS) - 1)
    assert row.percent == pytest.approx(100 * (len(IDS) - 4) / (len(IDS) - 1))


def test_an_account_never_evaluated_has_no_percentage_and_sorts_last(viewer: Client) -> None:
    good = AwsAccountFactory(name="b-good")
    all_pass(good)
    bad = AwsAccountFactory(name="c-bad")
    all_pass(bad)
    set_result(bad, "org.member", CheckState.FAIL)
    new = AwsAccountFactory(name="a-new")
    for sort, expected in (
        ("compliance", ["c-bad", "b-good", "a-new"]),
        ("-compliance", ["b-good", "c-bad", "a-new"]),
        ("name", ["a-new", "b-good", "c-bad"]),
        ("-name", ["c-bad", "b-good", "a-new"]),
        ("bogus", ["a-new", "b-good", "c-bad"]),
    ):
        response = viewer.get(reverse("iam_audit:baseline") + f"?sort={sort}")
        assert [r.account.name for r in response.context["rows"]] == expected, sort
    rows = {r.account.name: r for r in response.context["rows"]}
    assert rows["a-new"].percent is None and rows["b-good"].percent == 100.0
    assert new.pk


def test_the_matrix_filters_by_environment_and_search_and_skips_closed_accounts(viewer: Client) -> None:
    AwsAccountFactory(name="shop-prod", environment="prod")
    AwsAccountFactory(name="shop-dev", environment="dev")
    AwsAccountFactory(name="old-prod", environment="prod", status="closed")
    names = lambda q: [r.account.name for r in viewer.get(reverse("iam_audit:baseline") + q).context["rows"]]  # noqa: E731
    assert names("?environment=prod") == ["shop-prod"]
    assert names("?q=DEV") == ["shop-dev"]
    assert names("") == ["shop-dev", "shop-prod"]


def test_the_matrix_costs_the_same_queries_for_2_or_30_accounts(viewer: Client) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            viewer.get(reverse("iam_audit:baseline"))
        return len(ctx.captured_queries)

    for _ in range(2):
        all_pass(AwsAccountFactory())
    few = count()
    for _ in range(28):
        all_pass(AwsAccountFactory())
    assert count() == few


def test_baseline_exports_carry_states_and_reasons(
    viewer: Client, prod_account: Any, sandbox_account: Any
) -> None:
    all_pass(prod_account)
    set_result(prod_account, "org.member", CheckState.FAIL, "=cmd not a member")
    set_result(prod_account, "iam.password_policy", CheckState.UNKNOWN, "Not collected")
    lines = read_csv(b"".join(viewer.get(reverse("iam_audit:baseline") + "?export=csv").streaming_content))
    header = lines[0]
    assert header[:4] == ["Account ID", "Account", "Environment", "Compliance %"]
    assert header[6:] == [label for label, _ in BASELINE_ITEMS]
    prod = next(line for line in lines if line[0] == "555555555555")
    assert prod[header.index("Organisation member")] == "fail"
    assert prod[header.index("Password policy")] == "unknown: Not collected"
    sandbox = next(line for line in lines if line[0] == "777777777777")
    assert sandbox[header.index("Config")] == "n/a: Switched off for Sandbox."
    assert sandbox[3] == ""  # never evaluated
    sheet = read_xlsx(b"".join(viewer.get(reverse("iam_audit:baseline") + "?export=xlsx").streaming_content))
    assert sheet[0][:2] == ["Account ID", "Account"] and len(sheet) == 3


# --- settings --------------------------------------------------------------------------------------


def _post_grid(client: Client, changes: dict[tuple[str, str], bool]) -> Any:
    """Post the settings grid as it stands, with ``changes`` applied."""
    off = compliance.switched_off()
    data = {}
    for check_id in IDS:
        for env in off:
            on = changes.get((check_id, env), check_id not in off[env])
            if on:
                data[setting_field(check_id, env)] = "on"
    return client.post(reverse("iam_audit:baseline_settings"), data)


def test_settings_show_the_code_defaults(sec: Client) -> None:
    form = sec.get(reverse("iam_audit:baseline_settings")).context["form"]
    assert form[setting_field(OFF_IN_SANDBOX, "sandbox")].value() is False
    assert form[setting_field(OFF_IN_SANDBOX, "prod")].value() is True


def test_switching_an_item_off_makes_it_not_applicable_for_that_environment(
    sec: Client, security_user: Any, prod_account: Any
) -> None:
    all_pass(prod_account)
    set_result(prod_account, "iam.support_role", CheckState.FAIL)
    before = cells(sec.get(reverse("iam_audit:baseline")), prod_account)["iam.support_role"]
    assert before.state == CheckState.FAIL
    response = _post_grid(sec, {("iam.support_role", "prod"): False})
    assert response.status_code == 302
    setting = BaselineSetting.objects.get(check_id="iam.support_role", environment="prod")
    assert setting.enabled is False and setting.updated_by == security_user
    after = sec.get(reverse("iam_audit:baseline"))
    assert cells(after, prod_account)["iam.support_role"].state == CheckState.NOT_APPLICABLE
    assert next(r for r in after.context["rows"]).percent == 100.0
    # the engine reads the same setting: the next run answers not-applicable and resolves nothing wrongly
    engine.run_checks(prod_account, only=["iam.support_role"])
    assert (
        CheckResult.objects.get(account=prod_account, check_id="iam.support_role").state
        == CheckState.NOT_APPLICABLE
    )


def test_switching_a_default_off_item_on_shows_it_unknown_until_the_next_run(
    sec: Client, sandbox_account: Any
) -> None:
    engine.run_checks(sandbox_account, only=[OFF_IN_SANDBOX])  # stored as switched off
    assert (
        CheckResult.objects.get(account=sandbox_account, check_id=OFF_IN_SANDBOX).state
        == CheckState.NOT_APPLICABLE
    )
    _post_grid(sec, {(OFF_IN_SANDBOX, "sandbox"): True})
    assert BaselineSetting.objects.get(check_id=OFF_IN_SANDBOX, environment="sandbox").enabled is True
    cell = cells(sec.get(reverse("iam_audit:baseline")), sandbox_account)[OFF_IN_SANDBOX]
    assert cell.state == CheckState.UNKNOWN and cell.reason == compliance.SWITCHED_ON_LATE
    engine.run_checks(sandbox_account, only=[OFF_IN_SANDBOX])
    stored = CheckResult.objects.get(account=sandbox_account, check_id=OFF_IN_SANDBOX)
    assert stored.state == CheckState.UNKNOWN  # evaluated now: no Config data was collected


def test_going_back_to_the_default_keeps_no_setting_row(sec: Client) -> None:
    _post_grid(sec, {("iam.support_role", "prod"): False})
    assert BaselineSetting.objects.count() == 1
    _post_grid(sec, {})
    assert BaselineSetting.objects.count() == 1  # unchanged grid: nothing new
    _post_grid(sec, {("iam.support_role", "prod"): True})
    assert BaselineSetting.objects.count() == 0


# --- the accounts list column and the account page -------------------------------------------------


def test_the_accounts_list_shows_compliance_sortable_and_equal_to_the_matrix(viewer: Client) -> None:
    full = AwsAccountFactory(name="full", environment="prod")
    all_pass(full)
    half = AwsAccountFactory(name="half", environment="sandbox")
    all_pass(half)
    for check_id in IDS[:4]:
        set_result(half, check_id, CheckState.FAIL)
    AwsAccountFactory(name="never")
    response = viewer.get(reverse("accounts:account_list") + "?sort=baseline_compliance")
    table = response.context["table"]
    assert "baseline_compliance" in [c.name for c in table.columns]
    ordered = [row.record.name for row in table.page.object_list]
    matrix = {r.account.name: r.percent for r in compliance.matrix([full, half])}
    by_name = {row.record.name: row.record.baseline_compliance for row in table.page.object_list}
    assert by_name["full"] == pytest.approx(matrix["full"]) == 100.0
    assert by_name["half"] == pytest.approx(matrix["half"])
    assert by_name["never"] is None
    assert ordered.index("half") < ordered.index("full")
    body = response.content.decode()
    assert f"{matrix['half']:.0f}%" in body and reverse("iam_audit:baseline") in body
    exported = read_csv(
        b"".join(viewer.get(reverse("accounts:account_list") + "?export=csv").streaming_content)
    )
    assert "Baseline" in exported[0]


def test_the_account_page_has_the_baseline_and_findings_panels(viewer: Client, prod_account: Any) -> None:
    all_pass(prod_account)
    set_result(prod_account, "guardduty.enabled", CheckState.FAIL, "No detector")
    finding = make_finding(
        prod_account, check_id="guardduty.enabled", severity="high", title="GuardDuty is off"
    )
    body = viewer.get(reverse("accounts:account_detail", args=[prod_account.pk])).content.decode()
    assert 'id="panel-baseline"' in body and 'id="panel-findings"' in body
    assert "could not be shown" not in body
    assert f"{100 * (len(IDS) - 1) / len(IDS):.0f}%" in body
    assert "GuardDuty is off" in body and reverse("iam_audit:finding_detail", args=[finding.pk]) in body
    assert f"account={prod_account.pk}" in body
