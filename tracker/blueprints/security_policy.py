"""The Content-Security-Policy the app sends: scripts, styles and images from the app only, except
the map tiles' host (``MAP_TILE_URL``), which img-src names by scheme and host, never a wildcard."""

from __future__ import annotations

from urllib.parse import urlsplit

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(tile_url: str) -> str:
    """The CSP, its img-src also allowing the host of the maps' tiles (``MAP_TILE_URL``), by its
    scheme and host only; no tile URL, or one that is not http(s) with a host: unchanged."""
    parts = urlsplit(tile_url or "")
    host = parts.netloc.rsplit("@", 1)[-1]
    # Leaflet's {s} is one of its default subdomains a, b, c: each is listed, never a wildcard.
    hosts = [host.replace("{s}", sub) for sub in "abc"] if "{s}" in host else [host]
    if parts.scheme not in ("http", "https") or not host:
        return CONTENT_SECURITY_POLICY
    if any(c in h for h in hosts for c in " ;,'\"*{}"):
        return CONTENT_SECURITY_POLICY
    sources = " ".join(dict.fromkeys(f"{parts.scheme}://{h}" for h in hosts))
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:;", f"img-src 'self' data: {sources};")
