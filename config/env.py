"""Small typed readers for settings that come from the environment (12-factor)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    """A string; ``NAME_FILE`` (a path to a file holding the value) wins, for Docker secrets."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    value = os.environ.get(name)
    if value is None:
        if default is None:
            # Django's command runner hides ImproperlyConfigured raised while reading settings behind
            # a confusing "Apps aren't loaded yet"; say it plainly on stderr first.
            message = f"The environment variable {name} is required (or set SKYLEDGER_DEV=1 for development)."
            sys.stderr.write(f"Skyledger settings: {message}\n")
            raise ImproperlyConfigured(message)
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]
