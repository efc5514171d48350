"""Small factories for IAM items shaped as inventory/resource_types.py documents, and the story estate.

The story: in the identity account, user Developer is in group StagingReadOnly, whose customer
managed policy CompanyAssumeRoleStagingReadOnly allows sts:AssumeRole on the staging account's
CompanyReadOnly role; that role has AWS managed ReadOnlyAccess attached and trusts the identity
account's root; the group also has the enforce-MFA policy.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iam_audit.checks.base import Item
from iam_audit.graph import AccessGraph, EstateIam, build_graph, from_items

MGMT = "100000000001"
IDENTITY = "111111111111"
STAGING = "222222222222"
PROD = "333333333333"
OPS = "555555555555"
OUTSIDE = "444455556666"  # not in the organisation

ENVIRONMENTS = {MGMT: "org-root", IDENTITY: "identity", STAGING: "staging", PROD: "prod", OPS: "operations"}
ORG_ACCOUNTS = (MGMT, IDENTITY, STAGING, PROD, OPS)

CREATED = "2024-01-01T00:00:00+00:00"

# A trimmed ReadOnlyAccess: the real one lists "<service>:Get*", "<service>:List*",
# "<service>:Describe*" for every service; these patterns cover the same actions.
READ_ONLY_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadOnlyActions",
            "Effect": "Allow",
            "Action": [
                "*:Get*",
                "*:List*",
                "*:Describe*",
                "s3:Head*",
                "cloudtrail:LookupEvents",
                "athena:Batch*",
            ],
            "Resource": "*",
        }
    ],
}
ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
POWER_USER_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": [
                "iam:CreateServiceLinkedRole",
                "iam:DeleteServiceLinkedRole",
                "iam:ListRoles",
                "organizations:DescribeOrganization",
                "account:ListRegions",
            ],
            "Resource": "*",
        },
    ],
}
# AWS's documented "BlockMostAccessUnlessSignedInWithMFA" statement
ENFORCE_MFA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowManageOwnVirtualMFADevice",
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice"],
            "Resource": "arn:aws:iam::*:mfa/*",
        },
        {
            "Sid": "AllowManageOwnUserMFA",
            "Effect": "Allow",
            "Action": ["iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ResyncMFADevice"],
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        },
        {
            "Sid": "BlockMostAccessUnlessSignedInWithMFA",
            "Effect": "Deny",
            "NotAction": [
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:GetUser",
                "iam:ListMFADevices",
                "iam:ListVirtualMFADevices",
                "iam:ResyncMFADevice",
                "sts:GetSessionToken",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
}
FULL_AWS_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def aws_policy_arn(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


def allow(actions: Any, resources: Any = "*", sid: str = "", **extra: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if sid:
        st["Sid"] = sid
    st.update(extra)
    return st


def deny(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Deny", "Action": actions, "Resource": resources}
    st.update(extra)
    return st


def doc(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(
    *principals: str,
    condition: Mapping[str, Any] | None = None,
    action: str = "sts:AssumeRole",
    key: str = "AWS",
) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {key: list(principals) if len(principals) > 1 else principals[0]},
        "Action": action,
    }
    if condition:
        st["Condition"] = dict(condition)
    return doc(st)


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def role_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def user_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def group_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:group/{name}"


def policy_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:policy/{name}"


def _item(type_: str, arn: str, name: str, data: Mapping[str, Any]) -> Item:
    return Item(type=type_, arn=arn, resource_id=name, name=name, region="global", tags={}, data=dict(data))


def managed(name: str, arn: str) -> dict[str, str]:
    return {"PolicyName": name, "PolicyArn": arn}


def inline(name: str, document: Mapping[str, Any]) -> dict[str, Any]:
    return {"PolicyName": name, "PolicyDocument": document}


def policy_item(account: str, name: str, document: Mapping[str, Any], *, aws: bool = False) -> Item:
    arn = aws_policy_arn(name) if aws else policy_arn(account, name)
    return _item(
        "iam:policy",
        arn,
        name,
        {
            "PolicyName": name,
            "PolicyId": "ANPA" + name.upper()[:12],
            "Arn": arn,
            "Path": "/",
            "DefaultVersionId": "v1",
            "AttachmentCount": 1,
            "IsAttachable": True,
            "Document": document,
            "AwsManaged": aws,
        },
    )


def user_item(
    account: str,
    name: str,
    *,
    groups: Sequence[str] = (),
    policies: Sequence[Mapping[str, Any]] = (),
    attached: Sequence[Mapping[str, str]] = (),
    mfa: bool = False,
    console: bool = True,
    keys: Sequence[Mapping[str, Any]] = (),
    password_last_used: str | None = None,
    created: str = CREATED,
    boundary: str = "",
) -> Item:
    arn = user_arn(account, name)
    data: dict[str, Any] = {
        "UserName": name,
        "UserId": "AIDA" + name.upper()[:16],
        "Arn": arn,
        "Path": "/",
        "CreateDate": created,
        "GroupList": list(groups),
        "AttachedManagedPolicies": list(attached),
        "UserPolicyList": list(policies),
        "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        if boundary
        else None,
        "Tags": [],
        "MFADevices": [{"SerialNumber": f"arn:aws:iam::{account}:mfa/{name}"}] if mfa else [],
        "AccessKeys": list(keys),
        "LoginProfile": {"CreateDate": created} if console else None,
        "PasswordLastUsed": password_last_used,
        "CredentialReport": None,
    }
    return _item("iam:user", arn, name, data)


def group_item(
    account: str,
    name: str,
    *,
    attached: Sequence[Mapping[str, str]] = (),
    policies: Sequence[Mapping[str, Any]] = (),
    members: Sequence[str] = (),
) -> Item:
    arn = group_arn(account, name)
    return _item(
        "iam:group",
        arn,
        name,
        {
            "GroupName": name,
            "GroupId": "AGPA" + name.upper()[:16],
            "Arn": arn,
            "Path": "/",
            "GroupPolicyList": list(policies),
            "AttachedManagedPolicies": list(attached),
            "Members": list(members),
        },
    )


def role_item(
    account: str,
    name: str,
    trust_doc: Any,
    *,
    attached: Sequence[Mapping[str, str]] = (),
    policies: Sequence[Mapping[str, Any]] = (),
    boundary: str = "",
    path: str = "/",
    last_used: str | None = None,
    created: str = CREATED,
) -> Item:
    arn = role_arn(account, name, path)
    return _item(
        "iam:role",
        arn,
        name,
        {
            "RoleName": name,
            "RoleId": "AROA" + name.upper()[:16],
            "Arn": arn,
            "Path": path,
            "CreateDate": created,
            "AssumeRolePolicyDocument": trust_doc,
            "RolePolicyList": list(policies),
            "AttachedManagedPolicies": list(attached),
            "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
            if boundary
            else None,
            "RoleLastUsed": {"LastUsedDate": last_used, "Region": "eu-west-1"} if last_used else {},
            "InstanceProfileList": [],
            "Tags": [],
            "MaxSessionDuration": 3600,
        },
    )


def saml_provider_item(account: str, name: str) -> Item:
    arn = f"arn:aws:iam::{account}:saml-provider/{name}"
    return _item("iam:saml-provider", arn, name, {"Arn": arn, "ValidUntil": None, "CreateDate": CREATED})


STORY_ROLE = role_arn(STAGING, "CompanyReadOnly")
STORY_USER = user_arn(IDENTITY, "Developer")
STORY_GROUP = group_arn(IDENTITY, "StagingReadOnly")
STORY_POLICY = policy_arn(IDENTITY, "CompanyAssumeRoleStagingReadOnly")


@dataclasses.dataclass
class Story:
    """The story estate, editable before building: items per account, SCP levels, options."""

    items: dict[str, list[Item]]
    scps: dict[str, Any] = dataclasses.field(default_factory=dict)
    environments: dict[str, str] = dataclasses.field(default_factory=lambda: dict(ENVIRONMENTS))
    org_accounts: tuple[str, ...] = ORG_ACCOUNTS
    org_id: str = ""

    def add(self, account: str, *items: Item) -> Story:
        self.items.setdefault(account, []).extend(items)
        return self

    def remove(self, arn: str) -> Story:
        for account, items in self.items.items():
            self.items[account] = [i for i in items if i.arn != arn]
        return self

    def replace(self, item: Item) -> Story:
        for account, items in self.items.items():
            self.items[account] = [item if i.arn == item.arn else i for i in items]
        return self

    def edit(self, arn: str, **changes: Any) -> Story:
        """Change keys of one item's data."""
        for items in self.items.values():
            for i, item in enumerate(items):
                if item.arn == arn:
                    data = copy.deepcopy(dict(item.data))
                    data.update(changes)
                    items[i] = dataclasses.replace(item, data=data)
        return self

    def estate(self) -> EstateIam:
        return from_items(
            self.items, self.environments, self.org_accounts, MGMT, self.scps, org_id=self.org_id
        )

    def graph(self, **kw: Any) -> AccessGraph:
        return build_graph(self.estate(), **kw)


