"""IAM permission checks over the identity policies of one account's principals.

Admin (``*`` on ``*``), Allow+NotAction, assume-any-role, blanket AWS-managed policies and a
per-principal privilege-escalation analysis limited to this account's own policies and roles
(cross-account paths are the IAM graph's job, iam_audit/graph/).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from iam_audit.checks.base import Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import as_dict, dicts, join_limited, label, resource_result, unread_result
from iam_audit.checks.principals import Grant, IamView, Principal, aws_managed_name
from iam_audit.policy.conditions import limiting_conditions
from iam_audit.policy.grants import grants_full_admin
from iam_audit.policy.model import Statement, statements

DOC_POLICIES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html"
DOC_LEAST = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
DOC_NOTACTION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"
DOC_JOB = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html"
DOC_ASSUME = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html"
DOC_BOUNDARY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
DOC_ESCALATION = "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"
BLANKET_POLICIES = ("AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess")
RESOURCE_LIMITING_KEYS = ("aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths")


def _principals(view: IamView) -> list[Principal]:
    return sorted(view.users + view.roles, key=lambda p: p.arn)


def _grant_list(grants: list[Grant]) -> list[dict[str, Any]]:
    return [g.evidence() for g in grants]


def _not_collected(p: Principal) -> Result:
    """UNKNOWN: nothing found, but some attached policy documents were not collected."""
    return resource_result(
        p.item,
        Status.UNKNOWN,
        f"{p.kind} {p.name}: some attached policies were not collected",
        {"policies_not_collected": [s.as_dict() for s in p.unknown_policies]},
    )


# ----------------------------------------------------------------------------------- admin
@check(
    id="iam.admin_policy",
    title="No principal has full administrative access",
    service="IAM",
    scope="resource",
    severity=Severity.CRITICAL,
    description="A user or role is allowed every action on every resource (Action '*', Resource '*'), through "
    "an inline policy, an attached managed policy or one of its groups.",
    risk="Any compromise of this principal is a compromise of the whole account; '*:*' also bypasses every "
    "separation of duties.",
    remediation=(
        "1. Find what the principal really does (IAM > <principal> > Last accessed, or Access Analyzer policy generation).\n"
        "2. Attach a policy granting only that; detach the admin one: aws iam detach-role-policy --role-name <role> "
        "--policy-arn <arn> (detach-user-policy / delete-role-policy / delete-user-policy for the other forms).\n"
        "3. Keep true break-glass admin roles few, MFA-gated and monitored; suppress this finding for them with a reason."
    ),
    references=("CIS 1.15", DOC_LEAST, DOC_POLICIES),
    requires=("iam:user", "iam:role", "iam:group", "iam:policy"),
)
def admin_policy(snap: Snapshot) -> Iterator[Result]:
    view = IamView(snap)
    for p in _principals(view):
        grants = p.admin_grants()
        evidence: dict[str, Any] = {"grants": _grant_list(grants)}
        if p.boundary is not None:
            evidence["permissions_boundary"] = p.boundary.arn
            if p.boundary_statements is None:
                evidence["note"] = "permissions boundary document not collected: it may limit this access"
        if grants:
            via = join_limited(sorted({g.source.describe() for g in grants}), 3)
            yield resource_result(p.item, Status.FAIL, f"{p.kind} {p.name} has * on * ({via})", evidence)
        elif p.unknown_policies:
            evidence["policies_not_collected"] = [s.as_dict() for s in p.unknown_policies]
            yield resource_result(
                p.item,
                Status.UNKNOWN,
                f"{p.kind} {p.name}: some attached policies were not collected",
                evidence,
            )
        else:
            limited = [g for g in p.grants if grants_full_admin(g.statement)]
            if limited:
                evidence["cut_by"] = "an unconditional Deny or the permissions boundary"
            yield resource_result(p.item, Status.PASS, f"{p.kind} {p.name} is not an administrator", evidence)


# ----------------------------------------------------------------------------------- NotAction
def _notaction_allows(stmts: list[Statement]) -> list[Statement]:
    return [s for s in stmts if s.is_allow and s.not_action]


@check(
    id="iam.notaction_allow",
    title="No Allow with NotAction",
    service="IAM",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A customer-managed or inline policy has an Allow statement using NotAction, which grants "
    "every action except the ones listed — including actions AWS adds in the future.",
    risk="Allow+NotAction silently grows with every new AWS service and action, usually far beyond intent.",
    remediation=(
        "1. Rewrite the statement with an explicit Action list of what is needed.\n"
        "2. aws iam create-policy-version --policy-arn <arn> --policy-document file://policy.json --set-as-default "
        "(inline: aws iam put-role-policy / put-user-policy / put-group-policy).\n"
        "Console: IAM > Policies > <policy> > Edit."
    ),
    references=(DOC_NOTACTION, DOC_LEAST),
    requires=("iam:user", "iam:role", "iam:group", "iam:policy"),
)
def notaction_allow(snap: Snapshot) -> Iterator[Result]:
    for item in sorted(snap.of("iam:policy"), key=lambda i: i.arn):
        data = as_dict(item.data)
        if data.get("AwsManaged") or aws_managed_name(item.arn):
            continue  # AWS's own policies (PowerUserAccess...) are judged by iam.blanket_managed_policy
        if (unread := unread_result(item, ("Document", "Policy"))) is not None:
            yield unread
            continue
        bad = _notaction_allows(statements(data.get("Document")))
        if bad:
            yield resource_result(
                item,
                Status.FAIL,
                f"Policy {label(item)} allows everything except {len(bad[0].actions)} action pattern(s)",
                {"statements": [s.evidence() for s in bad]},
            )
        else:
            yield resource_result(item, Status.PASS, f"Policy {label(item)} has no Allow+NotAction")
    view = IamView(snap)
    for p in sorted(view.users + view.roles + view.groups, key=lambda x: x.arn):
        inline = [g for g in p.grants if g.source.kind == "inline"]
        if not inline:
            continue  # inline policies are the subject here; attached policies were judged above
        bad_grants = [g for g in inline if g.statement.is_allow and g.statement.not_action]
        if bad_grants:
            yield resource_result(
                p.item,
                Status.FAIL,
                f"{p.kind} {p.name}: inline {bad_grants[0].source.name} uses Allow+NotAction",
                {"statements": _grant_list(bad_grants)},
            )
        else:
            yield resource_result(
                p.item, Status.PASS, f"{p.kind} {p.name}: inline policies have no Allow+NotAction"
            )


# ----------------------------------------------------------------------------------- assume any role
@check(
    id="iam.assume_any_role",
    title="No principal may assume any role",
    service="IAM",
    scope="resource",
    severity=Severity.HIGH,
    description="A user or role is allowed sts:AssumeRole on every role of every account (Resource '*' or "
    "'arn:aws:iam::*:role/*'), with no aws:ResourceAccount / aws:ResourceOrgID condition. Full "
    "administrators are reported by iam.admin_policy instead.",
    risk="The principal can become any role whose trust policy lets its account in, here or in other "
    "accounts: its real permissions are the union of theirs.",
    remediation=(
        "1. List the roles the principal must assume and name them in Resource.\n"
        '2. Or add a condition: "StringEquals": {"aws:ResourceOrgID": "o-xxxx"}.\n'
        "3. Update the policy: aws iam put-role-policy / create-policy-version. Console: IAM > Policies > <policy> > Edit."
    ),
    references=(DOC_ASSUME, DOC_LEAST),
    requires=("iam:user", "iam:role", "iam:group", "iam:policy"),
)
def assume_any_role(snap: Snapshot) -> Iterator[Result]:
    view = IamView(snap)
    part = snap.account.partition
    foreign = f"arn:{part}:iam::000000000000:role/skyledger-any-role-probe"
    own = f"arn:{part}:iam::{snap.account.account_id}:role/skyledger-any-role-probe"
    for p in _principals(view):
        if p.service_linked:
            continue
        grants = [
            g
            for g in p.allows("sts:AssumeRole", foreign)
            if not grants_full_admin(g.statement)
            and not limiting_conditions(g.statement, RESOURCE_LIMITING_KEYS)
        ]
        if grants:
            yield resource_result(
                p.item,
                Status.FAIL,
                f"{p.kind} {p.name} may assume any role in any account",
                {"grants": _grant_list(grants)},
            )
            continue
        if p.unknown_policies:
            yield _not_collected(p)
            continue
        own_any = [g for g in p.allows("sts:AssumeRole", own) if not grants_full_admin(g.statement)]
        evidence = {"any_role_in_this_account": _grant_list(own_any)} if own_any else {}
        yield resource_result(
            p.item, Status.PASS, f"{p.kind} {p.name} cannot assume arbitrary roles", evidence
        )


# ----------------------------------------------------------------------------------- blanket managed policies
@check(
    id="iam.blanket_managed_policy",
    title="No blanket AWS-managed policies",
    service="IAM",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A user, group or role has AdministratorAccess, PowerUserAccess or ReadOnlyAccess attached. "
    "ReadOnlyAccess reads every object, secret-bearing parameter and table item; a granular or job-function "
    "policy (SecurityAudit, ViewOnlyAccess) usually serves.",
    risk="Blanket policies hand out far more than the job needs, and grow as AWS adds services.",
    remediation=(
        "1. Pick a narrower policy: a job-function policy (ViewOnlyAccess, SecurityAudit, DatabaseAdministrator...) "
        "or a customer-managed one.\n"
        "2. aws iam attach-role-policy --role-name <role> --policy-arn <narrower>; then aws iam detach-role-policy "
        "--role-name <role> --policy-arn arn:aws:iam::aws:policy/<Blanket> (user/group variants alike).\n"
        "Console: IAM > Roles/Users/User groups > <name> > Permissions."
    ),
    references=(DOC_JOB, DOC_LEAST),
    requires=("iam:user", "iam:role", "iam:group"),
)
def blanket_managed_policy(snap: Snapshot) -> Iterator[Result]:
    kinds = {"iam:user": "user", "iam:role": "role", "iam:group": "group"}
    items: list[Item] = [i for t in kinds for i in snap.of(t)]
    for item in sorted(items, key=lambda i: i.arn):
        data = as_dict(item.data)
        if str(data.get("Path", "")).startswith("/aws-service-role/"):
            continue
        found: list[dict[str, str]] = []
        for p in dicts(data.get("AttachedManagedPolicies")):
            arn = str(p.get("PolicyArn", ""))
            name = aws_managed_name(arn)
            if name in BLANKET_POLICIES:
                found.append({"PolicyName": str(name), "PolicyArn": arn})
        kind = kinds[item.type]
        if found:
            yield resource_result(
                item,
                Status.FAIL,
                f"{kind} {label(item)} has {join_limited(f['PolicyName'] for f in found)}",
                {"policies": found},
            )
        else:
            yield resource_result(
                item, Status.PASS, f"{kind} {label(item)} has no blanket AWS-managed policy"
            )


# ----------------------------------------------------------------------------------- privilege escalation
@dataclasses.dataclass(frozen=True, slots=True)
class Method:
    """One way to raise oneself to admin inside an account."""

    name: str
    actions: tuple[str, ...]  # all needed; the first is the one aimed at ``target``
    target: str  # see _targets()
    description: str
    service: str = ""  # for PassRole methods: the service principal the passed role must trust


METHODS: tuple[Method, ...] = (
    Method(
        "CreatePolicyVersion",
        ("iam:CreatePolicyVersion",),
        "own-policies",
        "write a new default version of a customer-managed policy attached to itself",
    ),
    Method(
        "SetDefaultPolicyVersion",
        ("iam:SetDefaultPolicyVersion",),
        "own-policies",
        "switch a policy attached to itself to another (possibly broader) version",
    ),
    Method("PutUserPolicy", ("iam:PutUserPolicy",), "self-user", "add an inline admin policy to itself"),
    Method(
        "AttachUserPolicy", ("iam:AttachUserPolicy",), "self-user", "attach AdministratorAccess to itself"
    ),
    Method(
        "PutRolePolicy", ("iam:PutRolePolicy",), "self-role", "add an inline admin policy to its own role"
    ),
    Method(
        "AttachRolePolicy",
        ("iam:AttachRolePolicy",),
        "self-role",
        "attach AdministratorAccess to its own role",
    ),
    Method(
        "PutGroupPolicy",
        ("iam:PutGroupPolicy",),
        "own-groups",
        "add an inline admin policy to one of its groups",
    ),
    Method(
        "AttachGroupPolicy",
        ("iam:AttachGroupPolicy",),
        "own-groups",
        "attach AdministratorAccess to one of its groups",
    ),
    Method(
        "AddUserToGroup", ("iam:AddUserToGroup",), "admin-groups", "add itself to an administrators group"
    ),
    Method(
        "CreateAccessKey",
        ("iam:CreateAccessKey",),
        "admin-users",
        "create an access key for an administrator user",
    ),
    Method(
        "CreateLoginProfile",
        ("iam:CreateLoginProfile",),
        "admin-users",
        "set a console password for an administrator user",
    ),
    Method(
        "UpdateLoginProfile",
        ("iam:UpdateLoginProfile",),
        "admin-users",
        "reset an administrator user's console password",
    ),
    Method(
        "UpdateAssumeRolePolicy",
        ("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"),
        "admin-roles",
        "rewrite an administrator role's trust policy to trust itself, then assume it",
    ),
    Method(
        "AssumeAdminRole",
        ("sts:AssumeRole",),
        "assumable-admin-roles",
        "assume an administrator role whose trust policy already lets it in",
    ),
    Method(
        "PassRole+EC2",
        ("iam:PassRole", "ec2:RunInstances"),
        "passable-admin-roles",
        "launch an instance with an administrator role's profile and use its credentials",
        "ec2.amazonaws.com",
    ),
    Method(
        "PassRole+Lambda",
        ("iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"),
        "passable-admin-roles",
        "create and invoke a function running as an administrator role",
        "lambda.amazonaws.com",
    ),
    Method(
        "PassRole+CloudFormation",
        ("iam:PassRole", "cloudformation:CreateStack"),
        "passable-admin-roles",
        "create a stack executed by an administrator role",
        "cloudformation.amazonaws.com",
    ),
    Method(
        "PassRole+Glue",
        ("iam:PassRole", "glue:CreateDevEndpoint"),
        "passable-admin-roles",
        "create a Glue dev endpoint running as an administrator role",
        "glue.amazonaws.com",
    ),
    Method(
        "PassRole+CodeBuild",
        ("iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuild"),
        "passable-admin-roles",
        "run a build as an administrator role",
        "codebuild.amazonaws.com",
    ),
    Method(
        "PassRole+SageMaker",
        ("iam:PassRole", "sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"),
        "passable-admin-roles",
        "open a notebook running as an administrator role",
        "sagemaker.amazonaws.com",
    ),
)


class _Context:
    """The account's administrators and role trusts, computed once per evaluation."""

    def __init__(self, view: IamView, snap: Snapshot) -> None:
        self.view = view
        self.account = snap.account.account_id
        self.admin_users = [u for u in view.users if u.admin_grants()]
        self.admin_groups = [g for g in view.groups if g.admin_grants()]
        self.admin_roles = [r for r in view.roles if r.admin_grants() and not r.service_linked]
        self.trust = {
            r.arn: statements(as_dict(r.item.data).get("AssumeRolePolicyDocument")) for r in view.roles
        }

    def trusts_service(self, role: Principal, service: str) -> bool:
        return any(
            s.is_allow
            and s.principal is not None
            and service in s.principal.service
            and s.matches_action("sts:AssumeRole")
            for s in self.trust.get(role.arn, [])
        )

    def trusts_principal(self, role: Principal, p: Principal) -> bool:
        """The role's trust policy lets ``p`` in (by ARN, via the account, or anyone)."""
        for s in self.trust.get(role.arn, []):
            if not s.is_allow or s.principal is None or not s.matches_action("sts:AssumeRole"):
                continue
            if s.principal.anyone and not limiting_conditions(s):
                return True
            for entry in s.principal.aws:
                if entry in (p.arn, self.account) or entry.endswith(f"::{self.account}:root"):
                    return True
        return False

    def targets(self, p: Principal, method: Method) -> list[str]:
        """The resources ``method``'s first action must reach for ``p`` to escalate."""
        t = method.target
        if t == "self-user":
            return [p.arn] if p.kind == "user" else []
        if t == "self-role":
            return [p.arn] if p.kind == "role" else []
        if t == "own-groups":
            return [g.arn for g in self.view.groups if p.kind == "user" and g.item.name in p.groups]
        if t == "own-policies":
            sources = [g.source for g in p.grants] + p.unknown_policies
            return sorted({s.arn for s in sources if s.arn and not s.aws_managed})
        if t == "admin-groups":
            return [g.arn for g in self.admin_groups if p.kind == "user" and g.item.name not in p.groups]
        if t == "admin-users":
            return [u.arn for u in self.admin_users if u.arn != p.arn]
        if t == "admin-roles":
            return [r.arn for r in self.admin_roles if r.arn != p.arn]
        if t == "assumable-admin-roles":
            return [r.arn for r in self.admin_roles if r.arn != p.arn and self.trusts_principal(r, p)]
        if t == "passable-admin-roles":
            return [
                r.arn for r in self.admin_roles if r.arn != p.arn and self.trusts_service(r, method.service)
            ]
        return []


