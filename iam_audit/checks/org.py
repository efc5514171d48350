"""Organisation checks (membership, the management account kept empty, SCP guardrails) and the
region allow-list of the inventory."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from iam_audit.checks.base import Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import (
    account_result,
    as_dict,
    collected_regions,
    dicts,
    is_management,
    join_limited,
    org_known,
    plural,
    text,
    truthy,
)
from iam_audit.checks.s3 import bucket_name, log_buckets
from iam_audit.policy.conditions import condition_values
from iam_audit.policy.model import statements
from inventory.records import GLOBAL_REGION, UNKNOWN_REGION, Coverage
from inventory.resource_types import RESOURCE_TYPES

DOC_ORG = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_invites.html"
DOC_MGMT = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_best-practices_mgmt-acct.html"
DOC_SCP = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples.html"
DOC_SCP_REGION = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_general.html"
DOC_REGIONS = "https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html"

# What counts as a workload: compute, data and entry points people build, not account plumbing.
WORKLOAD_TYPES = (
    "ec2:instance",
    "rds:db-instance",
    "rds:db-cluster",
    "lambda:function",
    "s3:bucket",
    "dynamodb:table",
    "eks:cluster",
    "ecr:repository",
    "elb:load-balancer",
    "elbv2:load-balancer",
    "sqs:queue",
)
CORE_WORKLOAD_TYPES = ("ec2:instance", "rds:db-instance", "lambda:function", "s3:bucket")
# Security tooling that is deliberately enabled in every region, allowed or not.
SECURITY_TOOLING_TYPES = frozenset(
    {"guardduty:detector", "config:recorder", "securityhub:hub", "accessanalyzer:analyzer"}
)
PSEUDO_TYPES = frozenset(t for t, rt in RESOURCE_TYPES.items() if rt.arn)  # account settings, not resources
AWS_CREATED_BUCKET_PREFIXES = ("cf-templates-",)  # CloudFormation console uploads
GONE_STATES = ("terminated", "shutting-down")
SECURITY_ACTIONS = (
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "guardduty:DeleteDetector",
    "guardduty:DisassociateFromMasterAccount",
    "config:StopConfigurationRecorder",
    "config:DeleteConfigurationRecorder",
    "securityhub:DisableSecurityHub",
    "access-analyzer:DeleteAnalyzer",
)


# ----------------------------------------------------------------------------------- membership
@check(
    id="org.member",
    title="Account belongs to the organisation",
    service="Organizations",
    scope="account",
    severity=Severity.MEDIUM,
    description="The account is registered as not in the organisation, or the organisation's member list does "
    "not include it. UNKNOWN when the organisation is not known.",
    risk="A stand-alone account escapes SCP guardrails, organisation trails, GuardDuty and central billing and access.",
    remediation=(
        "1. From the management account: aws organizations invite-account-to-organization --target Id=<account-id>,Type=ACCOUNT\n"
        "2. In the invited account: aws organizations accept-handshake --handshake-id <id>\n"
        "3. Move it to the right OU: aws organizations move-account --account-id <id> --source-parent-id <root> --destination-parent-id <ou>\n"
        "Console: AWS Organizations > AWS accounts > Add an AWS account > Invite an existing AWS account."
    ),
    references=(DOC_ORG,),
    requires=(),
    baseline=True,
)
def member(snap: Snapshot) -> Iterator[Result]:
    acct = snap.account.account_id
    evidence = {
        "status": snap.account.status,
        "org_id": snap.org.org_id,
        "members_known": len(snap.org.member_account_ids),
    }
    if snap.account.status == "not-in-organisation":
        yield account_result(snap, Status.FAIL, "Account is not in the organisation", evidence)
    elif not org_known(snap):
        yield account_result(snap, Status.UNKNOWN, "Organisation not known", evidence)
    elif is_management(snap) or acct in snap.org.member_account_ids:
        yield account_result(
            snap, Status.PASS, f"Member of {snap.org.org_id or 'the organisation'}", evidence
        )
    else:
        yield account_result(
            snap, Status.FAIL, f"Account is not a member of {snap.org.org_id or 'the organisation'}", evidence
        )


# ----------------------------------------------------------------------------------- organisation hygiene
@check(
    id="org.account_outside_ou",
    title="Member accounts sit in an organisational unit",
    service="Organizations",
    scope="account",
    severity=Severity.MEDIUM,
    description="A member account is placed directly under the organisation root, outside every OU. "
    "UNKNOWN when the organisation tree was not collected. The management account always sits under "
    "the root and is not judged.",
    risk="Guardrails are attached to OUs: an account left under the root escapes every OU's SCPs (region "
    "allow-lists, deny lists) and the policies and automation the security team scopes by OU.",
    remediation=(
        "1. Pick the OU the account belongs in (its environment and owner).\n"
        "2. aws organizations move-account --account-id <id> --source-parent-id <root-id> "
        "--destination-parent-id <ou-id>\n"
        "Console: AWS Organizations > AWS accounts > select the account > Actions > Move."
    ),
    references=(DOC_MGMT, DOC_SCP),
    requires=(),
)
def account_outside_ou(snap: Snapshot) -> Iterator[Result]:
    path = snap.org.parent_path
    evidence: dict[str, Any] = {"parent_path": list(path) if path is not None else None}
    if snap.account.status == "not-in-organisation":
        yield account_result(snap, Status.NOT_APPLICABLE, "Account is not in the organisation", evidence)
    elif is_management(snap):
        yield account_result(
            snap, Status.NOT_APPLICABLE, "The management account sits under the root by design", evidence
        )
    elif not org_known(snap) or not path:
        yield account_result(
            snap, Status.UNKNOWN, "Where the account sits in the organisation is not known", evidence
        )
    elif len(path) == 1:
        evidence["scps"] = [name for _pid, name, _doc in snap.org.scps]
        yield account_result(
            snap,
            Status.FAIL,
            f"Account sits directly under {path[0]}, outside every OU: no OU's SCPs apply to it",
            evidence,
        )
    else:
        yield account_result(snap, Status.PASS, f"Account sits in {'/'.join(path)}", evidence)


# ----------------------------------------------------------------------------------- management account
def _is_workload(item: Item, log_bucket_names: set[str]) -> bool:
    data = as_dict(item.data)
    if item.type == "ec2:instance":
        return str(as_dict(data.get("State")).get("Name", "")).lower() not in GONE_STATES
    if item.type == "s3:bucket":
        name = bucket_name(item)
        return name not in log_bucket_names and not name.startswith(AWS_CREATED_BUCKET_PREFIXES)
    return True


def _summarise(items: Iterable[Item]) -> dict[str, Any]:
    found = list(items)
    return {
        "count_by_type": dict(Counter(i.type for i in found)),
        "examples": [{"type": i.type, "arn": i.arn, "region": i.region} for i in found[:25]],
    }


@check(
    id="org.root_has_resources",
    title="Management account holds no workloads",
    service="Organizations",
    scope="account",
    severity=Severity.HIGH,
    description="The organisation's management account holds workload resources (instances, databases, functions, "
    "buckets other than log buckets, tables, clusters, repositories, load balancers, queues).",
    risk="Workloads in the management account run beside the keys to every account, and SCPs cannot restrict them.",
    remediation=(
        "1. Move each workload to a member account (create one: aws organizations create-account --email <e> --account-name <n>).\n"
        "2. Delete the originals from the management account once migrated.\n"
        "3. Keep only organisation plumbing there (billing, Identity Center, organisation trail, StackSets)."
    ),
    references=(DOC_MGMT,),
    requires=(*CORE_WORKLOAD_TYPES, "cloudtrail:trail"),
)
def root_has_resources(snap: Snapshot) -> Iterator[Result]:
    if not is_management(snap):
        yield account_result(snap, Status.NOT_APPLICABLE, "Not the management account")
        return
    logs = set(log_buckets(snap))
    found = [
        i for t in WORKLOAD_TYPES for i in sorted(snap.of(t), key=lambda x: x.arn) if _is_workload(i, logs)
    ]
    evidence = {**_summarise(found), "ignored_log_buckets": sorted(logs)}
    if found:
        counts = ", ".join(f"{plural(n, t.split(':')[1])}" for t, n in Counter(i.type for i in found).items())
        yield account_result(snap, Status.FAIL, f"Management account holds {counts}", evidence)
        return
    incomplete = [t for t in WORKLOAD_TYPES if not snap.covered(t)]
    if incomplete:
        evidence["not_fully_collected"] = incomplete
        yield account_result(
            snap,
            Status.UNKNOWN,
            "No workload found, but not collected completely: " + join_limited(incomplete),
            evidence,
        )
    else:
        yield account_result(snap, Status.PASS, "Management account holds no workloads", evidence)


# ----------------------------------------------------------------------------------- SCP guardrails
def scp_guardrails(scps: Iterable[tuple[str, str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Which guardrails the SCPs implement: ``{"region_allow_list": [...], "deny_leaving": [...],
    "protect_security_services": [...]}``, each a list of (policy, statement) evidence."""
    found: dict[str, list[dict[str, Any]]] = {
        "region_allow_list": [],
        "deny_leaving": [],
        "protect_security_services": [],
    }
    for policy_id, name, document in scps:
        for s in statements(document):
            if not s.is_deny:
                continue
            where = {"policy_id": policy_id, "policy": text(name, 200), **s.evidence()}
            regions = [c for c in condition_values(s, "aws:requestedregion") if c.negated]
            if regions:
                found["region_allow_list"].append(
                    {**where, "allowed_regions": [v for c in regions for v in c.values]}
                )
                continue  # a region fence denies everything elsewhere; it protects nothing in allowed regions
            explicit = [] if s.not_action else list(s.actions)
            if not explicit or "*" in explicit:
                continue  # NotAction / deny-all statements are other guardrails, not these
            if s.matches_action("organizations:LeaveOrganization"):
                found["deny_leaving"].append(where)
            protected = [a for a in SECURITY_ACTIONS if s.matches_action(a)]
            if protected:
                found["protect_security_services"].append({**where, "actions": protected})
    return found