def story(*, enforce_mfa: bool = True, developer_mfa: bool = True) -> Story:
    """The story estate (fresh copy each call)."""
    group_attached = [managed("CompanyAssumeRoleStagingReadOnly", STORY_POLICY)]
    if enforce_mfa:
        group_attached.append(managed("CompanyEnforceMFA", policy_arn(IDENTITY, "CompanyEnforceMFA")))
    identity_items = [
        policy_item(
            IDENTITY,
            "CompanyAssumeRoleStagingReadOnly",
            doc(allow("sts:AssumeRole", STORY_ROLE, sid="AssumeStagingReadOnly")),
        ),
        group_item(IDENTITY, "StagingReadOnly", attached=group_attached, members=["Developer"]),
        user_item(
            IDENTITY,
            "Developer",
            groups=["StagingReadOnly"],
            mfa=developer_mfa,
            password_last_used="2026-11-20T10:00:00+00:00",
        ),
    ]
    if enforce_mfa:
        identity_items.insert(0, policy_item(IDENTITY, "CompanyEnforceMFA", ENFORCE_MFA))
    staging_items = [
        policy_item(STAGING, "ReadOnlyAccess", READ_ONLY_ACCESS, aws=True),
        role_item(
            STAGING,
            "CompanyReadOnly",
            trust(root(IDENTITY)),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
            last_used="2026-11-25T09:00:00+00:00",
        ),
    ]
    return Story({IDENTITY: identity_items, STAGING: staging_items, PROD: [], MGMT: [], OPS: []})


def scp(name: str, document: Mapping[str, Any]) -> dict[str, Any]:
    return {"Id": "p-" + name.lower()[:10], "Name": name, "Content": document}


def only(paths: Iterable[Any], **where: Any) -> list[Any]:
    return [p for p in paths if all(getattr(p, k) == v for k, v in where.items())]
