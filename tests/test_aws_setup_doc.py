"""docs/aws-setup.md: linked from the README, names every deploy file and only real settings."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from inventory.aws import rolepolicy

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "aws-setup.md"


def test_readme_links_the_guide() -> None:
    assert "(docs/aws-setup.md)" in (ROOT / "README.md").read_text()


def test_guide_names_every_deploy_file_and_they_exist() -> None:
    text = GUIDE.read_text()
    for name in rolepolicy.render_all():
        path = f"{rolepolicy.DEPLOY_DIR}/{name}"
        if name.startswith(rolepolicy.TF_DIR):
            path = f"{rolepolicy.DEPLOY_DIR}/{rolepolicy.TF_DIR}/"
        assert path in text, path
        assert (ROOT / rolepolicy.DEPLOY_DIR / name).exists(), name


def test_every_setting_the_guide_names_exists() -> None:
    names = set(re.findall(r"\bSKYLEDGER_[A-Z_]+\b", GUIDE.read_text()))
    assert {"SKYLEDGER_READ_ROLE", "SKYLEDGER_EXTERNAL_ID"} <= names
    assert [n for n in sorted(names) if not hasattr(settings, n)] == []
