"""The read role and the hub's policy as code, made from the declared calls. No Django here.

Everything under ``deploy/aws/`` is written by :func:`render_all` (``manage.py role_policy
--write-all``); ``tests/inventory/aws/test_role_policy.py`` fails when a committed file differs from
what this module makes now, so a collector that starts calling something new cannot ship without
its permission (and the recorded-calls test fails when a call is not declared at all).

- :func:`read_role_policy`: exactly the actions of :func:`inventory.aws.permissions.declared_actions`,
  one statement per service, ``Resource: "*"``;
- :func:`trust_policy`: the hub role as the only principal, with an ``sts:ExternalId`` condition;
- :func:`hub_policy`: ``sts:AssumeRole`` on the read role (by name, in any account) and what
  discovery asks with the hub's own credentials;
- CloudFormation for one account, a service-managed StackSet for the organisation, and a Terraform
  module reading the same policy JSON with ``file()``.
"""

from __future__ import annotations

import json
from typing import Any

from inventory.aws.permissions import DATA_PLANE, HUB, READ, declared_actions

DEFAULT_ROLE_NAME = "SkyledgerReadOnly"
DEFAULT_HUB_ROLE_NAME = "SkyledgerHub"
VERSION = "2012-10-17"
DEPLOY_DIR = "deploy/aws"

# What the committed trust policy names in place of real values (the command fills them in).
HUB_ROLE_ARN_PLACEHOLDER = "arn:aws:iam::HUB_ACCOUNT_ID:role/SkyledgerHub"
EXTERNAL_ID_PLACEHOLDER = "YOUR-EXTERNAL-ID"

READ_POLICY_NAME = "SkyledgerRead"  # the read role's inline policy
POLICY_FILE = "read-role-policy.json"
TRUST_FILE = "read-role-trust-policy.json"
HUB_POLICY_FILE = "hub-policy.json"
CFN_FILE = "cloudformation/read-role.yaml"
STACKSET_FILE = "cloudformation/read-role-stackset.yaml"
TF_DIR = "terraform/read-role"

_SID_CHARS = str.maketrans({"-": " ", "_": " "})


def _sid(prefix: str) -> str:
    """``access-analyzer`` -> ``ReadAccessAnalyzer`` (Sids are alphanumeric)."""
    return "Read" + "".join(part.capitalize() for part in prefix.translate(_SID_CHARS).split())


def read_actions() -> list[str]:
    """The read role's actions: every declared read call's, sorted; refuses a data-plane read."""
    actions = declared_actions(READ)
    forbidden = sorted(set(actions) & DATA_PLANE)
    if forbidden:
        raise ValueError(f"data-plane reads declared, never granted: {', '.join(forbidden)}")
    return actions


def read_role_policy() -> dict[str, Any]:
    """The read role's permission policy: the declared actions grouped by service, ``Resource: "*"``."""
    by_service: dict[str, list[str]] = {}
    for action in read_actions():
        by_service.setdefault(action.split(":", 1)[0], []).append(action)
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": _sid(service), "Effect": "Allow", "Action": actions, "Resource": "*"}
            for service, actions in sorted(by_service.items())
        ],
    }


def trust_policy(hub_role_arn: str, external_id: str) -> dict[str, Any]:
    """The read role's trust policy: only ``hub_role_arn`` may assume it, with ``external_id``."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "SkyledgerHub",
                "Effect": "Allow",
                "Principal": {"AWS": hub_role_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def hub_policy(role_name: str = DEFAULT_ROLE_NAME, partition: str = "aws") -> dict[str, Any]:
    """The hub's own policy: assume the read role (by name, in any account) and find the
    organisation's management account for discovery."""
    statements: list[dict[str, Any]] = []
    hub_actions = declared_actions(HUB)
    if "sts:AssumeRole" in hub_actions:
        statements.append(
            {
                "Sid": "AssumeSkyledgerReadRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:{partition}:iam::*:role/{role_name}",
            }
        )
    others = [action for action in hub_actions if action != "sts:AssumeRole"]
    if others:
        statements.append(
            {"Sid": "DiscoverOrganization", "Effect": "Allow", "Action": others, "Resource": "*"}
        )
    return {"Version": VERSION, "Statement": statements}


