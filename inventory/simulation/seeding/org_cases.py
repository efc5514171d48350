"""Organisation shapes and policy edge cases that a second organisation showed us (issue 25), each
with a decoy beside it. No Django here.

- **A Deny with NotAction** (identity account): group ``S3Readers`` allows ``*`` on ``*`` and, in a
  second statement, denies everything except S3 reads; its user ``s3.auditor`` is no administrator
  (``iam.admin_policy`` must not report it). The decoy is group ``Admins`` (seeded with the company's
  users): its EnforceMFA policy is also a Deny with NotAction, but only without MFA, so alice.admin
  and bob.admin stay administrators (planted there).
- **An SCP on a nested OU** (Root/Workloads/NonProd): ``DenyReleaseDeployer`` denies
  ``sts:AssumeRole`` on any ``ReleaseDeployer`` role unless the caller is a ``ReleaseApprover`` role.
  dev's ``ReleaseCi`` may assume staging's ``ReleaseDeployer`` by its own policy and the role's
  trust, but the SCP stops it: the path is blocked, with the SCP named. The decoy: dev's
  ``ReleaseApprover`` holds the same grant and trust, and the same SCP lets it through.
- **The identity account under another name**: it is called ``corp-directory`` (see
  :data:`~inventory.simulation.estate.CORE_NAMES`), so a guess from names reads "security" (its OU);
  it is the account that holds the company's users and that other accounts' roles trust.
- **An account directly under Root** (``shared-services``, outside every OU): planted for
  ``org.account_outside_ou``. The decoy: the management account, under Root by design.
"""

from __future__ import annotations

import json

from inventory.simulation import documents as docs
from inventory.simulation.seeding.base import SeederBase

RELEASE_SCP = "DenyReleaseDeployer"


class OrgCasesMixin(SeederBase):
    """Seeding step: the issue-25 cases, after everything else (so no other id moves)."""

    def _org_cases(self) -> None:
        self._notaction_deny_group()
        self._release_roles_under_an_ou_scp()
        self._account_outside_every_ou()

    def _notaction_deny_group(self) -> None:
        idn = self.accts["identity"]
        iam = idn.client("iam")
        iam.create_group(GroupName="S3Readers")
        document = {
            "Version": docs.VERSION,
            "Statement": [
                {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "AllButS3Reads",
                    "Effect": "Deny",
                    "NotAction": ["s3:Get*", "s3:List*"],
                    "Resource": "*",
                },
            ],
        }
        iam.put_group_policy(
            GroupName="S3Readers", PolicyName="S3ReadsOnly", PolicyDocument=json.dumps(document)
        )
        iam.create_user(UserName="s3.auditor", Tags=[{"Key": "team", "Value": "audit"}])
        iam.add_user_to_group(GroupName="S3Readers", UserName="s3.auditor")
        self.resources["identity.user.s3_auditor"] = f"arn:aws:iam::{idn.id}:user/s3.auditor"
        self.resources["identity.group.s3_readers"] = f"arn:aws:iam::{idn.id}:group/S3Readers"

    def _release_roles_under_an_ou_scp(self) -> None:
        dev, staging = self.accts["dev"], self.accts["staging"]
        deployer = f"arn:aws:iam::{staging.id}:role/ReleaseDeployer"
        callers = {}
        for name in ("ReleaseCi", "ReleaseApprover"):
            callers[name] = self._role(
                dev, name, docs.trust_service("codebuild.amazonaws.com"),
                inline={"AssumeReleaseDeployer": docs.allow("sts:AssumeRole", deployer)},
                description="Release pipeline: deploys to staging through ReleaseDeployer",
            )  # fmt: skip
        trust = {
            "Version": docs.VERSION,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": sorted(callers.values())},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        self._role(
            staging, "ReleaseDeployer", trust,
            inline={"PublishReleases": docs.allow("s3:PutObject", f"arn:aws:s3:::{self.spec.company}-releases-*/*")},
            description="Publishes releases to staging",
        )  # fmt: skip
        content = {
            "Version": docs.VERSION,
            "Statement": [
                {
                    "Sid": "OnlyApproversDeploy",
                    "Effect": "Deny",
                    "Action": "sts:AssumeRole",
                    "Resource": "arn:aws:iam::*:role/ReleaseDeployer",
                    "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ReleaseApprover"}},
                }
            ],
        }
        org = self.accts["org-root"].client("organizations")
        policy_id = org.create_policy(
            Name=RELEASE_SCP,
            Description="Only release approvers may assume ReleaseDeployer roles.",
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(content),
        )["Policy"]["PolicySummary"]["Id"]
        ou = self.ous["Root/Workloads/NonProd"]
        org.attach_policy(PolicyId=policy_id, TargetId=ou)
        self.scps[RELEASE_SCP] = policy_id
        self.scp_targets.setdefault(ou, []).append(RELEASE_SCP)
        self.resources.update(
            {
                "dev.role.release_ci": callers["ReleaseCi"],
                "dev.role.release_approver": callers["ReleaseApprover"],
                "staging.role.release_deployer": deployer,
            }
        )
        self._refresh_scps()

    def _account_outside_every_ou(self) -> None:
        info = self.info["shared-services"]
        acct = self.accts["shared-services"]
        self.plant(
            "org.account_outside_ou",
            acct,
            acct.id,
            f"{info.name} sits directly under Root: no OU's SCPs (RegionAllowList...) apply to it.",
        )
