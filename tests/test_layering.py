"""AWS-facing code and checks are plain Python: they must not import Django."""

from __future__ import annotations

import subprocess
import sys

PURE_PACKAGES = [
    "inventory.aws",
    "inventory.collectors",
    "inventory.simulation",
    "inventory.exposure",
    "iam_audit.checks",
    "iam_audit.graph",
    "iam_audit.policy",
]


def test_aws_collectors_and_checks_import_no_django() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {PURE_PACKAGES!r}:\n"
        "    pkg = importlib.import_module(name)\n"
        "    for mod in pkgutil.walk_packages(pkg.__path__, name + '.'):\n"
        "        importlib.import_module(mod.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"Django imported by pure modules: {result.stdout}"
