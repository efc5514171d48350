"""Browser policy on every response: the Content-Security-Policy, and no caching of logged-in pages.

A small middleware rather than django-csp: the policy is one fixed string (no nonces or hashes,
because no page has an inline script, event handler or style attribute: tests/test_browser_policy.py
parses every template to keep it so), so the library's per-view decorators, nonce machinery and
settings format would add a dependency and a re-lock for what ``setdefault`` of one header does.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers

# Style attributes plotly.js sets with setAttribute, each allowed by the hash of its exact value
# (CSP3 'unsafe-hashes': no other value passes, so markup injected into a page still cannot style
# anything): "" (emptied on the heat map's colour-bar fills) and the image-rendering declarations of
# its probe for pixelated heat maps (plotly.js src/constants/pixelated_image.js STYLE).
PLOTLY_STYLE_ATTRIBUTE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-AR/cKIZjWPcPmBUPDA6oti9XBiTbJvz0Cro2J1VzzS8='",
)

# Every page draws with our own static files only, with no 'unsafe-inline' anywhere. Plotly's own
# style sheets, which it would add as <style> elements, are static files
# (templates/includes/plotly_styles.html); it otherwise styles through the CSSOM (element.style),
# which style-src does not govern, and the two style attributes above. The browser journeys
# (tests/e2e) fail on any violation the browser reports.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-hashes' " + " ".join(PLOTLY_STYLE_ATTRIBUTE_HASHES),
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
