"""Policy parsing, statement matching and condition wording."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from iam_audit.policy.conditions import describe, evaluate_condition
from iam_audit.policy.evaluate import evaluate
from iam_audit.policy.model import ALL_RESOURCES, Condition, Statement, parse_policy


def _entries(document: Any) -> list[tuple[None, Statement]]:
    return [(None, st) for st in parse_policy(document).statements]


def test_statement_as_single_object_parses_like_a_list_of_one() -> None:
    single = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    }
    listed = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}],
    }
    a, b = parse_policy(single).statements, parse_policy(listed).statements
    assert len(a) == len(b) == 1
    assert (a[0].actions, a[0].resources) == (b[0].actions, b[0].resources) == (("s3:GetObject",), ("*",))


def test_json_text_and_url_encoded_documents_parse() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    text = json.dumps(document)
    assert len(parse_policy(text).statements) == 1
    assert len(parse_policy(urllib.parse.quote(text)).statements) == 1


def test_garbage_documents_give_no_statements_and_say_why() -> None:
    for garbage in (None, "not json", 42, ["x"], {"Statement": "nope"}, {"Statement": [1, None]}, {}):
        parsed = parse_policy(garbage)
        assert parsed.statements == ()
        assert parsed.problems


def test_odd_members_are_dropped_and_noted() -> None:
    parsed = parse_policy(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", {"x": 1}, None],
                    "Resource": "*",
                    "Condition": "bad",
                }
            ]
        }
    )
    st = parsed.statements[0]
    assert st.actions == ("s3:GetObject",)
    assert st.conditions == ()
    assert len(parsed.problems) == 3


def test_unknown_effect_never_applies() -> None:
    ev = evaluate(
        _entries({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}), "s3:GetObject", "*"
    )
    assert not ev.allows and not ev.denies


def test_missing_resource_in_identity_statement_covers_everything_but_is_noted_as_given() -> None:
    st = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*"}]}).statements[0]
    assert not st.resource_given and st.covers_all_resources()


def test_all_resources_request_needs_a_statement_covering_all() -> None:
    entries = _entries(
        {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    )
    assert not evaluate(entries, "s3:GetObject", ALL_RESOURCES).allowed
    assert evaluate(entries, "s3:GetObject", "arn:aws:s3:::b/key").allowed
    wide = _entries(
        {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:*:*:*"}]}
    )
    assert evaluate(wide, "s3:GetObject", ALL_RESOURCES).allowed


def test_policy_variables_resolve_from_the_context_and_missing_ones_match_nothing() -> None:
    entries = _entries(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iam:ChangePassword",
                    "Resource": "arn:aws:iam::*:user/${aws:username}",
                }
            ]
        }
    )
    ctx = {"aws:username": "alice"}
    assert evaluate(entries, "iam:ChangePassword", "arn:aws:iam::1:user/alice", ctx).allowed
    assert not evaluate(entries, "iam:ChangePassword", "arn:aws:iam::1:user/bob", ctx).allowed
    assert not evaluate(entries, "iam:ChangePassword", "arn:aws:iam::1:user/alice", {}).allowed


def test_deny_beats_allow_and_conditional_deny_is_a_requirement() -> None:
    entries = _entries(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "ec2:*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                },
            ]
        }
    )
    assert not evaluate(entries, "s3:GetObject", "*").allowed
    ec2 = evaluate(entries, "ec2:RunInstances", "*")
    assert ec2.allowed and [r.text for r in ec2.deny_requirements()] == ["MFA required"]


def test_statically_false_condition_removes_the_statement() -> None:
    entries = _entries(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": "111111111111"}},
                }
            ]
        }
    )
    assert evaluate(entries, "s3:GetObject", "*", {"aws:principalaccount": "111111111111"}).allowed
    assert not evaluate(entries, "s3:GetObject", "*", {"aws:principalaccount": "222222222222"}).allowed
    unknown = evaluate(entries, "s3:GetObject", "*", {})
    assert unknown.allowed and unknown.allows[0].requirements[0].kind == "principal"


def test_condition_words() -> None:
    def text(op: str, key: str, values: list[str], effect: str = "Allow") -> str:
        return describe(Condition(op, key, tuple(values)), effect).text

    assert text("Bool", "aws:MultiFactorAuthPresent", ["true"]) == "MFA required"
    assert text("BoolIfExists", "aws:MultiFactorAuthPresent", ["false"], "Deny") == "MFA required"
    assert text("Null", "aws:MultiFactorAuthAge", ["true"], "Deny") == "MFA required"
    assert text("NumericLessThan", "aws:MultiFactorAuthAge", ["3600"]) == "MFA required (within 3600 s)"
    assert (
        text("NumericGreaterThan", "aws:MultiFactorAuthAge", ["3600"], "Deny")
        == "MFA required (within 3600 s)"
    )
    assert text("StringEquals", "sts:ExternalId", ["x"]) == "ExternalId required"
    assert text("IpAddress", "aws:SourceIp", ["10.0.0.0/8"]) == "source IP in 10.0.0.0/8"
    assert text("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8"], "Deny") == "source IP in 10.0.0.0/8"
    assert text("StringNotEquals", "aws:SourceVpc", ["vpc-1"], "Deny") == "source VPC is vpc-1"
    assert text("StringEquals", "aws:PrincipalOrgID", ["o-1"]) == "caller's organisation is o-1"
    assert text("Bool", "aws:MultiFactorAuthPresent", ["false"]) != "MFA required"
    assert describe(Condition("StringEquals", "aws:SourceVpc", ("v",)), "Allow").kind == "source-vpc"


def test_condition_evaluation_operators() -> None:
    ctx = {"aws:principalarn": "arn:aws:iam::1:role/Deploy"}

    def ev(op: str, values: list[str]) -> bool | None:
        return evaluate_condition(Condition(op, "aws:PrincipalArn", tuple(values)), ctx)

    assert ev("ArnLike", ["arn:aws:iam::*:role/Dep*"]) is True
    assert ev("ArnNotLike", ["arn:aws:iam::*:role/Dep*"]) is False
    assert ev("StringEquals", ["arn:aws:iam::1:role/Deploy"]) is True
    assert ev("StringEqualsIgnoreCase", ["ARN:AWS:IAM::1:ROLE/DEPLOY"]) is True
    assert ev("StringNotEquals", ["x"]) is True
    assert ev("ArnLikeIfExists", ["arn:aws:iam::2:*"]) is False
    assert ev("ForAllValues:StringLike", ["*"]) is None
    assert ev("Null", ["true"]) is False
    assert ev("DateLessThan", ["2020"]) is None
    assert evaluate_condition(Condition("StringEquals", "aws:SourceIp", ("1",)), ctx) is None


def test_identical_documents_share_one_parsed_object() -> None:
    a = parse_policy({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    b = parse_policy({"Statement": [{"Resource": "*", "Action": "s3:*", "Effect": "Allow"}]})
    assert a is b
