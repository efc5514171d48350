"""deploy/aws/: the read role's policy, trust, templates and Terraform module, made from the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.aws import rolepolicy
from inventory.aws.permissions import HUB, READ, declared_actions
from inventory.management.commands.role_policy import stale, write_all

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / rolepolicy.DEPLOY_DIR


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (none are generated, but a hand edit could add one)."""


def _load_yaml(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (a SafeLoader)


def _actions(policy: dict) -> list[str]:
    out = []
    for statement in policy["Statement"]:
        actions = statement["Action"]
        out.extend([actions] if isinstance(actions, str) else actions)
    return out


def test_committed_files_are_what_the_code_makes_now() -> None:
    assert stale(ROOT) == [], "run: manage.py role_policy --write-all"


def test_a_changed_declaration_makes_the_committed_files_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_all(tmp_path)
    assert stale(tmp_path) == []
    real = rolepolicy.declared_actions
    monkeypatch.setattr(
        rolepolicy,
        "declared_actions",
        lambda principal: (
            [*real(principal), "ec2:DescribeKeyPairs"] if principal == READ else real(principal)
        ),
    )
    assert rolepolicy.POLICY_FILE in {Path(p).name for p in stale(tmp_path)}
    with pytest.raises(CommandError, match="Out of date"):
        monkeypatch.setattr("inventory.management.commands.role_policy._repo_root", lambda: tmp_path)
        call_command("role_policy", "--check")


def test_read_policy_is_exactly_the_declared_actions_grouped_by_service() -> None:
    policy = json.loads((DEPLOY / rolepolicy.POLICY_FILE).read_text())
    actions = _actions(policy)
    assert actions == sorted(actions)
    assert sorted(set(actions)) == declared_actions(READ)
    assert len(actions) == len(set(actions))
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == "*"
        assert len({a.split(":")[0] for a in statement["Action"]}) == 1
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"])
    assert len(json.dumps(policy, separators=(",", ":"))) < 10_240  # an inline role policy's limit


def test_trust_policy_names_the_hub_with_an_external_id_condition() -> None:
    trust = rolepolicy.trust_policy("arn:aws:iam::111122223333:role/SkyledgerHub", "s3cret-id")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:role/SkyledgerHub"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "s3cret-id"}}


def test_hub_policy_assumes_only_the_read_role_by_name() -> None:
    policy = rolepolicy.hub_policy("AuditRole")
    assume = [s for s in policy["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert [s["Resource"] for s in assume] == ["arn:aws:iam::*:role/AuditRole"]
    assert sorted(_actions(policy)) == declared_actions(HUB)
    for statement in policy["Statement"]:
        if statement["Action"] != "sts:AssumeRole":
            assert all(a.startswith("organizations:") for a in statement["Action"])


def test_cloudformation_template_carries_the_same_policy_and_parameters() -> None:
    template = _load_yaml(DEPLOY / rolepolicy.CFN_FILE)
    policy = json.loads((DEPLOY / rolepolicy.POLICY_FILE).read_text())
    role = template["Resources"]["SkyledgerReadRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["Policies"][0]["PolicyDocument"] == policy
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"AWS": {"Ref": "HubRoleArn"}}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert template["Parameters"]["ExternalId"]["NoEcho"] is True
    assert {"RoleName", "HubRoleArn", "ExternalId"} <= set(template["Parameters"])


def test_stackset_is_service_managed_auto_deployed_to_the_given_ous() -> None:
    template = _load_yaml(DEPLOY / rolepolicy.STACKSET_FILE)
    stackset = template["Resources"]["SkyledgerReadRoleStackSet"]
    assert stackset["Type"] == "AWS::CloudFormation::StackSet"
    props = stackset["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["AutoDeployment"]["Enabled"] is True
    assert props["StackInstancesGroup"][0]["DeploymentTargets"] == {
        "OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}
    }
    assert template["Parameters"]["ExternalId"]["NoEcho"] is True
    inner = json.loads(props["TemplateBody"])
    assert inner == _load_yaml(DEPLOY / rolepolicy.CFN_FILE)


def test_cfn_lint_passes_on_both_templates() -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    if cfn_lint is None:
        pytest.fail("cfn-lint is not installed beside this Python (it is in requirements/dev.txt)")
    files = [str(DEPLOY / rolepolicy.CFN_FILE), str(DEPLOY / rolepolicy.STACKSET_FILE)]
    done = subprocess.run([cfn_lint, *files], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    # the lint test above can fail: a template with an unknown property does
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint is not None
    broken = rolepolicy.cloudformation_template()
    broken["Resources"]["SkyledgerReadRole"]["Properties"]["NoSuchProperty"] = 1
    path = tmp_path / "broken.yaml"
    path.write_text(rolepolicy.to_yaml(broken))
    done = subprocess.run([cfn_lint, str(path)], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode != 0


def _hcl_blocks(text: str) -> list[tuple[str, list[str], str]]:
    """Top-level HCL blocks as (kind, labels, body), by brace matching (strings have no braces here
    except interpolations, which balance)."""
    blocks = []
    pos = 0
    header = re.compile(r'^(\w+)((?:\s+"[^"]*")*)\s*\{', re.M)
    while (match := header.search(text, pos)) is not None:
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        labels = re.findall(r'"([^"]*)"', match.group(2))
        blocks.append((match.group(1), labels, text[match.end() : i - 1]))
        pos = i
    return blocks


def test_terraform_module_structure() -> None:
    module = DEPLOY / rolepolicy.TF_DIR
    assert sorted(p.name for p in module.iterdir()) == [
        "main.tf",
        "outputs.tf",
        "read-role-policy.json",
        "variables.tf",
    ]
    # the module reads the very policy file that is committed beside it, identical to the JSON
    assert (module / "read-role-policy.json").read_text() == (DEPLOY / rolepolicy.POLICY_FILE).read_text()
    main = _hcl_blocks((module / "main.tf").read_text())
    kinds = {(kind, tuple(labels)) for kind, labels, _ in main}
    assert ("resource", ("aws_iam_role", "skyledger_read")) in kinds
    assert ("resource", ("aws_iam_role_policy", "skyledger_read")) in kinds
    assert ("data", ("aws_iam_policy_document", "trust")) in kinds
    (policy_body,) = [b for k, labels, b in main if labels == ["aws_iam_role_policy", "skyledger_read"]]
    assert re.search(r'policy\s*=\s*file\("\$\{path\.module\}/read-role-policy\.json"\)', policy_body)
    (trust_body,) = [b for k, labels, b in main if labels == ["aws_iam_policy_document", "trust"]]
    assert 'variable = "sts:ExternalId"' in trust_body and "var.external_id" in trust_body
    assert "var.hub_role_arn" in trust_body

    variables = {labels[0]: body for kind, labels, body in _hcl_blocks((module / "variables.tf").read_text())}
    assert set(variables) == {"role_name", "hub_role_arn", "external_id", "tags"}
    assert re.search(r"sensitive\s*=\s*true", variables["external_id"])
    assert f'default     = "{rolepolicy.DEFAULT_ROLE_NAME}"' in variables["role_name"]
    used = set(re.findall(r"var\.(\w+)", (module / "main.tf").read_text()))
    assert used == set(variables)

    outputs = {labels[0] for kind, labels, _ in _hcl_blocks((module / "outputs.tf").read_text())}
    assert outputs == {"role_arn", "role_name"}


def test_command_prints_each_format(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("role_policy", "--format", "json")
    assert json.loads(capsys.readouterr().out) == rolepolicy.read_role_policy()
    call_command(
        "role_policy",
        "--format",
        "trust",
        "--hub-role-arn",
        "arn:aws:iam::111122223333:role/Hub",
        "--external-id",
        "abc-123",
    )
    trust = json.loads(capsys.readouterr().out)
    assert trust["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::111122223333:role/Hub"
    call_command("role_policy", "--format", "hub", "--role-name", "AuditRole")
    assert "arn:aws:iam::*:role/AuditRole" in capsys.readouterr().out
    call_command("role_policy", "--format", "stackset")
    assert "SERVICE_MANAGED" in capsys.readouterr().out
    call_command("role_policy", "--format", "terraform")
    assert "aws_iam_role_policy" in capsys.readouterr().out


def test_command_refuses_bad_input() -> None:
    with pytest.raises(CommandError, match="Not an IAM role ARN"):
        call_command("role_policy", "--format", "trust", "--hub-role-arn", "<script>")
    with pytest.raises(CommandError, match="Not a role name"):
        call_command("role_policy", "--role-name", "bad name!")
