"""Refuse to run on a release of a library whose internals we patch, other than the one we tested.

``inventory/aws/clientcost.py`` rebuilds parts of botocore's client construction, and
``inventory/simulation/moto_main.py`` patches moto's backends and HTTP handler. Both rely on
private code that changes between releases without notice (moto 5.2.6 broke the keep-alive patch).
``pyproject.toml`` pins these packages exactly and the lock file installs exactly that release;
this guard turns "installed something else" into one clear message instead of subtle misbehaviour.

The tested release is read from the project's own requirement (``name==version`` in
``pyproject.toml``, or the installed distribution's metadata without a checkout), so the pin lives
in one place.
No Django.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import tomllib
from pathlib import Path

PROJECT = "skyledger"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# the packages whose internals the code touches; each must be pinned with == in pyproject.toml
GUARDED = ("botocore", "moto")


class UntestedVersionError(RuntimeError):
    """An installed package is not the release Skyledger was tested with."""


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _exact(requirement: str) -> str | None:
    found = re.search(r"==\s*([A-Za-z0-9.+!-]+)", requirement.split(";", 1)[0])
    return found.group(1) if found else None


@functools.cache
def tested_versions() -> dict[str, str]:
    """``{package: version}`` for every exact (``==``) pin among the project's requirements."""
    if PYPROJECT.exists():  # a checkout (development, CI, the image's /app): the pin's one home
        with PYPROJECT.open("rb") as fh:
            requirements = tomllib.load(fh)["project"]["dependencies"]
    else:  # installed without its source tree: the same requirements, from the package's metadata
        requirements = importlib.metadata.requires(PROJECT) or []
    pins = {}
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        version = _exact(requirement)
        if version:
            pins[_name(requirement)] = version
    return pins


def require_tested(*packages: str) -> None:
    """Raise :class:`UntestedVersionError` unless each package is installed at its pinned release."""
    pins = tested_versions()
    for package in packages:
        wanted = pins.get(package)
        if wanted is None:
            raise UntestedVersionError(
                f"{package} is not pinned with == in pyproject.toml, but Skyledger relies on its internals."
            )
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != wanted:
            raise UntestedVersionError(
                f"Skyledger was tested with {package} {wanted}, and this environment has {installed}. "
                f"Its code relies on {package}'s internals, which change between releases, so it will not run "
                "on another one. Install the locked set: `make install` (or `pip install --require-hashes "
                "-r requirements/prod.txt`). To move to a new release, change the pin in pyproject.toml, "
                "run `make lock` and the whole test suite."
            )
