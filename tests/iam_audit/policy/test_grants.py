"""The policy engine as the checks use it: odd shapes, wildcards, principals and conditions."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from iam_audit.policy.conditions import (
    denies_insecure_transport,
    limiting_conditions,
    requires_external_id,
    requires_mfa,
)
from iam_audit.policy.grants import (
    all_resources,
    external_accounts,
    grants_by_action,
    grants_full_admin,
    public_grant,
)
from iam_audit.policy.match import action_matches, resource_matches, wildcard_match
from iam_audit.policy.model import MAX_STATEMENTS, Principals, Statement, load_document, statements


def principal_of(value: object) -> Principals:
    found = statements({"Statement": {"Effect": "Allow", "Principal": value, "Action": "sts:AssumeRole"}})
    assert len(found) == 1, found
    return found[0].principal or Principals(())


def one(doc: object) -> Statement:
    found = statements(doc)
    assert len(found) == 1, found
    return found[0]


# ----------------------------------------------------------------------------------- documents
@pytest.mark.parametrize(
    "doc",
    [
        None,
        "",
        "   ",
        "not json",
        42,
        b"\xff\xfe",
        "[1, 2",
        {"Statement": "nope"},
        {"Statement": [1, None, "x"]},
    ],
)
def test_non_policies_yield_no_statements(doc: object) -> None:
    assert statements(doc) == []


def test_json_string_and_url_encoded_documents_are_parsed() -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    assert one(json.dumps(doc)).actions == ("s3:GetObject",)
    assert one(urllib.parse.quote(json.dumps(doc))).actions == ("s3:GetObject",)
    assert one(json.dumps(doc).encode()).is_allow


def test_statement_as_a_single_object_and_action_as_a_string() -> None:
    s = one(
        {
            "Statement": {
                "Sid": "Ünïcødé <b>",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::1:role/x",
            }
        }
    )
    assert (
        s.sid == "Ünïcødé <b>"
        and s.actions == ("iam:PassRole",)
        and s.resources == ("arn:aws:iam::1:role/x",)
    )
    assert s.index == 0 and s.ref() == {"index": 0, "sid": "Ünïcødé <b>"}


def test_bare_statement_list_and_lone_statement_documents() -> None:
    assert one([{"Effect": "Deny", "Action": "*", "Resource": "*"}]).is_deny
    assert one({"Effect": "Allow", "Action": "*", "Resource": "*"}).is_allow


def test_deeply_nested_json_does_not_crash() -> None:
    assert load_document("[" * 100_000 + "]" * 100_000) is None


def test_huge_documents_are_bounded_and_fast() -> None:
    doc = {"Statement": [{"Effect": "Allow", "Action": f"s3:Get{i}", "Resource": "*"} for i in range(20_000)]}
    start = time.perf_counter()
    found = statements(doc)
    assert len(found) == MAX_STATEMENTS
    assert time.perf_counter() - start < 2


def test_invalid_effect_is_neither_allow_nor_deny() -> None:
    s = one({"Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}})
    assert not s.is_allow and not s.is_deny


# ----------------------------------------------------------------------------------- matching
@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("iam:Pass*", "iam:PassRole", True),
        ("IAM:passrole", "iam:PassRole", True),
        ("s3:Get*", "s3:PutObject", False),
        ("*", "ec2:RunInstances", True),
        ("s3:*", "s3:*", True),
        ("s3:Get*", "s3:*", False),
        ("ec2:Describe?nstances", "ec2:DescribeInstances", True),
        ("iam:*Policy", "iam:PutUserPolicy", True),
        ("iam:*Policy", "iam:PutUserPolicyX", False),
    ],
)
def test_action_wildcards(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


def test_resource_matching_is_case_sensitive_and_expands_variables() -> None:
    assert wildcard_match("arn:aws:s3:::Bucket/*", "arn:aws:s3:::Bucket/key")
    assert not wildcard_match("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/key")
    assert resource_matches("arn:aws:iam::1:user/${aws:username}", "arn:aws:iam::1:user/alice")


def test_hostile_wildcard_patterns_match_in_bounded_time() -> None:
    start = time.perf_counter()
    assert not wildcard_match("*a" * 40 + "b", "a" * 5000)
    assert time.perf_counter() - start < 1


def test_notaction_covers_everything_but_the_listed_actions() -> None:
    s = one({"Statement": {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}})
    assert s.not_action and s.actions == ("iam:*", "organizations:*")
    assert s.matches_action("s3:GetObject")
    assert not s.matches_action("iam:PassRole")
    assert not s.matches_action("*")  # not *everything*


def test_notresource_and_missing_resource() -> None:
    s = one({"Statement": {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}})
    assert s.matches_resource("arn:aws:s3:::public/x") and not s.matches_resource("arn:aws:s3:::secret/x")
    assert all_resources(s)
    trust = one({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}})
    assert trust.matches_resource("anything")


@pytest.mark.parametrize(
    ("statement", "admin"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]}, True),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}, False),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, False),
    ],
)
def test_full_admin_detection(statement: dict, admin: bool) -> None:
    assert grants_full_admin(one({"Statement": statement})) is admin


# ----------------------------------------------------------------------------------- principals
@pytest.mark.parametrize(
    "principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}, {"aws": "*"}]
)
def test_everyone_principals(principal: object) -> None:
    assert principal_of(principal).anyone


def test_account_principals_in_every_form() -> None:
    pr = principal_of(
        {
            "AWS": [
                "arn:aws:iam::111122223333:root",
                "444455556666",
                "arn:aws:iam::777788889999:role/x",
                "arn:aws:sts::123412341234:assumed-role/r/s",
                "AROAUNIQUEID",
            ],
            "Service": "ec2.amazonaws.com",
            "Federated": ["arn:aws:iam::1:saml-provider/idp"],
        }
    )
    assert not pr.anyone
    assert pr.accounts() == {"111122223333", "444455556666", "777788889999", "123412341234"}
    assert pr.unresolved() == ["AROAUNIQUEID"]
    assert pr.service == ("ec2.amazonaws.com",) and pr.federated == ("arn:aws:iam::1:saml-provider/idp",)


@pytest.mark.parametrize("value", [None, 12, ["*"], {"AWS": None}, {"AWS": {"nested": 1}}])
def test_odd_principals_do_not_crash(value: object) -> None:
    assert not principal_of(value).anyone


# ----------------------------------------------------------------------------------- conditions
def stmt(condition: dict | None = None, principal: object = "*", effect: str = "Allow") -> Statement:
    raw = {"Effect": effect, "Principal": principal, "Action": "s3:GetObject", "Resource": "*"}
    if condition is not None:
        raw["Condition"] = condition
    return one({"Statement": raw})


@pytest.mark.parametrize(
    ("condition", "limits"),
    [
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, True),
        ({"StringEquals": {"AWS:PRINCIPALORGID": ["o-abc"]}}, True),
        ({"StringLike": {"aws:PrincipalOrgID": "o-*"}}, False),
        ({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}, False),
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}}, False),
        ({"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "o-abc/*"}}, False),
        ({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-abc/r-1/*"}}, True),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, False),
        ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}, True),
        ({"IpAddress": {"aws:SourceIp": "not-an-ip"}}, False),
        ({"StringEquals": {"aws:SourceVpce": "vpce-123"}}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, False),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::my-bucket"}}, True),
        ({"StringEquals": {"AWS:SourceOwner": "111122223333"}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, False),
        ({"StringEquals": {"aws:Referer": "example.com"}}, False),
        ({"Null": {"aws:PrincipalOrgID": "false"}}, False),
        ("not a dict", False),
    ],
)
def test_limiting_conditions(condition: object, limits: bool) -> None:
    s = one(
        {
            "Statement": {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "*",
                "Resource": "*",
                "Condition": condition,
            }
        }
    )
    assert bool(limiting_conditions(s)) is limits


def test_public_grant_needs_allow_everyone_and_no_limiting_condition() -> None:
    assert public_grant(stmt()) == {"index": 0, "sid": "", "statement": stmt().raw}
    assert public_grant(stmt({"StringEquals": {"aws:PrincipalOrgID": "o-1"}})) is None
    assert public_grant(stmt(principal={"AWS": "arn:aws:iam::1:root"})) is None
    assert public_grant(stmt(effect="Deny")) is None
    noted = public_grant(stmt({"Bool": {"aws:SecureTransport": "true"}}))
    assert noted and "note" in noted
    not_principal = one(
        {
            "Statement": {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
                "Action": "*",
                "Resource": "*",
            }
        }
    )
    assert public_grant(not_principal)


def test_external_id_mfa_and_tls_conditions() -> None:
    assert requires_external_id(stmt({"StringEquals": {"sts:ExternalId": "abc"}}))
    assert not requires_external_id(stmt({"StringLike": {"sts:ExternalId": "*"}}))
    assert not requires_external_id(stmt())
    assert requires_mfa(stmt({"Bool": {"aws:MultiFactorAuthPresent": True}}))
    assert requires_mfa(stmt({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}))
    assert not requires_mfa(stmt({"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
    deny = stmt({"Bool": {"aws:SecureTransport": False}}, effect="Deny")
    assert denies_insecure_transport(deny)
    assert not denies_insecure_transport(stmt({"Bool": {"aws:SecureTransport": "false"}}))


def test_external_accounts_of_a_statement() -> None:
    s = stmt(principal={"AWS": ["111122223333", "arn:aws:iam::999900001111:root"]})
    assert external_accounts(s, {"111122223333"}) == {"999900001111"}


def test_grants_by_action_returns_the_allow_statements_covering_it() -> None:
    doc = {
        "Statement": [
            {"Effect": "Allow", "Action": "iam:Pass*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        ]
    }
    assert [s.index for s in grants_by_action(doc, "iam:PassRole")] == [0]
