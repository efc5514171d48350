"""``manage.py role_policy``: the read role (policy, trust, CloudFormation, StackSet, Terraform) and
the hub's policy, made from the AWS calls Skyledger's code declares (inventory.aws.permissions)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.aws import rolepolicy

FORMATS = ("json", "trust", "hub", "cloudformation", "stackset", "terraform")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def _repo_root() -> Path:
    return Path(settings.BASE_DIR)


def write_all(root: Path) -> list[Path]:
    """Write every file of ``deploy/aws/`` under ``root``; returns the paths whose text changed."""
    changed = []
    for name, text in rolepolicy.render_all().items():
        path = root / rolepolicy.DEPLOY_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale(root: Path) -> list[str]:
    """Files of ``deploy/aws/`` under ``root`` missing or different from what the code makes now."""
    out = []
    for name, text in rolepolicy.render_all().items():
        path = root / rolepolicy.DEPLOY_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(f"{rolepolicy.DEPLOY_DIR}/{name}")
    return out


class Command(BaseCommand):
    help = (
        "Print the read role's permission policy (--format json, the default), its trust policy "
        "(trust), the hub's policy (hub), a CloudFormation template for one account "
        "(cloudformation), a service-managed StackSet for the organisation (stackset) or the "
        "Terraform module (terraform), all made from the AWS calls the code declares. "
        "--write-all writes every file of deploy/aws/; --check fails when they are out of date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="json")
        parser.add_argument("--role-name", default=None, help="read role name (default: SKYLEDGER_READ_ROLE)")
        parser.add_argument(
            "--hub-role-arn",
            default="",
            help="ARN of the role Skyledger runs as, for --format trust (default: a placeholder)",
        )
        parser.add_argument(
            "--external-id",
            default="",
            help="ExternalId for --format trust (default: SKYLEDGER_EXTERNAL_ID, else a placeholder)",
        )
        parser.add_argument(
            "--write", action="store_true", help="write this format's committed file(s) under deploy/aws/"
        )
        parser.add_argument("--write-all", action="store_true", help="write every file under deploy/aws/")
        parser.add_argument(
            "--check", action="store_true", help="exit 1 when a file under deploy/aws/ is out of date"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root = _repo_root()
        if options["check"]:
            out_of_date = stale(root)
            if out_of_date:
                raise CommandError(
                    "Out of date (run manage.py role_policy --write-all): " + ", ".join(out_of_date)
                )
            self.stdout.write("deploy/aws/ is up to date.")
            return
        if options["write_all"] or options["write"]:
            if options["write"] and not options["write_all"]:
                prefix = self._files_of(options["format"])
                files = {n: t for n, t in rolepolicy.render_all().items() if n.startswith(prefix)}
                changed = []
                for name, text in files.items():
                    path = root / rolepolicy.DEPLOY_DIR / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    if not path.exists() or path.read_text(encoding="utf-8") != text:
                        path.write_text(text, encoding="utf-8")
                        changed.append(path)
            else:
                changed = write_all(root)
            for path in changed:
                self.stdout.write(f"wrote {path.relative_to(root)}")
            self.stdout.write(f"{len(changed)} file(s) changed.")
            return
        self.stdout.write(self._render(options), ending="")

    @staticmethod
    def _files_of(fmt: str) -> str:
        return {
            "json": rolepolicy.POLICY_FILE,
            "trust": rolepolicy.TRUST_FILE,
            "hub": rolepolicy.HUB_POLICY_FILE,
            "cloudformation": rolepolicy.CFN_FILE,
            "stackset": rolepolicy.STACKSET_FILE,
            "terraform": rolepolicy.TF_DIR,
        }[fmt]

    def _render(self, options: dict[str, Any]) -> str:
        fmt = options["format"]
        role_name = options["role_name"] or settings.SKYLEDGER_READ_ROLE or rolepolicy.DEFAULT_ROLE_NAME
        if not _ROLE_NAME.match(role_name):
            raise CommandError(f"Not a role name: {role_name[:80]!r} (1-64 of letters, digits and +=,.@_-).")
        if fmt == "json":
            return rolepolicy.to_json(rolepolicy.read_role_policy())
        if fmt == "hub":
            return rolepolicy.to_json(rolepolicy.hub_policy(role_name))
        if fmt == "trust":
            hub_arn = options["hub_role_arn"] or rolepolicy.HUB_ROLE_ARN_PLACEHOLDER
            if options["hub_role_arn"] and not _ROLE_ARN.match(hub_arn):
                raise CommandError(f"Not an IAM role ARN: {hub_arn[:120]!r}.")
            external_id = (
                options["external_id"] or settings.SKYLEDGER_EXTERNAL_ID or rolepolicy.EXTERNAL_ID_PLACEHOLDER
            )
            return rolepolicy.to_json(rolepolicy.trust_policy(hub_arn, external_id))
        if fmt == "cloudformation":
            return rolepolicy.to_yaml(rolepolicy.cloudformation_template())
        if fmt == "stackset":
            return rolepolicy.to_yaml(rolepolicy.stackset_template())
        parts = []
        for name, text in rolepolicy.terraform_module().items():
            parts.append(f"# ---- {rolepolicy.TF_DIR}/{name}\n{text}")
        return "\n".join(parts)
