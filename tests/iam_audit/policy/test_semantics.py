"""Property tests pinning the one engine's semantics where the checks' and the graph's engines differed.

The checks used to treat every policy variable as ``*``; the graph substituted the caller's values
and let a missing one match nothing. The checks stripped blanks around the action asked for; the
graph did not. The checks let a NotAction exclude a wildcard action that overlaps it; the graph did
not. Each property below states what the one engine does now, for any input.
"""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from iam_audit.policy import ALLOW, DENY, evaluate, parse_policy
from iam_audit.policy.match import resource_matches, substitute_variables
from iam_audit.policy.model import Statement, statements

SERVICES = st.sampled_from(["s3", "iam", "ec2", "sts", "kms"])
NAME = st.text(alphabet=st.sampled_from(list("abcXYZ")), min_size=1, max_size=6)
ACTION = st.builds(lambda s, n: f"{s}:{n}", SERVICES, NAME)
PATTERN_PART = st.text(alphabet=st.sampled_from(list("abcXYZ*?")), min_size=1, max_size=6)
ACTION_PATTERN = st.one_of(st.just("*"), st.builds(lambda s, n: f"{s}:{n}", SERVICES, PATTERN_PART))
BLANKS = st.sampled_from(["", " ", "  ", "\t", " \n"])
SEGMENT = st.text(alphabet=st.sampled_from(list("abcXYZ-_")), min_size=1, max_size=8)


def one(raw: dict) -> Statement:
    found = statements({"Version": "2012-10-17", "Statement": raw})
    assert len(found) == 1
    return found[0]


def reference(pattern: str, value: str, *, ignore_case: bool) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)  # no [ ] in these alphabets, so fnmatch is IAM's glob


@settings(deadline=None)
@given(ACTION_PATTERN, ACTION, BLANKS, BLANKS, st.booleans())
def test_actions_match_case_insensitively_with_blanks_ignored(
    pattern: str, action: str, before: str, after: str, upper: bool
) -> None:
    s = one({"Effect": "Allow", "Action": before + pattern + after, "Resource": "*"})
    asked = action.upper() if upper else action
    expected = reference(pattern, action, ignore_case=True)
    assert s.matches_action(asked) is expected
    assert s.matches_action(f" {asked} ") is expected


@settings(deadline=None)
@given(SEGMENT, SEGMENT)
def test_resources_match_case_sensitively(bucket: str, key: str) -> None:
    s = one({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f" arn:aws:s3:::{bucket}/* "})
    assert s.matches_resource(f"arn:aws:s3:::{bucket}/{key}")
    if bucket.swapcase() != bucket:
        assert not s.matches_resource(f"arn:aws:s3:::{bucket.swapcase()}/{key}")


@settings(deadline=None)
@given(ACTION_PATTERN, ACTION, st.booleans())
def test_list_and_scalar_fields_are_the_same(pattern: str, action: str, negated: bool) -> None:
    key = "NotAction" if negated else "Action"
    scalar = one({"Effect": "Allow", key: pattern, "Resource": "arn:aws:s3:::b"})
    listed = one({"Effect": "Allow", key: [pattern], "Resource": ["arn:aws:s3:::b"]})
    assert scalar.matches_action(action) is listed.matches_action(action)
    assert scalar.matches_resource("arn:aws:s3:::b") and listed.matches_resource("arn:aws:s3:::b")


@settings(deadline=None)
@given(st.lists(ACTION_PATTERN, min_size=1, max_size=4), ACTION)
def test_notaction_covers_exactly_the_actions_action_does_not(patterns: list[str], action: str) -> None:
    allow = one({"Effect": "Allow", "Action": patterns, "Resource": "*"})
    allow_not = one({"Effect": "Allow", "NotAction": patterns, "Resource": "*"})
    assert allow_not.matches_action(action) is not allow.matches_action(action)


@settings(deadline=None)
@given(st.lists(ACTION_PATTERN, min_size=1, max_size=4), SERVICES)
def test_notaction_never_covers_a_wildcard_it_overlaps(patterns: list[str], service: str) -> None:
    # "does this statement grant all of s3:*?": not when the NotAction excludes some of s3
    s = one({"Effect": "Allow", "NotAction": patterns, "Resource": "*"})
    overlapping = any(
        reference(p, f"{service}:*", ignore_case=True) or reference(f"{service}:*", p, ignore_case=True)
        for p in patterns
    )
    if overlapping:
        assert not s.matches_action(f"{service}:*")
    assert not s.matches_action("*")  # "everything but ..." is never everything


@settings(deadline=None)
@given(ACTION, SEGMENT, st.booleans(), st.booleans())
def test_an_applying_deny_overrides_any_allow(action: str, name: str, deny_first: bool, scalar: bool) -> None:
    resource = f"arn:aws:s3:::{name}"
    allow = {"Effect": ALLOW, "Action": action if scalar else [action], "Resource": "*"}
    deny = {"Effect": DENY, "Action": "*", "Resource": resource}
    doc = {"Statement": [deny, allow] if deny_first else [allow, deny]}
    entries = [(None, s) for s in parse_policy(doc).statements]
    result = evaluate(entries, action, resource)
    assert result.allows and result.denied and not result.allowed
    elsewhere = evaluate(entries, action, resource + "-other")
    assert elsewhere.allowed


@settings(deadline=None)
@given(SEGMENT, SEGMENT)
def test_variables_match_any_value_without_a_caller(user: str, other: str) -> None:
    # the checks ask "may this statement ever cover ...": nothing is known about the caller
    s = one({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::*:user/${aws:username}"})
    assert s.matches_resource(f"arn:aws:iam::111122223333:user/{user}")
    assert resource_matches("arn:aws:s3:::home/${aws:userid}/*", f"arn:aws:s3:::home/{other}/x")


@settings(deadline=None)
@given(SEGMENT, SEGMENT)
def test_variables_resolve_from_the_callers_context(user: str, other: str) -> None:
    pattern = "arn:aws:iam::*:user/${aws:username}"
    s = one({"Effect": "Allow", "Action": "iam:*", "Resource": pattern})
    arn = f"arn:aws:iam::111122223333:user/{user}"
    assert s.matches_resource(arn, {"aws:username": user})
    assert s.matches_resource(arn, {"aws:username": other}) is (user == other)
    # a caller without a user name (a role) is known to lack it: the statement does not apply
    assert not s.matches_resource(arn, {"aws:principalarn": "arn:aws:iam::1:role/r"})
    # a key that cannot be known before the request matches any value
    assert substitute_variables("arn:aws:s3:::b/${aws:PrincipalTag/team}/*", {}) == "arn:aws:s3:::b/*/*"
    assert substitute_variables("${aws:username, 'nobody'}", {}) == "nobody"


def test_literal_specials_in_variables_only_match_themselves() -> None:
    assert not resource_matches("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/anything")
    assert not resource_matches("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/anything", {})