def to_json(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


# ------------------------------------------------------------------------------- CloudFormation


def _role_resource(policy: dict[str, Any]) -> dict[str, Any]:
    """The read role as a CloudFormation resource, reading the template's parameters."""
    trust = trust_policy("HUB", "EXTERNAL")
    statement = trust["Statement"][0]
    statement["Principal"] = {"AWS": {"Ref": "HubRoleArn"}}
    statement["Condition"] = {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": {"Ref": "RoleName"},
            "Description": "Skyledger: read-only audit of this account (configuration, never data)",
            "MaxSessionDuration": 3600,
            "AssumeRolePolicyDocument": trust,
            "Policies": [{"PolicyName": READ_POLICY_NAME, "PolicyDocument": policy}],
            "Tags": [{"Key": "managed-by", "Value": "skyledger"}],
        },
    }


def _parameters() -> dict[str, Any]:
    return {
        "RoleName": {
            "Type": "String",
            "Default": DEFAULT_ROLE_NAME,
            "AllowedPattern": "[\\w+=,.@-]{1,64}",
            "Description": "Name of the read role (SKYLEDGER_READ_ROLE in Skyledger's settings)",
        },
        "HubRoleArn": {
            "Type": "String",
            "AllowedPattern": "arn:aws[a-z-]*:iam::\\d{12}:role/.+",
            "Description": "ARN of the role Skyledger runs as (the hub), the only principal trusted",
        },
        "ExternalId": {
            "Type": "String",
            "NoEcho": True,
            "MinLength": 2,
            "MaxLength": 1224,
            "AllowedPattern": "[\\w+=,.@:/-]+",
            "Description": "ExternalId Skyledger sends (SKYLEDGER_EXTERNAL_ID); keep it secret",
        },
    }


