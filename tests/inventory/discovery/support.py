"""A small organisation of its own for tests that change one (the shared estate must not change)."""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3

from inventory.aws.session import AwsSettings, Hub
from tests.inventory.simulation.support import fresh_account


@dataclasses.dataclass
class TinyOrg:
    """An organisation on the shared moto server: a management account and a few members."""

    endpoint_url: str
    management_id: str
    credentials: dict[str, str]  # the management account's (the hub lives there in these tests)
    members: dict[str, str]  # name -> account id
    ous: dict[str, str]  # OU name -> id

    def client(self, service: str = "organizations") -> Any:
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name="us-east-1", **self.credentials
        )

    def hub(self, endpoint_url: str | None = None) -> Hub:
        session = boto3.Session(region_name="us-east-1", **self.credentials)
        return Hub(
            AwsSettings(endpoint_url=endpoint_url or self.endpoint_url, max_attempts=2), session=session
        )


def tiny_org(endpoint_url: str, names: tuple[str, ...] = ("alpha-dev", "beta-prod", "gamma")) -> TinyOrg:
    """Build an organisation in a fresh management account: root, OU "Workloads", ``names``."""
    management_id = fresh_account()
    sts = boto3.client(
        "sts", endpoint_url=endpoint_url, region_name="us-east-1",
        aws_access_key_id="AKIATESTTINYORG00000", aws_secret_access_key="x",
    )  # fmt: skip
    answer = sts.assume_role(RoleArn=f"arn:aws:iam::{management_id}:role/Setup", RoleSessionName="tests")
    creds = answer["Credentials"]
    credentials = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    org = boto3.client("organizations", endpoint_url=endpoint_url, region_name="us-east-1", **credentials)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    members: dict[str, str] = {}
    for name in names:
        account_id = org.create_account(AccountName=name, Email=f"{name}@example.org")["CreateAccountStatus"][
            "AccountId"
        ]
        if name.endswith(("-dev", "-prod")):
            org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=workloads)
        members[name] = account_id
    return TinyOrg(endpoint_url, management_id, credentials, members, {"Root": root, "Workloads": workloads})
