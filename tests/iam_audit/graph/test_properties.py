"""Property-based tests: wildcard matching against a reference, and odd policy documents never crash."""

from __future__ import annotations

import fnmatch
import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iam_audit.policy import ALL_RESOURCES, evaluate, parse_policy
from iam_audit.policy.match import action_matches, arn_matches, wildcard_match

from .factories import IDENTITY, Story, role_item, root, user_item

# fnmatch treats [ ] as character classes; IAM does not, so the reference alphabet leaves them out
ALPHABET = st.sampled_from(list("ab:/-*?Zé.") + ["\n", "🚀"])
TEXT = st.text(alphabet=st.sampled_from(list("ab:/-Zé.") + ["🚀"]), max_size=12)
PATTERN = st.text(alphabet=ALPHABET, max_size=10)


def reference(pattern: str, value: str) -> bool:
    # fnmatchcase's * and ? match anything including "/" and newlines when compiled with DOTALL
    return fnmatch.fnmatchcase(value, pattern)


@settings(deadline=None)
@given(PATTERN, TEXT)
def test_wildcard_matches_like_fnmatch(pattern: str, value: str) -> None:
    assert wildcard_match(pattern, value) == reference(pattern, value)


@settings(deadline=None)
@given(PATTERN, TEXT)
def test_action_matching_is_case_insensitive(pattern: str, value: str) -> None:
    assert action_matches(pattern, value) == reference(pattern.lower(), value.lower())
    assert action_matches(pattern.upper(), value.lower()) == action_matches(pattern.lower(), value.upper())


@settings(deadline=None)
@given(TEXT)
def test_star_matches_everything_and_literal_matches_itself(value: str) -> None:
    assert wildcard_match("*", value)
    assert wildcard_match(value, value)
    assert arn_matches(value, value)


def test_brackets_are_literal_in_iam_patterns() -> None:
    assert wildcard_match("arn:aws:s3:::b[1]", "arn:aws:s3:::b[1]")
    assert not wildcard_match("arn:aws:s3:::b[12]", "arn:aws:s3:::b1")


def test_pathological_pattern_is_fast() -> None:
    pattern = "*a" * 40 + "*b"
    value = "a" * 5000
    start = time.process_time()
    assert not wildcard_match(pattern, value)
    assert time.process_time() - start < 0.5


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD = st.sampled_from(
    [
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "Sid",
        "effect",
        "action",
    ]
)
VALUE = st.one_of(
    st.sampled_from(["Allow", "Deny", "*", "s3:Get*", "sts:AssumeRole", "arn:aws:iam::*:role/*", "é🚀"]),
    st.lists(
        st.sampled_from(["*", "iam:*", "sts:AssumeRole", "arn:aws:s3:::*", "${aws:username}", ""]), max_size=3
    ),
    st.dictionaries(
        st.sampled_from(["AWS", "Service", "Federated", "Bool", "StringLike", "x"]), JSON, max_size=3
    ),
    JSON,
)
STATEMENT = st.dictionaries(FIELD, VALUE, max_size=6)
DOCUMENT = st.one_of(
    st.fixed_dictionaries(
        {"Version": st.just("2012-10-17"), "Statement": st.one_of(STATEMENT, st.lists(STATEMENT, max_size=5))}
    ),
    st.dictionaries(st.sampled_from(["Statement", "Version", "statement"]), VALUE, max_size=2),
    JSON,
    st.text(max_size=40),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_parsing_and_evaluating_odd_documents_never_crashes(document: object) -> None:
    parsed = parse_policy(document)
    entries = [(None, s) for s in parsed.statements]
    for action, resource in (("sts:AssumeRole", "arn:aws:iam::1:role/R"), ("s3:GetObject", ALL_RESOURCES)):
        ev = evaluate(entries, action, resource, {"aws:username": "u"})
        assert isinstance(ev.allowed, bool)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT, DOCUMENT)
def test_building_a_graph_from_odd_documents_never_crashes(identity_doc: object, trust_doc: object) -> None:
    s = Story(
        {
            IDENTITY: [
                user_item(IDENTITY, "u", policies=[{"PolicyName": "p", "PolicyDocument": identity_doc}]),
                role_item(
                    IDENTITY, "r", trust_doc, policies=[{"PolicyName": "p", "PolicyDocument": identity_doc}]
                ),
                role_item(
                    IDENTITY,
                    "t",
                    {
                        "Statement": {
                            "Effect": "Allow",
                            "Principal": {"AWS": root(IDENTITY)},
                            "Action": "sts:AssumeRole",
                        }
                    },
                    policies=[{"PolicyName": "p", "PolicyDocument": identity_doc}],
                ),
            ]
        }
    )
    graph = s.graph()
    graph.findings()
    for p in graph.paths:
        p.describe()


@settings(deadline=None)
@given(
    st.text(max_size=30),
    st.lists(st.sampled_from(["s3:GetObject", "S3:get*", "*", "iam:Pass?ole"]), max_size=4),
)
def test_single_object_and_list_statements_agree(sid: str, actions: list[str]) -> None:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"}
    single = parse_policy({"Statement": statement})
    listed = parse_policy({"Statement": [statement]})
    for action in ("s3:GetObject", "iam:PassRole", "ec2:RunInstances"):
        a = evaluate([(None, s) for s in single.statements], action, "*").allowed
        b = evaluate([(None, s) for s in listed.statements], action, "*").allowed
        assert a == b


def test_very_large_policy_parses_and_evaluates_quickly() -> None:
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": [f"svc{i % 300}:Action{j}" for j in range(20)],
            "Resource": [f"arn:aws:s3:::bucket-{i}-{j}/*" for j in range(5)],
        }
        for i in range(3000)
    ]
    statements.append(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/Target"}
    )
    document = {"Version": "2012-10-17", "Statement": statements}
    start = time.process_time()
    parsed = parse_policy(json.dumps(document))
    ev = evaluate([(None, s) for s in parsed.statements], "sts:AssumeRole", "arn:aws:iam::1:role/Target")
    assert ev.allowed and len(parsed.statements) == 3001
    assert time.process_time() - start < 5