def escalation_paths(p: Principal, ctx: _Context) -> list[dict[str, Any]]:
    """Every method by which ``p`` can give itself admin, with the grants that allow each step."""
    found = []
    for method in METHODS:
        first, rest = method.actions[0], method.actions[1:]
        # Cheap pre-filter: without any Allow for the first step no target can be reached, so do not
        # compute targets (principals x admins made this check quadratic on large accounts).
        if not any(g.statement.is_allow and g.statement.matches_action(first) for g in p.grants):
            continue
        targets = ctx.targets(p, method)
        if not targets:
            continue
        reachable = [(t, p.allows(first, t)) for t in targets]
        reachable = [(t, g) for t, g in reachable if g]
        if not reachable:
            continue
        steps: dict[str, Any] = {first: _grant_list(reachable[0][1])}
        ok = True
        for action in rest:
            # the follow-up action is aimed at the role just modified (AssumeRole) or at new resources
            where = reachable[0][0] if action == "sts:AssumeRole" else None
            grants = p.allows(action, where)
            if not grants:
                ok = False
                break
            steps[action] = _grant_list(grants)
        if ok:
            found.append(
                {
                    "method": method.name,
                    "how": method.description,
                    "targets": [t for t, _ in reachable],
                    "steps": steps,
                    "conditional": any(
                        st["statement"].get("Condition") for grants in steps.values() for st in grants
                    ),
                }
            )
    return found


