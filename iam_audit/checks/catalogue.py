"""The check catalogue as a Markdown document (``docs/checks.md``), rendered from the registry.

The document is generated, never edited by hand: ``manage.py checks_catalogue`` writes it and
``manage.py checks_catalogue --check`` (run by the test suite) fails when it is out of date, so
what the security team reads is what the code checks.
"""

from __future__ import annotations

from collections.abc import Iterable

from iam_audit.checks.base import Check, Severity, all_checks

SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}


def _cell(text: str) -> str:
    """One Markdown table cell: pipes escaped, line breaks folded."""
    return " ".join(text.replace("|", "\\|").split())


def _block(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def render(checks: Iterable[Check] | None = None) -> str:
    """The whole document for ``checks`` (default: every registered check)."""
    items = sorted(checks if checks is not None else all_checks(), key=lambda c: c.id)
    by_severity = {s: sum(1 for c in items if c.severity == s) for s in Severity}
    lines = [
        "# Check catalogue",
        "",
        "<!-- Generated from the check registry by `manage.py checks_catalogue`; do not edit by hand. -->",
        "",
        f"{len(items)} checks: "
        + ", ".join(f"{n} {s.value}" for s, n in by_severity.items() if n)
        + f"; {sum(1 for c in items if c.baseline)} are items of the per-account compliance baseline.",
        "",
        "Each check is a pure function over one account's stored inventory. Its result per subject is",
        "*pass*, *fail*, *unknown* (the data it reads was not collected, or could not be read) or",
        "*not applicable*. The id is stable: suppressions, rules and scripts refer to it.",
        "",
        "| id | check | service | scope | severity | baseline | references |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in items:
        refs = ", ".join(r for r in c.references if not r.startswith("http"))
        lines.append(
            f"| [`{c.id}`](#{c.id.replace('.', '')}) | {_cell(c.title)} | {c.service} | {c.scope} "
            f"| {c.severity.value} | {'yes' if c.baseline else ''} | {_cell(refs)} |"
        )
    for c in items:
        lines += [
            "",
            f"## {c.id}",
            "",
            f"**{_cell(c.title)}** — {c.severity.value}, {c.scope} scope, service {c.service}"
            + (", baseline item" if c.baseline else "")
            + ".",
            "",
            _block(c.description),
            "",
            f"*Risk.* {_block(c.risk)}",
            "",
            "*Remediation.*",
            "",
            _block(c.remediation),
        ]
        if c.requires:
            lines += ["", "*Reads:* " + ", ".join(f"`{r}`" for r in c.requires) + "."]
        if c.references:
            lines += ["", "*References:* " + ", ".join(c.references) + "."]
    return "\n".join(lines) + "\n"
