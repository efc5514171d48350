"""IAM: principals, policies, credentials and account-level settings (global). No Django here."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, error_code, json_safe, parse_policy, record, with_unavailable
from inventory.records import GLOBAL_REGION, Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__,
    "iam",
    "GenerateCredentialReport",
    "GetAccessKeyLastUsed",
    "GetAccountAuthorizationDetails",
    "GetAccountPasswordPolicy",
    "GetAccountSummary",
    "GetCredentialReport",
    "GetLoginProfile",
    "GetOpenIDConnectProvider",
    "GetPolicy",
    "GetPolicyVersion",
    "ListAccessKeys",
    "ListAccountAliases",
    "ListInstanceProfiles",
    "ListMFADevices",
    "ListOpenIDConnectProviders",
    "ListSAMLProviders",
    "ListUsers",
    "ListVirtualMFADevices",
)

# The credential report is generated asynchronously; wait this long for it, polling at this interval.
REPORT_WAIT_SECONDS = 20.0
REPORT_FIRST_POLL_SECONDS = 0.1
REPORT_MAX_POLL_SECONDS = 2.0

_AWS_POLICY_PREFIX = ":iam::aws:policy/"
_DETAIL_TYPES = ("iam:user", "iam:group", "iam:role", "iam:policy")


class ReportNotReady(Exception):
    """The credential report did not become available within the bounded wait."""


def parse_credential_report(content: bytes | str) -> list[dict[str, str]]:
    """Parse the credential report CSV into one dict per row, keyed by the header's column names.

    Tolerates a BOM, blank lines and short rows (missing cells become ""); never raises on odd text.
    """
    if isinstance(content, bytes | bytearray):
        text = bytes(content).decode("utf-8-sig", "replace")
    else:
        text = str(content).lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for cells in reader:
        if not cells or all(not c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        row = {column: (cells[i] if i < len(cells) else "") for i, column in enumerate(header)}
        rows.append(row)
    return rows


def _policy_document(
    versions: list[dict[str, Any]] | None, default_version: str | None
) -> dict[str, Any] | None:
    for version in versions or []:
        if version.get("IsDefaultVersion") or (
            default_version and version.get("VersionId") == default_version
        ):
            return parse_policy(version.get("Document"))
    return None


def _parse_inline(policies: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{**p, "PolicyDocument": parse_policy(p.get("PolicyDocument"))} for p in policies or []]


@register
class IamCollector:
    """Users, groups, roles, managed policies, instance profiles, providers and account settings."""

    service: ClassVar[str] = "iam"
    scope: ClassVar[str] = "global"
    types: ClassVar[tuple[str, ...]] = (
        "iam:user",
        "iam:group",
        "iam:role",
        "iam:policy",
        "iam:instance-profile",
        "iam:password-policy",
        "iam:account-summary",
        "iam:credential-report",
        "iam:saml-provider",
        "iam:oidc-provider",
    )

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every IAM record of the account."""
        g = Guard(ctx, self.service)
        iam = g.client()
        # the credential report first: user records carry their row
        report_rows: dict[str, dict[str, str]] | None = None
        report_problem = ""
        try:
            report_record = self._credential_report(ctx, g, iam)
        except Exception as exc:
            classified = g.fail("iam:credential-report", exc, "GetCredentialReport")
            report_problem = classified.kind.value if classified else "not-implemented"
        else:
            report_rows = {row.get("user", ""): row for row in report_record.data.get("Rows", [])}
            yield report_record
        yield from self._details(ctx, g, iam, report_rows, report_problem)
        yield from self._instance_profiles(ctx, g, iam)
        yield from self._password_policy(ctx, g, iam)
        yield from self._account_summary(ctx, g, iam)
        yield from self._saml(ctx, g, iam)
        yield from self._oidc(ctx, g, iam)

    # ------------------------------------------------------------------ credential report

    def _credential_report(self, ctx: CollectContext, g: Guard, iam: Any) -> Record:
        deadline = time.monotonic() + REPORT_WAIT_SECONDS
        pause = REPORT_FIRST_POLL_SECONDS
        while True:
            state = g.call(iam, "generate_credential_report").get("State")
            if state == "COMPLETE":
                try:
                    answer = g.call(iam, "get_credential_report")
                    break
                except Exception as exc:
                    # generated but not served yet (real AWS may lag a moment)
                    if error_code(exc) not in ("ReportInProgress", "CredentialReportNotReadyException"):
                        raise
            if time.monotonic() + pause > deadline:
                raise ReportNotReady(f"the credential report was not ready within {REPORT_WAIT_SECONDS:.0f}s")
            time.sleep(pause)
            pause = min(pause * 2, REPORT_MAX_POLL_SECONDS)
        rows = parse_credential_report(answer.get("Content") or b"")
        data = {"Rows": rows, "GeneratedTime": json_safe(answer.get("GeneratedTime"))}
        return record(
            ctx,
            "iam:credential-report",
            f"arn:{ctx.partition}:iam::{ctx.account_id}:credential-report",
            "credential-report",
            data,
            name="Credential report",
            region=GLOBAL_REGION,
        )

    # ------------------------------------------------------------------ users, groups, roles, policies

    def _details(
        self,
        ctx: CollectContext,
        g: Guard,
        iam: Any,
        report_rows: dict[str, dict[str, str]] | None,
        report_problem: str,
    ) -> Iterator[Record]:
        users: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        policies: list[dict[str, Any]] = []
        # The filter matters: without it the answer carries every AWS managed policy (~1,500);
        # the few attached ones are fetched by ARN below.
        try:
            for page in g.pages(
                iam,
                "get_account_authorization_details",
                Filter=["User", "Role", "Group", "LocalManagedPolicy"],
            ):
                users.extend(page.get("UserDetailList") or [])
                groups.extend(page.get("GroupDetailList") or [])
                roles.extend(page.get("RoleDetailList") or [])
                policies.extend(page.get("Policies") or [])
        except Exception as exc:
            # nothing from a half-read answer: group members would be computed from some users only
            g.fail(_DETAIL_TYPES, exc, "GetAccountAuthorizationDetails")
            return

        password_last_used: dict[str, Any] = {}
        last_used_problem = ""
        try:
            for user in g.items(iam, "list_users", "Users"):
                password_last_used[user.get("UserName", "")] = user.get("PasswordLastUsed")
        except Exception as exc:
            last_used_problem = g.note("iam:user", exc, "ListUsers")

        members: dict[str, list[str]] = {}
        for user in users:
            for group_name in user.get("GroupList") or []:
                members.setdefault(group_name, []).append(user.get("UserName", ""))

        for user in users:
            yield self._user(
                ctx, g, iam, user, report_rows, password_last_used, last_used_problem, report_problem
            )
        for group in groups:
            name = group.get("GroupName", "")
            data = {
                **group,
                "GroupPolicyList": _parse_inline(group.get("GroupPolicyList")),
                "Members": sorted(members.get(name, [])),
            }
            yield record(ctx, "iam:group", group.get("Arn", ""), name, data, name=name, region=GLOBAL_REGION)
        for role in roles:
            name = role.get("RoleName", "")
            data = {
                **role,
                "AssumeRolePolicyDocument": parse_policy(role.get("AssumeRolePolicyDocument")),
                "RolePolicyList": _parse_inline(role.get("RolePolicyList")),
            }
            yield record(
                ctx,
                "iam:role",
                role.get("Arn", ""),
                name,
                data,
                name=name,
                tags=role.get("Tags"),
                region=GLOBAL_REGION,
            )
        for policy in policies:
            yield self._policy_record(
                ctx,
                policy,
                _policy_document(policy.get("PolicyVersionList"), policy.get("DefaultVersionId")),
                False,
                {},
            )

        attached = sorted(
            {
                p.get("PolicyArn", "")
                for principal in (*users, *groups, *roles)
                for p in principal.get("AttachedManagedPolicies") or []
                if _AWS_POLICY_PREFIX in (p.get("PolicyArn") or "")
            }
        )
        for policy_arn in attached:
            yield self._aws_managed_policy(ctx, g, iam, policy_arn)

    def _user(
        self,
        ctx: CollectContext,
        g: Guard,
        iam: Any,
        user: dict[str, Any],
        report_rows: dict[str, dict[str, str]] | None,
        password_last_used: dict[str, Any],
        last_used_problem: str,
        report_problem: str,
    ) -> Record:
        name = user.get("UserName", "")
        unavailable: dict[str, str] = {}
        if last_used_problem:
            unavailable["PasswordLastUsed"] = last_used_problem
        if report_problem:
            unavailable["CredentialReport"] = report_problem

        def extra(key: str, operation: str, fetch: Any) -> Any:
            return g.extra("iam:user", unavailable, key, fetch, resource=name, operation=operation)

        mfa = extra(
            "MFADevices",
            "ListMFADevices",
            lambda: list(g.items(iam, "list_mfa_devices", "MFADevices", UserName=name)),
        )
        keys = extra("AccessKeys", "ListAccessKeys", lambda: self._access_keys(g, iam, name, unavailable))
        login = extra("LoginProfile", "GetLoginProfile", lambda: self._login_profile(g, iam, name))
        data = {
            **user,
            "UserPolicyList": _parse_inline(user.get("UserPolicyList")),
            "MFADevices": mfa if mfa is not None else (None if "MFADevices" in unavailable else []),
            "AccessKeys": keys if keys is not None else (None if "AccessKeys" in unavailable else []),
            "LoginProfile": login,
            "PasswordLastUsed": password_last_used.get(name),
            "CredentialReport": (report_rows or {}).get(name),
        }
        return record(
            ctx,
            "iam:user",
            user.get("Arn", ""),
            name,
            with_unavailable(data, unavailable),
            name=name,
            tags=user.get("Tags"),
            region=GLOBAL_REGION,
        )

    def _access_keys(
        self, g: Guard, iam: Any, user_name: str, unavailable: dict[str, str]
    ) -> list[dict[str, Any]]:
        keys = []
        for key in g.items(iam, "list_access_keys", "AccessKeyMetadata", UserName=user_name):
            key_id = key.get("AccessKeyId", "")
            last = (
                g.extra(
                    "iam:user",
                    unavailable,
                    "AccessKeys.LastUsed",
                    lambda kid=key_id: (
                        g.call(iam, "get_access_key_last_used", AccessKeyId=kid).get("AccessKeyLastUsed")
                        or {}
                    ),
                    resource=f"{user_name}/{key_id}",
                    operation="GetAccessKeyLastUsed",
                )
                or {}
            )
            keys.append(
                {
                    "AccessKeyId": key_id,
                    "Status": key.get("Status"),
                    "CreateDate": key.get("CreateDate"),
                    "LastUsedDate": last.get("LastUsedDate"),
                    "LastUsedService": last.get("ServiceName"),
                    "LastUsedRegion": last.get("Region"),
                }
            )
        return keys

    def _login_profile(self, g: Guard, iam: Any, user_name: str) -> dict[str, Any] | None:
        try:
            profile = g.call(iam, "get_login_profile", UserName=user_name).get("LoginProfile") or {}
        except Exception as exc:
            if error_code(exc) == "NoSuchEntity":
                return None  # no console password
            raise
        return {
            "CreateDate": profile.get("CreateDate"),
            "PasswordResetRequired": profile.get("PasswordResetRequired"),
        }

    def _policy_record(
        self,
        ctx: CollectContext,
        policy: dict[str, Any],
        document: dict[str, Any] | None,
        aws_managed: bool,
        unavailable: dict[str, str],
    ) -> Record:
        versions = [
            {**v, "Document": parse_policy(v.get("Document"))} for v in policy.get("PolicyVersionList") or []
        ]
        # some endpoints (moto) omit PolicyName from authorization details; the ARN ends with it
        name = policy.get("PolicyName") or str(policy.get("Arn", "")).rsplit("/", 1)[-1]
        data = {**policy, "PolicyName": name, "Document": document, "AwsManaged": aws_managed}
        if versions:
            data["PolicyVersionList"] = versions
        return record(
            ctx,
            "iam:policy",
            policy.get("Arn", ""),
            name,
            with_unavailable(data, unavailable),
            name=name,
            tags=policy.get("Tags"),
            region=GLOBAL_REGION,
        )

    def _aws_managed_policy(self, ctx: CollectContext, g: Guard, iam: Any, policy_arn: str) -> Record:
        unavailable: dict[str, str] = {}
        policy = g.extra(
            "iam:policy",
            unavailable,
            "Policy",
            lambda: g.call(iam, "get_policy", PolicyArn=policy_arn).get("Policy"),
            resource=policy_arn,
            operation="GetPolicy",
        ) or {"Arn": policy_arn, "PolicyName": policy_arn.rsplit("/", 1)[-1]}
        document = None
        version_id = policy.get("DefaultVersionId")
        if version_id:
            document = g.extra(
                "iam:policy",
                unavailable,
                "Document",
                lambda: parse_policy(
                    (
                        g.call(iam, "get_policy_version", PolicyArn=policy_arn, VersionId=version_id).get(
                            "PolicyVersion"
                        )
                        or {}
                    ).get("Document")
                ),
                resource=policy_arn,
                operation="GetPolicyVersion",
            )
        elif "Policy" in unavailable:
            unavailable["Document"] = unavailable["Policy"]
        return self._policy_record(ctx, policy, document, True, unavailable)

    # ------------------------------------------------------------------ the rest

    def _instance_profiles(self, ctx: CollectContext, g: Guard, iam: Any) -> Iterator[Record]:
        with g.listing("iam:instance-profile", "ListInstanceProfiles"):
            for item in g.items(iam, "list_instance_profiles", "InstanceProfiles"):
                name = item.get("InstanceProfileName", "")
                roles = [
                    {**r, "AssumeRolePolicyDocument": parse_policy(r.get("AssumeRolePolicyDocument"))}
                    for r in item.get("Roles") or []
                ]
                yield record(
                    ctx,
                    "iam:instance-profile",
                    item.get("Arn", ""),
                    name,
                    {**item, "Roles": roles},
                    name=name,
                    tags=item.get("Tags"),
                    region=GLOBAL_REGION,
                )

    def _password_policy(self, ctx: CollectContext, g: Guard, iam: Any) -> Iterator[Record]:
        type_ = "iam:password-policy"
        with g.listing(type_, "GetAccountPasswordPolicy"):
            try:
                data = {
                    **g.call(iam, "get_account_password_policy").get("PasswordPolicy", {}),
                    "Present": True,
                }
            except Exception as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
                data = {"Present": False}  # a complete answer: the account has no password policy
            yield record(
                ctx,
                type_,
                f"arn:{ctx.partition}:iam::{ctx.account_id}:account-password-policy",
                "account-password-policy",
                data,
                name="Password policy",
                region=GLOBAL_REGION,
            )

    def _account_summary(self, ctx: CollectContext, g: Guard, iam: Any) -> Iterator[Record]:
        type_ = "iam:account-summary"
        with g.listing(type_, "GetAccountSummary"):
            summary = g.call(iam, "get_account_summary").get("SummaryMap") or {}
            unavailable: dict[str, str] = {}
            aliases = g.extra(
                type_,
                unavailable,
                "AccountAliases",
                lambda: list(g.items(iam, "list_account_aliases", "AccountAliases")),
                operation="ListAccountAliases",
            )
            devices = g.extra(
                type_,
                unavailable,
                "VirtualMFADevices",
                lambda: list(g.items(iam, "list_virtual_mfa_devices", "VirtualMFADevices")),
                operation="ListVirtualMFADevices",
            )
            data = {**summary, "AccountAliases": aliases, "VirtualMFADevices": devices}
            yield record(
                ctx,
                type_,
                f"arn:{ctx.partition}:iam::{ctx.account_id}:account-summary",
                "account-summary",
                with_unavailable(data, unavailable),
                name="Account summary",
                region=GLOBAL_REGION,
            )

    def _saml(self, ctx: CollectContext, g: Guard, iam: Any) -> Iterator[Record]:
        with g.listing("iam:saml-provider", "ListSAMLProviders"):
            for item in g.call(iam, "list_saml_providers").get("SAMLProviderList") or []:
                provider_arn = item.get("Arn", "")
                name = provider_arn.rsplit("/", 1)[-1]
                yield record(
                    ctx, "iam:saml-provider", provider_arn, name, item, name=name, region=GLOBAL_REGION
                )

    def _oidc(self, ctx: CollectContext, g: Guard, iam: Any) -> Iterator[Record]:
        type_ = "iam:oidc-provider"
        with g.listing(type_, "ListOpenIDConnectProviders"):
            for item in g.call(iam, "list_open_id_connect_providers").get("OpenIDConnectProviderList") or []:
                provider_arn = item.get("Arn", "")
                name = provider_arn.split(":oidc-provider/", 1)[-1]
                unavailable: dict[str, str] = {}
                detail = (
                    g.extra(
                        type_,
                        unavailable,
                        "Url",
                        lambda a=provider_arn: g.call(
                            iam, "get_open_id_connect_provider", OpenIDConnectProviderArn=a
                        ),
                        resource=provider_arn,
                        operation="GetOpenIDConnectProvider",
                    )
                    or {}
                )
                data = {
                    "Arn": provider_arn,
                    "Url": detail.get("Url"),
                    "ClientIDList": detail.get("ClientIDList"),
                    "ThumbprintList": detail.get("ThumbprintList"),
                    "CreateDate": detail.get("CreateDate"),
                }
                yield record(
                    ctx,
                    type_,
                    provider_arn,
                    name,
                    with_unavailable(data, unavailable),
                    name=name,
                    tags=detail.get("Tags"),
                    region=GLOBAL_REGION,
                )