@check(
    id="iam.privilege_escalation",
    title="No principal can raise itself to admin",
    service="IAM",
    scope="resource",
    severity=Severity.HIGH,
    description="A user or role that is not an administrator holds permissions that let it become one inside "
    "this account: rewrite or attach policies to itself or its groups, join an admin group, take over an "
    "admin user's credentials, assume or re-trust an admin role, or pass an admin role to EC2, Lambda, "
    "CloudFormation, Glue, CodeBuild or SageMaker. Analysis is per principal within the account's own "
    "policies; SCPs, conditional denies and cross-account paths are not considered.",
    risk="The principal is an administrator in all but name: anyone who compromises it owns the account.",
    remediation=(
        "1. Read the method and the granting statements in the evidence.\n"
        "2. Remove the escalating action or scope its Resource to what the principal legitimately manages "
        "(never itself, its groups or admin roles); constrain iam:PassRole with iam:PassedToService and exact role ARNs.\n"
        "3. Apply a permissions boundary to principals that must manage IAM: aws iam put-role-permissions-boundary "
        "--role-name <role> --permissions-boundary <arn>.\n"
        "Console: IAM > Roles/Users > <name> > Permissions."
    ),
    references=(DOC_BOUNDARY, DOC_ESCALATION, DOC_LEAST),
    requires=("iam:user", "iam:role", "iam:group", "iam:policy"),
)
def privilege_escalation(snap: Snapshot) -> Iterator[Result]:
    view = IamView(snap)
    ctx = _Context(view, snap)
    for p in _principals(view):
        if p.service_linked:
            continue
        if p.admin_grants():
            yield resource_result(
                p.item,
                Status.NOT_APPLICABLE,
                f"{p.kind} {p.name} is already an administrator (iam.admin_policy)",
            )
            continue
        paths = escalation_paths(p, ctx)
        if paths:
            names = join_limited([x["method"] for x in paths], 3)
            yield resource_result(
                p.item, Status.FAIL, f"{p.kind} {p.name} can escalate to admin via {names}", {"paths": paths}
            )
        elif p.unknown_policies:
            yield _not_collected(p)
        else:
            yield resource_result(p.item, Status.PASS, f"{p.kind} {p.name} has no in-account escalation path")
