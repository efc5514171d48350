"""The identity account: every IAM user and group, the IAM story and its mistakes. No Django here."""

from __future__ import annotations

from inventory.simulation import documents as docs
from inventory.simulation.estate import (
    IamStory,
)
from inventory.simulation.seeding.base import (
    MANAGED,
    OLD_DAYS,
    SeederBase,
    _Account,
)


class IdentityMixin(SeederBase):
    """Seeding steps: the identity account: every IAM user and group, the IAM story and its mistakes."""

    def _identity(self) -> None:
        """Every IAM user and group of the company, with a believable mix of mistakes."""
        idn = self.accts["identity"]
        iam = idn.client("iam")
        mfa_policy = self._policy(
            idn, "EnforceMFA", docs.enforce_mfa(), "Deny everything but MFA set-up without MFA"
        )
        self.resources["identity.policy.enforce_mfa"] = mfa_policy

        def group(name: str, *policy_arns: str) -> str:
            arn = iam.create_group(GroupName=name)["Group"]["Arn"]
            for policy_arn in policy_arns:
                iam.attach_group_policy(GroupName=name, PolicyArn=policy_arn)
            return arn

        admins = group("Admins", MANAGED + "AdministratorAccess", mfa_policy)
        marketing_policy = self._policy(
            idn, "MarketingReadCampaigns",
            docs.allow(["s3:GetObject", "s3:ListBucket"], f"arn:aws:s3:::{self.spec.company}-campaigns-*"),
        )  # fmt: skip
        group("Marketing", marketing_policy)
        deploy_roles = [f"arn:aws:iam::{self.accts[k].id}:role/Deploy" for k in ("staging", "prod")]
        group(
            "Deployers",
            self._policy(idn, "DeployersAssumeDeployRole", docs.allow("sts:AssumeRole", deploy_roles)),
        )
        notaction = self._policy(idn, "OperatorsPowerUser", docs.power_user_not_action())
        assume_any = self._policy(idn, "CrossAccountAssumeAny", docs.allow("sts:AssumeRole", "*"))
        operators = group("Operators", notaction, assume_any)
        escalate = self._policy(idn, "BuildRunnerPassRole", docs.pass_role_run_instances())
        builders = group("Builders", escalate)
        self.plant(
            "iam.admin_policy",
            idn,
            admins,
            "AdministratorAccess attached to group Admins (alice.admin, bob.admin).",
        )
        self.plant(
            "iam.blanket_managed_policy",
            idn,
            admins,
            "AWS managed AdministratorAccess attached to group Admins.",
        )
        self.plant(
            "iam.notaction_allow",
            idn,
            notaction,
            "Allow with NotAction iam:*, organizations:*, account:*, sts:*.",
        )
        self.plant(
            "iam.assume_any_role", idn, assume_any, "Allows sts:AssumeRole on Resource '*' (group Operators)."
        )
        # the role build-runner can pass to an instance it launches: admin, so it can become admin
        build_admin = self._role(
            idn, "BuildBoxAdmin", docs.trust_service("ec2.amazonaws.com"), (MANAGED + "AdministratorAccess",),
            description="Build machines (temporary, they said)",
        )  # fmt: skip
        iam.create_instance_profile(InstanceProfileName="BuildBoxAdmin")
        iam.add_role_to_instance_profile(InstanceProfileName="BuildBoxAdmin", RoleName="BuildBoxAdmin")
        self.plant(
            "iam.admin_policy", idn, build_admin, "AdministratorAccess attached to role BuildBoxAdmin."
        )
        self.plant(
            "iam.blanket_managed_policy",
            idn,
            build_admin,
            "AWS managed AdministratorAccess on role BuildBoxAdmin.",
        )
        self.plant(
            "iam.privilege_escalation", idn, f"arn:aws:iam::{idn.id}:user/build-runner",
            "iam:PassRole on '*' plus ec2:RunInstances (group Builders, policy BuildRunnerPassRole): it can launch "
            "an instance with role BuildBoxAdmin (AdministratorAccess).",
        )  # fmt: skip
        self.resources.update(
            {
                "identity.role.build_admin": build_admin,
                "identity.group.admins": admins,
                "identity.group.operators": operators,
                "identity.group.builders": builders,
            }
        )

        def user(name: str, groups: tuple[str, ...] = (), console: bool = False, mfa: bool = False) -> str:
            return self._user(idn, name, groups, console=console, mfa=mfa)

        def key(name: str, use: bool = True) -> str:
            return self._access_key(idn, name, use=use)

        for admin in ("alice.admin", "bob.admin"):
            user(admin, ("Admins",), console=True, mfa=True)
        marketing = user("marketing.console", ("Marketing",), console=True)
        self.plant("iam.console_user_no_mfa", idn, marketing, "Console password, no MFA device.")
        ci = user("ci-deploy", ("Deployers",))
        keys = [key("ci-deploy"), key("ci-deploy")]
        self.plant("iam.multiple_active_keys", idn, ci, f"Two active access keys: {', '.join(keys)}.")
        with self._days_ago(OLD_DAYS) as shifted:
            old = user("legacy-batch")
            old_key = key("legacy-batch")
        if shifted:
            self.plant(
                "iam.key_rotation",
                idn,
                old,
                f"Access key {old_key} created {OLD_DAYS} days ago, never rotated.",
            )
            self.plant(
                "iam.credentials_unused", idn, old, f"Access key {old_key} last used {OLD_DAYS} days ago."
            )
        else:
            self.notes.append(
                "This moto server cannot shift its clock: legacy-batch's access key is new, not old."
            )
        reporting = user("reporting-bot")
        key("reporting-bot")
        reporting_policy = self._policy(
            idn,
            "ReportingS3Read",
            docs.allow("s3:GetObject", f"arn:aws:s3:::{self.spec.company}-reports-*/*"),
        )
        iam.attach_user_policy(UserName="reporting-bot", PolicyArn=reporting_policy)
        self.plant(
            "iam.user_direct_policy", idn, reporting, "Policy ReportingS3Read attached to the user directly."
        )
        new_hire = user("new.hire", ("Marketing",), console=True, mfa=True)
        unused_key = key("new.hire", use=False)
        self.plant(
            "iam.key_never_used", idn, new_hire, f"Access key {unused_key} created with the user, never used."
        )
        user("ops-automation", ("Operators",))
        key("ops-automation")
        user("build-runner", ("Builders",))
        key("build-runner")

    def _user(
        self,
        acct: _Account,
        name: str,
        groups: tuple[str, ...] = (),
        *,
        console: bool = False,
        mfa: bool = False,
    ) -> str:
        iam = acct.client("iam")
        arn = str(iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "company"}])["User"]["Arn"])
        for group_name in groups:
            iam.add_user_to_group(GroupName=group_name, UserName=name)
        if console:
            iam.create_login_profile(
                UserName=name, Password="Correct-Horse-Battery-9", PasswordResetRequired=False
            )
        if mfa:
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"][
                "SerialNumber"
            ]
            iam.enable_mfa_device(
                UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
            )
        self.resources[f"{acct.key}.user.{name}"] = arn
        return arn

    def _access_key(self, acct: _Account, name: str, use: bool = True) -> str:
        created = acct.client("iam").create_access_key(UserName=name)["AccessKey"]
        if use:  # a request signed with the key sets its last-used date
            credentials = {
                "aws_access_key_id": created["AccessKeyId"],
                "aws_secret_access_key": created["SecretAccessKey"],
            }
            self.client("sts", self.spec.home_region, credentials).get_caller_identity()
        return str(created["AccessKeyId"])

    def _story_and_staging(self) -> None:
        """Developer -> StagingReadOnly -> CompanyAssumeRoleStagingReadOnly -> staging CompanyReadOnly."""
        idn, stg = self.accts["identity"], self.accts["staging"]
        iam = idn.client("iam")
        role_arn = f"arn:aws:iam::{stg.id}:role/CompanyReadOnly"
        assume_policy = self._policy(
            idn, "CompanyAssumeRoleStagingReadOnly", docs.allow("sts:AssumeRole", role_arn, sid="AssumeStagingReadOnly"),
            "Lets the group assume the read-only role in staging",
        )  # fmt: skip
        group_arn = iam.create_group(GroupName="StagingReadOnly")["Group"]["Arn"]
        iam.attach_group_policy(GroupName="StagingReadOnly", PolicyArn=assume_policy)
        iam.attach_group_policy(
            GroupName="StagingReadOnly", PolicyArn=self.resources["identity.policy.enforce_mfa"]
        )
        developer = self._user(idn, "Developer", ("StagingReadOnly",), console=True, mfa=True)
        analyst = self._user(idn, "data-analyst", ("StagingReadOnly",))
        self._access_key(idn, "data-analyst")
        self.plant(
            "iam.user_no_mfa",
            idn,
            analyst,
            "Programmatic user without MFA in group StagingReadOnly (EnforceMFA applies).",
        )
        created = self._role(
            stg, "CompanyReadOnly", docs.trust_account(idn.id), (MANAGED + "ReadOnlyAccess",),
            description="Read-only access for engineers from the identity account",
        )  # fmt: skip
        assert created == role_arn
        self.plant(
            "iam.blanket_managed_policy", stg, role_arn, "AWS managed ReadOnlyAccess on role CompanyReadOnly."
        )
        self.story = IamStory(
            identity_account_id=idn.id,
            staging_account_id=stg.id,
            user_arn=developer,
            group_arn=group_arn,
            assume_policy_arn=assume_policy,
            mfa_policy_arn=self.resources["identity.policy.enforce_mfa"],
            role_arn=role_arn,
        )
        for key in ("staging", "prod"):
            self._role(
                self.accts[key], "Deploy", docs.trust_account(idn.id),
                inline={"DeployApplications": docs.allow(
                    ["ecs:UpdateService", "ecs:DescribeServices", "lambda:UpdateFunctionCode"], "*")},
                description="CI deployments from the identity account",
            )  # fmt: skip
