"""The lock files agree with pyproject.toml, and the guard on patched libraries holds.

``requirements/dev.txt`` (everything, for development and CI) and ``requirements/prod.txt`` (the
image) are made by ``make lock`` (pip-compile with hashes). A dependency added, removed or re-ranged
in pyproject.toml without ``make lock`` fails here, so CI never installs something else than what
pyproject.toml says.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from inventory.aws import versions

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
VIA = "skyledger (pyproject.toml)"


def parse_lock(path: Path) -> dict[str, tuple[str, int, set[str]]]:
    """``{name: (version, number of hashes, {what it is required via})}``."""
    pins: dict[str, tuple[str, int, set[str]]] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        found = PIN.match(line)
        if found:
            name = canonicalize_name(found.group(1))
            pins[name] = (found.group(2), 0, set())
        elif not name:
            continue
        elif "--hash=sha256:" in line:
            version, hashes, via = pins[name]
            pins[name] = (version, hashes + 1, via)
        elif line.strip().startswith("#"):
            text = line.strip().lstrip("#").strip().removeprefix("via").strip()
            if text:
                pins[name][2].add(text)
    return pins


def requirements(extra: bool) -> list[Requirement]:
    found = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    if extra:
        found += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]
    return found


@pytest.mark.parametrize(("lock", "with_dev"), [("dev.txt", True), ("prod.txt", False)])
def test_every_requirement_of_pyproject_is_locked_at_a_version_it_allows(lock: str, with_dev: bool) -> None:
    pins = parse_lock(ROOT / "requirements" / lock)
    for requirement in requirements(with_dev):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is in pyproject.toml but not in requirements/{lock}: make lock"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name][0]}, outside pyproject.toml's {requirement}: make lock"
        )


@pytest.mark.parametrize(("lock", "with_dev"), [("dev.txt", True), ("prod.txt", False)])
def test_the_lock_names_no_direct_requirement_that_pyproject_dropped(lock: str, with_dev: bool) -> None:
    declared = {canonicalize_name(r.name) for r in requirements(with_dev)}
    direct = {name for name, (_, _, via) in parse_lock(ROOT / "requirements" / lock).items() if VIA in via}
    assert direct == declared, f"requirements/{lock} is stale: make lock"


def test_every_locked_package_is_pinned_with_hashes() -> None:
    for lock in ("dev.txt", "prod.txt"):
        pins = parse_lock(ROOT / "requirements" / lock)
        assert pins, lock
        assert all(hashes for _, hashes, _ in pins.values()), [n for n, p in pins.items() if not p[1]]


def test_production_installs_the_same_releases_as_development_and_no_test_tools() -> None:
    dev, prod = parse_lock(ROOT / "requirements" / "dev.txt"), parse_lock(ROOT / "requirements" / "prod.txt")
    assert {n: p[0] for n, p in prod.items()} == {n: dev[n][0] for n in prod}
    assert not {"pytest", "playwright", "mypy", "hypothesis"} & set(prod)


def test_the_lock_files_name_no_index_or_host() -> None:
    for lock in ("dev.txt", "prod.txt"):
        text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
        assert "://" not in text and "--index-url" not in text and "--find-links" not in text


def test_libraries_whose_internals_we_patch_are_pinned_exactly() -> None:
    pins = versions.tested_versions()
    for package in versions.GUARDED:
        assert package in pins, f"{package} must be pinned with == in pyproject.toml"
        assert importlib.metadata.version(package) == pins[package], "the environment is not the locked set"
        versions.require_tested(package)


def test_the_guard_refuses_another_release_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.version
    monkeypatch.setattr(
        versions.importlib.metadata, "version", lambda name: "99.0.0" if name == "moto" else real(name)
    )
    with pytest.raises(versions.UntestedVersionError) as refused:
        versions.require_tested("moto")
    message = str(refused.value)
    assert f"tested with moto {versions.tested_versions()['moto']}" in message and "99.0.0" in message
    assert "make install" in message and "make lock" in message
    versions.require_tested("botocore")
    with pytest.raises(versions.UntestedVersionError, match="not pinned"):
        versions.require_tested("pytest")
