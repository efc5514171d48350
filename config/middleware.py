"""Browser policy on every response: the Content-Security-Policy, and no caching of logged-in pages.

A small middleware rather than django-csp: the policy is one fixed string (no nonces or hashes,
because no page has an inline script, event handler or style attribute: tests/test_browser_policy.py
parses every template to keep it so), so the library's per-view decorators, nonce machinery and
settings format would add a dependency and a re-lock for what ``setdefault`` of one header does.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import add_never_cache_headers

# Style attribute values plotly.js sets itself with setAttribute, each allowed by the hash of its
# exact value (CSP3 'unsafe-hashes'): no other value passes, so markup injected into a page still
# cannot style anything, and these few declarations are harmless anywhere. They are: "" (emptied on
# the heat map's colour-bar fills), the image-rendering declarations of its probe for pixelated heat
# maps (src/constants/pixelated_image.js), and the styles its text renderer gives the tags it draws
# in labels and hover text (<b> on the map and the trust graph; src/lib/svg_text_utils.js TAG_STYLES).
PLOTLY_STYLE_ATTRIBUTES = (
    "",
    "image-rendering: optimizeSpeed; image-rendering: -moz-crisp-edges; image-rendering: -o-crisp-edges; "
    "image-rendering: -webkit-optimize-contrast; image-rendering: optimize-contrast; "
    "image-rendering: crisp-edges; image-rendering: pixelated; ",
    "font-size:70%",
    "text-decoration:line-through",
    "text-decoration:underline",
    "font-weight:bold",
    "font-style:italic",
    "cursor:pointer",
    "font-style:italic;font-weight:bold",
)


def csp_hash(value: str) -> str:
    """A CSP hash source for ``value``: 'sha256-<base64 of its SHA-256>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(value.encode()).digest()).decode() + "'"


# Every page draws with our own static files only, with no 'unsafe-inline' anywhere. Plotly's own
# style sheets, which it would add as <style> elements, are static files
# (templates/includes/plotly_styles.html); it otherwise styles through the CSSOM (element.style),
# which style-src does not govern, and the style attribute values above. The browser journeys
# (tests/e2e) fail on any violation the browser reports.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-hashes' " + " ".join(csp_hash(value) for value in PLOTLY_STYLE_ATTRIBUTES),
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)


class ContentSecurityPolicyMiddleware:
    """Adds the enforced (not report-only) policy to every response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


class PrivateNoStoreMiddleware:
    """Responses to a logged-in user are never stored: not by the browser, not by a proxy.

    Pages, exports and downloads carry what the estate looks like (accounts, findings, who can reach
    what); ``Cache-Control: no-store, private`` keeps them off shared caches and out of the browser's
    disk cache after logout. A view that sets its own Cache-Control keeps it. Static files are
    served by WhiteNoise before this middleware runs, so they keep their long caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private, max-age=0
        return response


class MethodNotAllowedPageMiddleware:
    """A 405 (a GET to an action that only takes POST, say) gets a page in the site's layout.

    Django has no handler405: ``require_POST`` and class-based views answer with an empty body, which a
    browser shows as a blank page. The status and the ``Allow`` header stay as they were.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code != 405 or not isinstance(response, HttpResponse) or response.content:
            return response
        from django.template.loader import render_to_string

        allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
        body = render_to_string(
            "405.html", {"request_path": request.path, "method": request.method, "allowed": allowed}, request
        )
        response.content = body.encode()
        response["Content-Type"] = "text/html; charset=utf-8"
        return response
