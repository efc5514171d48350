"""The organisation: OUs, accounts created into them, SCPs attached. No Django here."""

from __future__ import annotations

import json

from inventory.simulation import documents as docs
from inventory.simulation.estate import (
    CORE_ACCOUNTS,
    CORE_NAMES,
    MANAGEMENT_DISPLAY_NAME,
    AccountInfo,
)
from inventory.simulation.seeding.base import (
    EXTRA_ENVS,
    EXTRA_TEAMS,
    MANAGED,
    SEED_ROLE,
    SeederBase,
    _Account,
)


class OrganizationMixin(SeederBase):
    """Seeding steps: the organisation: OUs, accounts created into them, SCPs attached."""

    def _organization(self) -> None:
        spec = self.spec
        mgmt = _Account(
            self, "org-root", spec.management_account_id, self._assume(spec.management_account_id, SEED_ROLE)
        )
        self.accts["org-root"] = mgmt
        org = mgmt.client("organizations")
        self.org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root_id = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
        self.ous["Root"] = root_id
        for path in [
            "Root/Security",
            "Root/Workloads",
            "Root/Workloads/NonProd",
            "Root/Workloads/Prod",
            "Root/Sandbox",
        ]:
            parent, name = path.rsplit("/", 1)
            ou = org.create_organizational_unit(ParentId=self.ous[parent], Name=name)["OrganizationalUnit"]
            self.ous[path] = ou["Id"]

        # moto attaches FullAWSAccess to the root and to every account it creates, as AWS does
        self.scps["FullAWSAccess"] = "p-FullAWSAccess"
        self.scp_targets[root_id] = ["FullAWSAccess"]
        self.scp_targets[mgmt.id] = ["FullAWSAccess"]
        master_email = org.describe_organization()["Organization"].get("MasterAccountEmail", "")
        self.info["org-root"] = AccountInfo(
            "org-root", mgmt.id, MANAGEMENT_DISPLAY_NAME, "master", master_email, "org-root", "Root"
        )

        accounts: list[tuple[str, str, str, str]] = [
            (k, CORE_NAMES.get(k, k), env, ou) for k, (env, ou) in CORE_ACCOUNTS.items()
        ]
        for n, key in enumerate(self._extra_keys()):
            env, ou = EXTRA_ENVS[n % len(EXTRA_ENVS)]
            team = EXTRA_TEAMS[(n // len(EXTRA_ENVS)) % len(EXTRA_TEAMS)]
            cycle = n // (len(EXTRA_ENVS) * len(EXTRA_TEAMS))
            name = f"{team}-{env}" + (f"-{cycle + 1}" if cycle else "")
            accounts.append((key, name, env, ou))
        for key, name, env, ou_path in accounts:
            email = f"aws+{name}@{self.spec.email_domain}"
            status = org.create_account(AccountName=name, Email=email)["CreateAccountStatus"]
            account_id = status["AccountId"]
            if ou_path != "Root":  # an account left under Root stays where Organizations creates it
                org.move_account(
                    AccountId=account_id, SourceParentId=root_id, DestinationParentId=self.ous[ou_path]
                )
            self.scp_targets[account_id] = ["FullAWSAccess"]
            self.accts[key] = _Account(
                self, key, account_id, self._assume(account_id, SEED_ROLE, mgmt.credentials)
            )
            # Organizations creates OrganizationAccountAccessRole trusting the management account's
            # root with AdministratorAccess; moto creates the role and its trust, not the policy.
            # An administrator role in every member, as in real organisations: the checks say so.
            member = self.accts[key]
            member.client("iam").attach_role_policy(
                RoleName=SEED_ROLE, PolicyArn=MANAGED + "AdministratorAccess"
            )
            access_role = f"arn:aws:iam::{account_id}:role/{SEED_ROLE}"
            note = f"AdministratorAccess on {SEED_ROLE}, as Organizations creates it (trusts the management account)."
            self.plant("iam.admin_policy", member, access_role, note)
            self.plant("iam.blanket_managed_policy", member, access_role, note)
            self.info[key] = AccountInfo(key, account_id, name, name, email, env, ou_path)

        regions = list(spec.regions)
        policies = {
            "DenyLeaveOrganization": (
                "Members cannot leave the organisation.",
                docs.scp_deny_leave_org(),
                ["Root"],
            ),
            "ProtectSecurityServices": (
                "CloudTrail, GuardDuty, Config, Security Hub and Access Analyzer cannot be switched off.",
                docs.scp_protect_security_services(),
                ["Root"],
            ),
            "RegionAllowList": (
                f"Regional services only in {', '.join(regions)}.",
                docs.scp_region_allow_list(regions),
                ["Root/Workloads", "Root/Sandbox"],
            ),
        }
        for name, (description, content, targets) in policies.items():
            policy_id = org.create_policy(
                Name=name, Description=description, Type="SERVICE_CONTROL_POLICY", Content=json.dumps(content)
            )["Policy"]["PolicySummary"]["Id"]
            self.scps[name] = policy_id
            for path in targets:
                org.attach_policy(PolicyId=policy_id, TargetId=self.ous[path])
                self.scp_targets.setdefault(self.ous[path], []).append(name)

        self._refresh_scps()
