"""Logging filters (wired in ``LOGGING`` in config/settings.py)."""

from __future__ import annotations

import logging


def _plain(text: str) -> str:
    # one line whatever the input: control characters (a newline in a path) are shown escaped
    return text.encode("unicode_escape").decode("ascii")


class ForbiddenOneLine(logging.Filter):
    """A 403 is logged as one line saying who asked for what, not as a traceback.

    Django logs a refused request on ``django.request`` (``PermissionDenied`` from a view, with
    its traceback) or ``django.security.csrf``, with the request and status code in the record.
    A refusal is expected (a viewer opening an edit page), so the traceback is noise; who it was,
    the method and the path are what a reader of the log needs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 403 or getattr(record, "forbidden_one_line", False):
            return True
        request = getattr(record, "request", None)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            who = f"user {_plain(user.get_username())!r} (id {user.pk})"
        else:
            who = "an anonymous user"
        method = _plain(str(getattr(request, "method", "") or "?"))
        record.args = (record.getMessage(), who, method)
        record.msg = "%s by %s (%s)"
        record.forbidden_one_line = True  # once, however many times the filter is configured
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True
