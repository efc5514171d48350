"""IAM wildcard matching: ``*`` (any run of characters, empty included) and ``?`` (one character).

Everything else is literal (unlike :mod:`fnmatch`, ``[`` has no meaning in IAM). Actions compare
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

__all__ = ["action_matches", "arn_matches", "has_wildcard", "substitute_variables", "wildcard_match"]


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


def substitute_variables(pattern: str, context: Mapping[str, str]) -> str | None:
    """Replace policy variables (``${aws:username}``) with their values from ``context``.

    ``context`` keys are lower-case condition keys. ``${*}``, ``${?}`` and ``${$}`` stand for the
    literal characters; since a literal ``*`` cannot be expressed in our glob they become characters
    no ARN contains, so they only match themselves. A variable without a value makes the pattern
    match nothing (AWS: "the statement does not apply"), hence ``None``.
    """
    if "${" not in pattern:
        return pattern
    missing = False

    def repl(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1)
        if name in _SPECIAL:
            return _SPECIAL[name]
        # ${aws:username, 'default'} gives a default value
        key, _, default = name.partition(",")
        value = context.get(key.strip().lower())
        if value is None:
            default = default.strip()
            if len(default) >= 2 and default[0] == default[-1] == "'":
                return default[1:-1]
            missing = True
            return ""
        return value

    out = _VARIABLE.sub(repl, pattern)
    return None if missing else out
