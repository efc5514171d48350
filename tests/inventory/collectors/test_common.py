"""Unit tests for the collectors' shared helpers (no endpoint needed)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse

from botocore.exceptions import ClientError

from inventory.collectors.base import CollectContext
from inventory.collectors.common import (
    Guard,
    json_safe,
    normalise_tags,
    parse_policy,
)
from inventory.collectors.iam import parse_credential_report
from inventory.records import Coverage

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}],
}


def test_json_safe_converts_datetimes_bytes_and_drops_response_metadata() -> None:
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    answer = {
        "CreateDate": when,
        "Blob": b"\x00\x01",
        "Nested": [{"At": dt.date(2024, 1, 2)}, (1, 2)],
        3: "int key",
        "ResponseMetadata": {"RequestId": "x"},
    }
    safe = json_safe(answer)
    assert safe == {
        "CreateDate": "2024-05-01T12:30:00+00:00",
        "Blob": "AAE=",
        "Nested": [{"At": "2024-01-02"}, [1, 2]],
        "3": "int key",
    }
    json.dumps(safe)  # really JSON-serialisable


def test_json_safe_replaces_nul_and_lone_surrogates_that_databases_reject() -> None:
    safe = json_safe({"Name": "a\x00b", "Desc": "x\ud800y"})
    assert "\x00" not in safe["Name"]
    safe["Desc"].encode("utf-8")  # would raise on a lone surrogate


def test_parse_policy_accepts_dict_json_and_url_encoded_strings() -> None:
    text = json.dumps(POLICY)
    assert parse_policy(POLICY) == POLICY
    assert parse_policy(text) == POLICY
    assert parse_policy(urllib.parse.quote(text)) == POLICY
    assert parse_policy(None) is None
    assert parse_policy("  ") is None


def test_parse_policy_keeps_unparseable_text_visible_instead_of_reporting_no_policy() -> None:
    assert parse_policy("{not json") == {"Unparsed": "{not json"}
    assert parse_policy("[1, 2]") == {"Unparsed": [1, 2]}


def test_normalise_tags_handles_every_spelling_and_odd_values_verbatim() -> None:
    huge = "v" * 100_000
    assert normalise_tags(
        [{"Key": "Name", "Value": "<script>alert(1)</script>"}, {"Key": "ü", "Value": "日本"}]
    ) == {
        "Name": "<script>alert(1)</script>",
        "ü": "日本",
    }
    assert normalise_tags([{"key": "a", "value": "b"}, {"TagKey": "c", "TagValue": "d"}]) == {
        "a": "b",
        "c": "d",
    }
    assert normalise_tags({"n": 5, 7: None, "big": huge}) == {"n": "5", "7": "", "big": huge}
    assert normalise_tags([{"Value": "no key"}, "junk", None, {"Key": "k"}]) == {"k": ""}
    assert normalise_tags(None) == {}
    assert normalise_tags("not tags") == {}


def test_credential_report_parse_keeps_header_names_and_tolerates_bom_and_short_rows() -> None:
    content = (
        "\ufeffuser,arn,mfa_active,access_key_1_active\n"
        "<root_account>,arn:aws:iam::123456789012:root,true,false\n"
        "\n"
        "alice,arn:aws:iam::123456789012:user/alice,false\n"
    ).encode()
    rows = parse_credential_report(content)
    assert rows == [
        {
            "user": "<root_account>",
            "arn": "arn:aws:iam::123456789012:root",
            "mfa_active": "true",
            "access_key_1_active": "false",
        },
        {
            "user": "alice",
            "arn": "arn:aws:iam::123456789012:user/alice",
            "mfa_active": "false",
            "access_key_1_active": "",
        },
    ]
    assert parse_credential_report(b"") == []


def test_guard_marks_a_listing_with_the_classified_coverage_and_keeps_going() -> None:
    ctx = CollectContext(account_id="123456789012", region="us-east-1", client=lambda *a: None)
    g = Guard(ctx, "ec2")
    denied = ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeVpcs")
    with g.listing("ec2:vpc", "DescribeVpcs"):
        raise denied
    with g.listing("ec2:subnet", "DescribeSubnets"):
        pass
    assert ctx.coverage == {"ec2:vpc": Coverage.DENIED}
    assert [(e.code, e.resource_type, e.aws_code) for e in ctx.errors] == [
        ("access-denied", "ec2:vpc", "UnauthorizedOperation")
    ]


def test_guard_extra_distinguishes_absent_from_failed() -> None:
    ctx = CollectContext(account_id="123456789012", region="us-east-1", client=lambda *a: None)
    g = Guard(ctx, "s3")
    unavailable: dict[str, str] = {}

    def absent() -> None:
        raise ClientError({"Error": {"Code": "NoSuchBucketPolicy"}}, "GetBucketPolicy")

    def throttled() -> None:
        raise ClientError({"Error": {"Code": "SlowDown"}}, "GetBucketAcl")

    assert g.extra("s3:bucket", unavailable, "Policy", absent) is None
    assert g.extra("s3:bucket", unavailable, "Acl", throttled, resource="b") is None
    assert unavailable == {"Acl": "throttled"}
    assert ctx.coverage == {}  # a per-resource failure never fails the type
    assert [e.message.startswith("b: ") for e in ctx.errors] == [True]
