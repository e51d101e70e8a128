"""Image URLs as the store can fetch them: http/https only, spaces and unicode encoded.

Other schemes (file:, javascript:, data:, ftp: ...) are refused at mapping time, because the
store would either fail to sideload them or, worse, a `file:` URL could make a tool read a
local file. IRI paths are percent-encoded as UTF-8 (RFC 3987), hosts IDNA-encoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

# Characters that may stay as they are in a path or query (reserved + already-encoded %).
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?"


# Already-fetchable URLs (the vast majority) skip the parse-and-rebuild path.
_PLAIN = re.compile(r"^https?://[a-z0-9.-]+(:\d+)?(/[A-Za-z0-9/._~!$&'()*+,;=:@%-]*)?(\?[A-Za-z0-9/._~!$&'()*+,;=:@%?-]*)?$")


class ImageUrlError(ValueError):
    pass


def normalise_image_url(value: str) -> str:
    """Return the URL in its fetchable form or raise ImageUrlError with the reason."""
    url = str(value).strip()
    if _PLAIN.match(url):
        return url if "/" in url.split("//", 1)[1] else url + "/"
    if not url:
        raise ImageUrlError("empty image URL")
    if url.startswith("//"):  # protocol-relative links in HTML-minded feeds
        url = "https:" + url
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ImageUrlError(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = scheme + ":" if scheme else "no scheme"
        raise ImageUrlError(f"image URL scheme {shown} refused: only http and https images can be imported")
    if not parts.hostname:
        raise ImageUrlError("image URL has no host")
    host = parts.hostname
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ImageUrlError("image URL host is not a valid domain name") from None
    netloc = host
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    path = quote(parts.path, safe=_SAFE_PATH)
    query = quote(parts.query, safe=_SAFE_QUERY)
    return urlunsplit((scheme, netloc, path or "/", query, ""))


# A URL urlsplit/urlunsplit would give back unchanged: lower-case scheme and host, a path, no
# fragment, no whitespace, no empty "?" at the end.
_NORMAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[a-z0-9.\-_~%!$&'()*+,;=:]+/[^#\s]*(?<!\?)\Z")


def normalise_url(url: str) -> str:
    """One spelling per image: scheme and host lower-cased, fragment dropped, query kept (it may
    select a different image on a CDN)."""
    if _NORMAL_URL.match(url):  # most feeds spell their URLs this way already: no need to parse
        return url
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))
