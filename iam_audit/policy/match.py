"""IAM wildcard matching: ``*`` (any run of characters, empty included) and ``?`` (one character).

The one matcher of the policy engine (:mod:`iam_audit.policy`): actions, resources, principals and
condition values all go through it. Everything else is literal (unlike :mod:`fnmatch`, ``[`` has no meaning in IAM). Actions compare
case-insensitively, ARNs case-sensitively, as AWS documents for the Action and Resource elements.

The matcher is linear in practice and never backtracks exponentially: a pattern is split on ``*``
into fixed-width segments; the first must match at the start, the last at the end, and each middle
one is found leftmost-first (which is optimal for fixed-width segments). Policies are written by
people and, for trust policies of other accounts, by anyone: a pathological pattern must not hang.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

__all__ = [
    "action_matches",
    "arn_matches",
    "has_wildcard",
    "resource_matches",
    "substitute_variables",
    "wildcard_match",
]


class _Glob:
    """A compiled pattern: fixed-width segments between stars."""

    __slots__ = ("head", "middle", "tail", "has_star", "min_len")

    def __init__(self, pattern: str) -> None:
        parts = pattern.split("*")
        self.has_star = len(parts) > 1
        self.head = _Segment(parts[0])
        self.tail = _Segment(parts[-1]) if self.has_star else _Segment("")
        self.middle = tuple(_Segment(p) for p in parts[1:-1] if p)
        self.min_len = self.head.width + self.tail.width + sum(m.width for m in self.middle)

    def match(self, value: str) -> bool:
        if not self.has_star:
            return len(value) == self.head.width and self.head.match_at(value, 0)
        n = len(value)
        if n < self.min_len:
            return False
        if not self.head.match_at(value, 0):
            return False
        tail_start = n - self.tail.width
        if not self.tail.match_at(value, tail_start):
            return False
        pos = self.head.width
        for seg in self.middle:
            found = seg.find(value, pos, tail_start)
            if found < 0:
                return False
            pos = found + seg.width
        return pos <= tail_start


class _Segment:
    """A run of literal characters and ``?``: fixed width."""

    __slots__ = ("text", "width", "regex")

    def __init__(self, text: str) -> None:
        self.text = text
        self.width = len(text)
        self.regex = (
            re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
            if "?" in text
            else None
        )

    def match_at(self, value: str, pos: int) -> bool:
        if self.width == 0:
            return True
        if pos < 0 or pos + self.width > len(value):
            return False
        if self.regex is None:
            return value.startswith(self.text, pos)
        return self.regex.match(value, pos, pos + self.width) is not None

    def find(self, value: str, start: int, end: int) -> int:
        if self.regex is None:
            return value.find(self.text, start, end)
        m = self.regex.search(value, start, end)
        return -1 if m is None else m.start()


@functools.lru_cache(maxsize=131072)
def _compiled(pattern: str) -> _Glob:
    return _Glob(pattern)


def has_wildcard(text: str) -> bool:
    """True when ``text`` contains an IAM wildcard (``*`` or ``?``)."""
    return "*" in text or "?" in text


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Match ``value`` against an IAM wildcard ``pattern`` (the whole value must match)."""
    if not isinstance(pattern, str) or not isinstance(value, str):
        return False
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if not has_wildcard(pattern):
        return pattern == value
    return _compiled(pattern).match(value)


def action_matches(pattern: str, action: str) -> bool:
    """Does the Action-element ``pattern`` cover ``action``? (case-insensitive)."""
    return wildcard_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Does the Resource-element ``pattern`` cover ``arn``? (case-sensitive)."""
    return wildcard_match(pattern, arn)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "\x00STAR\x00", "?": "\x00QMARK\x00", "$": "$"}
# Keys whose absence from a caller's context is itself known: only IAM users have a user name,
# so ``${aws:username}`` never matches for a role, a federated or a service caller (AWS: "the
# statement does not apply").
ABSENT_MEANS_NONE = frozenset({"aws:username"})


def substitute_variables(pattern: str, context: Mapping[str, str] | None) -> str | None:
    """Replace policy variables (``${aws:username}``) in a Resource pattern.

    A policy variable matches any value exactly where it cannot be resolved:

    * ``context`` is None (nothing is known about the caller, as for the per-account checks that
      ask "may this statement ever cover ..."): every variable becomes ``*``;
    * ``context`` holds the lower-case keys known for sure about one caller: a known key is
      substituted; a key in :data:`ABSENT_MEANS_NONE` that the caller lacks makes the pattern match
      nothing (``None``); any other key cannot be known before the request and becomes ``*``.

    ``${aws:username, 'default'}`` uses its default when the key is absent. ``${*}``, ``${?}`` and
    ``${$}`` stand for the literal characters; since a literal ``*`` cannot be expressed in our glob
    they become characters no ARN contains, so they only match themselves.
    """
    if "${" not in pattern:
        return pattern
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1)
        if name in _SPECIAL:
            return _SPECIAL[name]
        key, _, default = name.partition(",")
        key = key.strip().lower()
        value = context.get(key) if context is not None else None
        if value is not None:
            return value
        default = default.strip()
        if len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1]
        if context is not None and key in ABSENT_MEANS_NONE:
            missing = True
            return ""
        return "*"

    out = _VARIABLE.sub(repl, pattern)
    return None if missing else out


def resource_matches(pattern: str, arn: str, context: Mapping[str, str] | None = None) -> bool:
    """Does the Resource-element ``pattern`` (policy variables resolved, see
    :func:`substitute_variables`) cover ``arn``? Case-sensitive."""
    resolved = substitute_variables(pattern, context) if "${" in pattern else pattern
    return resolved is not None and wildcard_match(resolved, arn)