@check(
    id="org.scp_guardrails",
    title="SCP guardrails apply to the account",
    service="Organizations",
    scope="account",
    severity=Severity.MEDIUM,
    description="No service control policy beyond FullAWSAccess applies to the account: no region allow-list, no "
    "deny of organizations:LeaveOrganization, no protection of CloudTrail/GuardDuty/Config/Security Hub. Passes "
    "when at least one guardrail applies (missing ones are listed). SCPs do not apply to the management account.",
    risk="An administrator (or an intruder with admin) in the account can leave the organisation, turn off "
    "logging and detection, or build in any region.",
    remediation=(
        "1. Write the guardrail SCPs (see AWS's SCP examples): deny outside approved regions (NotAction global "
        "services, StringNotEquals aws:RequestedRegion), deny organizations:LeaveOrganization, deny "
        "cloudtrail:StopLogging/DeleteTrail, guardduty:DeleteDetector, config:StopConfigurationRecorder...\n"
        "2. aws organizations create-policy --type SERVICE_CONTROL_POLICY --name <name> --content file://scp.json\n"
        "3. aws organizations attach-policy --policy-id <p-id> --target-id <ou-or-root-id>\n"
        "Console: AWS Organizations > Policies > Service control policies."
    ),
    references=(DOC_SCP, DOC_SCP_REGION),
    requires=(),
)
def scp_guardrails_check(snap: Snapshot) -> Iterator[Result]:
    if is_management(snap):
        yield account_result(snap, Status.NOT_APPLICABLE, "SCPs do not apply to the management account")
        return
    if not org_known(snap):
        yield account_result(snap, Status.UNKNOWN, "Organisation not known")
        return
    scps = list(snap.org.scps)
    evidence: dict[str, Any] = {"scps": [{"id": i, "name": text(n, 200)} for i, n, _ in scps]}
    if not scps:
        evidence["note"] = (
            "no SCP is known for this account: the SCP policy type is off, or policies were not collected"
        )
        yield account_result(snap, Status.UNKNOWN, "No SCP known for this account", evidence)
        return
    found = scp_guardrails(scps)
    present = [k for k, v in found.items() if v]
    missing = [k for k, v in found.items() if not v]
    evidence.update(guardrails=found, present=present, missing=missing)
    if not present:
        yield account_result(snap, Status.FAIL, "No SCP guardrail beyond full access", evidence)
    elif missing:
        yield account_result(
            snap, Status.PASS, f"SCP guardrails: {', '.join(present)}; missing {', '.join(missing)}", evidence
        )
    else:
        yield account_result(
            snap,
            Status.PASS,
            "SCP guardrails: region allow-list, deny leaving, security services protected",
            evidence,
        )


