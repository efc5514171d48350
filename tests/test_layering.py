"""Import layers: AWS-facing code and checks are plain Python (no Django), and neither the AWS layer
nor the checks reach into the collectors (what collection produces is in ``inventory.records``)."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

PURE_PACKAGES = [
    "inventory.aws",
    "inventory.collectors",
    "inventory.simulation",
    "inventory.exposure",
    "iam_audit.checks",
    "iam_audit.graph",
    "iam_audit.policy",
]
PURE_MODULES = ["inventory.records", "inventory.resource_types"]


def test_aws_collectors_and_checks_import_no_django() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {PURE_PACKAGES!r}:\n"
        "    pkg = importlib.import_module(name)\n"
        "    for mod in pkgutil.walk_packages(pkg.__path__, name + '.'):\n"
        "        importlib.import_module(mod.name)\n"
        f"for name in {PURE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"Django imported by pure modules: {result.stdout}"


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


# (the files of a layer, the modules they must not import)
FORBIDDEN = [
    ("inventory/aws", "inventory.collectors"),
    ("iam_audit/checks", "inventory.collectors"),
    ("iam_audit/policy", "inventory.collectors"),
    ("inventory/records.py", "inventory"),
]


@pytest.mark.parametrize(("layer", "forbidden"), FORBIDDEN)
def test_layer_does_not_import(layer: str, forbidden: str) -> None:
    target = ROOT / layer
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert files, f"nothing found under {layer}"
    bad = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in files
        for module in imported_modules(path)
        if module == forbidden or module.startswith(forbidden + ".")
    )
    assert not bad, f"{layer} must not import {forbidden}: {bad}"


def test_the_import_rule_sees_imports_inside_functions(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from inventory.collectors.base import Record\n    import inventory.collectors\n"
    )
    assert {"inventory.collectors.base", "inventory.collectors"} <= imported_modules(source)
