"""An upload handler that stops receiving a file at the import's size bound.

Django otherwise receives an upload of any size (to a temporary file past
FILE_UPLOAD_MAX_MEMORY_SIZE) before any view can look at it, and the CSRF check reads the body before
the view runs. This handler sits first in FILE_UPLOAD_HANDLERS: once a file passes
``SKYLEDGER_IMPORT_MAX_BYTES`` it skips that file (what was stored is deleted, the rest of it is read
and dropped, never kept) and notes it on the request, so the form can say why instead of "required".
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from accounts.limits import max_upload_bytes

REFUSED_ATTRIBUTE = "skyledger_upload_too_large"


class BoundedUploadHandler(FileUploadHandler):
    """Passes chunks through until a file is larger than the bound, then skips the file."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > max_upload_bytes():
            if self.request is not None:
                refused = getattr(self.request, REFUSED_ATTRIBUTE, None) or []
                refused.append(self.field_name)
                setattr(self.request, REFUSED_ATTRIBUTE, refused)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> Any:
        return None  # the next handler (memory or temporary file) makes the file object


def refused_fields(request: HttpRequest) -> list[str]:
    """The file fields of ``request`` that were skipped for being larger than the bound."""
    return list(getattr(request, REFUSED_ATTRIBUTE, None) or [])


def declared_size(request: HttpRequest) -> int | None:
    """The size of the whole request body as the client declared it (approximates a refused file's)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) or None
    except ValueError:
        return None