# ----------------------------------------------------------------------------------- regions
def _default_vpcs(snap: Snapshot) -> set[tuple[str, str]]:
    return {
        (v.region, str(as_dict(v.data).get("VpcId")))
        for v in snap.of("ec2:vpc")
        if truthy(as_dict(v.data).get("IsDefault"))
    }


def aws_created(item: Item, default_vpcs: set[tuple[str, str]]) -> bool:
    """Resources AWS creates in every region (default VPC and its parts, AWS-managed keys), account
    settings pseudo-resources and security tooling meant to run everywhere."""
    data = as_dict(item.data)
    t = item.type
    if t in PSEUDO_TYPES or t in SECURITY_TOOLING_TYPES:
        return True
    if t == "ec2:vpc":
        return truthy(data.get("IsDefault"))
    if t == "ec2:subnet":
        return truthy(data.get("DefaultForAz"))
    if t == "ec2:security-group":
        return data.get("GroupName") == "default"
    if t == "ec2:network-acl":
        return truthy(data.get("IsDefault"))
    if t in ("ec2:route-table", "ec2:flow-log"):
        vpc = data.get("VpcId") or data.get("ResourceId")
        return (item.region, str(vpc)) in default_vpcs
    if t == "ec2:internet-gateway":
        return any((item.region, str(a.get("VpcId"))) in default_vpcs for a in dicts(data.get("Attachments")))
    if t == "kms:key":
        return str(data.get("KeyManager", "")).upper() == "AWS"
    return False


