"""What the dashboard's two servers (`intake dashboard` and `intake local`) ask of a browser, and
the headers they send it: one place, so both keep the same rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class Headers(Protocol):
    """A request's headers as http.server reads them (case-insensitive)."""

    def get(self, name: str, /) -> str | None: ...
    def __iter__(self) -> Iterator[str]: ...


# Every API call the dashboard's own page makes carries this header (dashboard/src/api.ts sends
# it). A form, a link or an <img> cannot add a header, and a page elsewhere can add it only
# through a CORS preflight, which these servers refuse: so its presence means the call came from
# the dashboard's own script. It is never forwarded to the API.
DASHBOARD_HEADER = "X-Intake-Dashboard"

# The bundle needs nothing beyond its own origin: one module script and one stylesheet, both
# files under /assets/, and fetch() to the same origin. No inline script or style element, no
# style attribute in markup (React sets styles through the CSSOM, which style-src does not
# govern), no data: URL, no font or image from elsewhere. So 'self' covers it all, with nothing
# 'unsafe-inline'. `frame-ancestors 'none'` and X-Frame-Options (for older browsers) keep another
# page from framing the dashboard to trick a click on release or delete.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# `none` is the user typing the address or opening a bookmark; `same-origin` is the page itself.
_OWN_SITE = frozenset({"same-origin", "none"})

FOREIGN_HOST_REFUSAL = "this dashboard answers only on its own loopback address"
FOREIGN_ORIGIN_REFUSAL = "requests from other origins are refused"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
CROSS_SITE_REFUSAL = "requests from other sites are refused: open the dashboard at its own address"
NO_DASHBOARD_HEADER_REFUSAL = f"API calls through the dashboard must carry the {DASHBOARD_HEADER} header"


def from_another_site(headers: Headers) -> bool:
    """Whether the browser says the request was made by another site (another origin, same site
    or not): Sec-Fetch-Site present and neither `same-origin` nor `none`. Browsers set it and a
    page cannot; a client that is not a browser sends none, and is let through."""
    site = headers.get("Sec-Fetch-Site")
    return site is not None and site.strip().lower() not in _OWN_SITE


def from_the_dashboard(headers: Headers) -> bool:
    """Whether the request carries the dashboard's own header (any value)."""
    return headers.get(DASHBOARD_HEADER) is not None


def from_a_browser(headers: Headers) -> bool:
    """Whether the request shows a browser's marks: an `Origin` or any `Sec-Fetch-*` header.
    The CLI, curl and the tests send neither."""
    return headers.get("Origin") is not None or any(name.lower().startswith("sec-fetch-") for name in headers)


def foreign_address(headers: Headers, port: int, hosts: tuple[str, ...] = LOOPBACK_HOSTS) -> str | None:
    """Why a browser's request is not for this server's own address, or None.

    `Host` must name one of `hosts` with this port, and an `Origin`, when sent, must be this
    server's: a page elsewhere that got a name of its own resolved to loopback (DNS rebinding)
    is same-origin to the browser, and only `Host` tells it apart.
    """
    allowed = {f"{host}:{port}" for host in hosts}
    if headers.get("Host") not in allowed:
        return FOREIGN_HOST_REFUSAL
    origin = headers.get("Origin")
    if origin is not None and origin not in {f"http://{address}" for address in allowed}:
        return FOREIGN_ORIGIN_REFUSAL
    return None