def cloudformation_template(policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """One account's read role (deploy it in each account, or use the StackSet)."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Skyledger read role for one account (generated by manage.py role_policy; do not edit)",
        "Parameters": _parameters(),
        "Resources": {"SkyledgerReadRole": _role_resource(policy or read_role_policy())},
        "Outputs": {
            "RoleArn": {
                "Description": "ARN of the read role",
                "Value": {"Fn::GetAtt": ["SkyledgerReadRole", "Arn"]},
            }
        },
    }


def stackset_template(policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """A service-managed StackSet deploying :func:`cloudformation_template` to every account of the
    given OUs (the organisation root for all), and to every account that joins them later.

    Deploy it in the management account (or a delegated StackSet administrator). Service-managed
    StackSets never deploy to the management account itself: deploy the single-account template
    there too.
    """
    inner = cloudformation_template(policy)
    parameters = _parameters()
    parameters["OrganizationalUnitIds"] = {
        "Type": "CommaDelimitedList",
        "AllowedPattern": "(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})",
        "Description": "Where to deploy: the organisation root id (r-xxxx) for every account, or OU ids",
    }
    parameters["StackSetName"] = {
        "Type": "String",
        "Default": "skyledger-read-role",
        "Description": "Name of the StackSet",
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "Skyledger read role in every account of the organisation, new accounts included "
            "(generated by manage.py role_policy; do not edit)"
        ),
        "Parameters": parameters,
        "Resources": {
            "SkyledgerReadRoleStackSet": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": {"Ref": "StackSetName"},
                    "Description": "Skyledger read role (read-only audit, configuration never data)",
                    "PermissionModel": "SERVICE_MANAGED",
                    "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                    "Capabilities": ["CAPABILITY_NAMED_IAM"],
                    "ManagedExecution": {"Active": True},
                    "OperationPreferences": {
                        "FailureTolerancePercentage": 10,
                        "MaxConcurrentPercentage": 25,
                        "RegionConcurrencyType": "PARALLEL",
                    },
                    "Parameters": [
                        {"ParameterKey": key, "ParameterValue": {"Ref": key}}
                        for key in ("RoleName", "HubRoleArn", "ExternalId")
                    ],
                    # IAM is global: one region is enough (this stack's)
                    "StackInstancesGroup": [
                        {
                            "DeploymentTargets": {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}},
                            "Regions": [{"Ref": "AWS::Region"}],
                        }
                    ],
                    "TemplateBody": to_json(inner),
                },
            }
        },
        "Outputs": {
            "StackSetId": {
                "Description": "Id of the StackSet",
                "Value": {"Fn::GetAtt": ["SkyledgerReadRoleStackSet", "StackSetId"]},
            }
        },
    }


def to_yaml(document: Any) -> str:
    """``document`` as YAML, multi-line strings (the StackSet's template body) as literal blocks."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _text)
    header = "# Generated by `manage.py role_policy --write-all` from the declared AWS calls: do not edit.\n"
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


# ------------------------------------------------------------------------------------- Terraform

TF_MAIN = """\
# Generated by `manage.py role_policy --write-all` from the declared AWS calls: do not edit.
# Skyledger's read role in one account. The permission policy is read-role-policy.json, the same
# document as deploy/aws/read-role-policy.json.

resource "aws_iam_role" "skyledger_read" {
  name                 = var.role_name
  description          = "Skyledger: read-only audit of this account (configuration, never data)"
  max_session_duration = 3600
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  tags                 = var.tags
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "SkyledgerHub"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.hub_role_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

resource "aws_iam_role_policy" "skyledger_read" {
  name   = "SkyledgerRead"
  role   = aws_iam_role.skyledger_read.id
  policy = file("${path.module}/read-role-policy.json")
}
"""

TF_VARIABLES = """\
# Generated by `manage.py role_policy --write-all`: do not edit.

variable "role_name" {
  description = "Name of the read role (SKYLEDGER_READ_ROLE in Skyledger's settings)"
  type        = string
  default     = "%(role)s"
}

variable "hub_role_arn" {
  description = "ARN of the role Skyledger runs as (the hub), the only principal trusted"
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.hub_role_arn))
    error_message = "hub_role_arn must be an IAM role ARN."
  }
}

variable "external_id" {
  description = "ExternalId Skyledger sends (SKYLEDGER_EXTERNAL_ID); keep it secret"
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.external_id) >= 2 && length(var.external_id) <= 1224
    error_message = "external_id must be 2 to 1224 characters."
  }
}

variable "tags" {
  description = "Tags for the role"
  type        = map(string)
  default     = { "managed-by" = "skyledger" }
}
"""

TF_OUTPUTS = """\
# Generated by `manage.py role_policy --write-all`: do not edit.

output "role_arn" {
  description = "ARN of the read role"
  value       = aws_iam_role.skyledger_read.arn
}

output "role_name" {
  description = "Name of the read role"
  value       = aws_iam_role.skyledger_read.name
}
"""


def terraform_module(policy_json: str | None = None) -> dict[str, str]:
    """The Terraform module's files (name -> text): the policy JSON it reads, main, variables, outputs."""
    return {
        "read-role-policy.json": policy_json or to_json(read_role_policy()),
        "main.tf": TF_MAIN,
        "variables.tf": TF_VARIABLES % {"role": DEFAULT_ROLE_NAME},
        "outputs.tf": TF_OUTPUTS,
    }


def render_all() -> dict[str, str]:
    """Every file under ``deploy/aws/`` (path relative to it -> text)."""
    policy = read_role_policy()
    policy_json = to_json(policy)
    files = {
        POLICY_FILE: policy_json,
        TRUST_FILE: to_json(trust_policy(HUB_ROLE_ARN_PLACEHOLDER, EXTERNAL_ID_PLACEHOLDER)),
        HUB_POLICY_FILE: to_json(hub_policy()),
        CFN_FILE: to_yaml(cloudformation_template(policy)),
        STACKSET_FILE: to_yaml(stackset_template(policy)),
    }
    for name, text in terraform_module(policy_json).items():
        files[f"{TF_DIR}/{name}"] = text
    return files
