"""AWS's own managed policies (as moto ships them, the current versions) get the class their name says."""

from __future__ import annotations

import json

import pytest

from iam_audit.graph import Level
from iam_audit.graph.actions import universe
from iam_audit.graph.classify import classify
from iam_audit.graph.nodes import _everywhere_mask, _statement_mask
from iam_audit.policy import parse_policy


def _managed(name: str) -> dict:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)[name]["Document"]


def _class(document: dict):  # noqa: ANN202
    everywhere = anywhere = 0
    for st in parse_policy(document).statements:
        if st.is_allow:
            mask = _statement_mask(st)
            anywhere |= mask
            everywhere |= _everywhere_mask(st, mask)
    return classify(everywhere, anywhere)


@pytest.mark.parametrize(
    ("name", "level"),
    [
        # ReadOnlyAccess grants s3express:CreateSession (a Write in AWS's reference): still read-only
        ("ReadOnlyAccess", Level.READ_ALL),
        ("AdministratorAccess", Level.ADMINISTRATOR),
        ("PowerUserAccess", Level.POWER_USER),
    ],
)
def test_aws_managed_policies_are_classified_by_what_they_are(name: str, level: Level) -> None:
    universe()
    privilege = _class(_managed(name))
    assert privilege.level is level, privilege.detail
    if level is Level.READ_ALL:
        assert privilege.label == "read-only, all services"