@check(
    id="inventory.unexpected_region",
    title="Resources only in allowed regions",
    service="Inventory",
    scope="account",
    severity=Severity.MEDIUM,
    description="Resources exist in regions outside the account's allowed list (its own, else SKYLEDGER_ALLOWED_REGIONS; "
    "empty: every region allowed). Every enabled region is collected whatever the list says, and the evidence names "
    "each resource. "
    "The default VPC and its parts, AWS-managed keys, account settings and security tooling (GuardDuty, Config, "
    "Security Hub, Access Analyzer) are ignored.",
    risk="Forgotten or shadow resources in unwatched regions escape monitoring, cost control and data-residency rules.",
    remediation=(
        "1. List what is there: aws resourcegroupstaggingapi get-resources --region <region> (or the evidence); "
        "confirm with the owner whether each resource is needed, then move or delete it.\n"
        "2. Enforce the list with an SCP denying actions when aws:RequestedRegion is not allowed: aws organizations "
        "create-policy --type SERVICE_CONTROL_POLICY --content file://region-fence.json, then attach-policy.\n"
        "3. Or, if the region is legitimately used, add it to the account's allowed regions in Skyledger."
    ),
    references=(DOC_SCP_REGION, DOC_REGIONS),
    requires=("ec2:instance", "ec2:vpc", "s3:bucket", "rds:db-instance", "lambda:function"),
)
def unexpected_region(snap: Snapshot) -> Iterator[Result]:
    allowed = set(snap.account.allowed_regions)
    if not allowed:
        yield account_result(snap, Status.NOT_APPLICABLE, "No region allow-list: every region is allowed")
        return
    defaults = _default_vpcs(snap)
    outside = sorted(
        (
            i
            for i in snap.items
            if i.region not in allowed
            and i.region not in (GLOBAL_REGION, UNKNOWN_REGION)
            and not aws_created(i, defaults)
        ),
        key=lambda i: (i.region, i.type, i.arn),
    )
    evidence: dict[str, Any] = {"allowed_regions": sorted(allowed)}
    if outside:
        by_region: dict[str, list[Item]] = defaultdict(list)
        for i in outside:
            by_region[i.region].append(i)
        evidence["regions"] = {
            r: {"count_by_type": dict(Counter(i.type for i in items))}
            for r, items in sorted(by_region.items())
        }
        # every one named: this finding is the list of what to look at (and what automation acts on)
        evidence["resources"] = [
            {"type": i.type, "arn": i.arn, "name": text(i.name or i.resource_id, 200), "region": i.region}
            for i in outside
        ]
        yield account_result(
            snap,
            Status.FAIL,
            f"{plural(len(outside), 'resource')} outside allowed regions: {join_limited(sorted(by_region))}",
            evidence,
        )
        return
    other = [r for r in collected_regions(snap) if r not in allowed]
    evidence["other_regions_collected"] = other
    bad = sorted(
        {
            f"{t}@{r}"
            for (t, r), c in snap.coverage.items()
            if r in other and c not in (Coverage.OK, Coverage.UNSUPPORTED)
        }
    )
    # a bucket whose region could not be read yet may be anywhere
    bad += sorted(f"{i.type} {i.arn} (region not read)" for i in snap.items if i.region == UNKNOWN_REGION)
    # regions the collection did not look at (excluded by a setting, denied by an SCP) may hold anything
    unseen = {
        r: why for r, why in (snap.facts.get("regions_not_looked_at") or {}).items() if r not in allowed
    }
    if unseen:
        evidence["regions_not_looked_at"] = dict(sorted(unseen.items()))
        bad += sorted(f"{r} (not looked at: {why})" for r, why in unseen.items())
    if bad:
        evidence["not_fully_collected"] = bad
        yield account_result(
            snap,
            Status.UNKNOWN,
            "Nothing found outside allowed regions, but collection there was incomplete",
            evidence,
        )
    else:
        yield account_result(snap, Status.PASS, "No resources outside allowed regions", evidence)
