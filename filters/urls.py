"""URL canonicalisation for URL dedup: one key per page, however the crawl spelled it.

courlan (trafilatura's URL library) does the path and the query: `//` runs and leading
`/..` collapsed, the path percent-quoted, tracking parameters removed (its TRACKERS_RE),
blank parameters dropped, the rest sorted by name; and punycode hosts decoded. This module
adds what a dedup key needs on top: http/https merged, host validated (userinfo, port and
trailing dot handled here, as courlan keeps userinfo and can mangle an IPv6 literal when it
strips a port), fragment dropped, escapes normalised (RFC 3986 6.2.2), dot segments
resolved, trailing slash dropped, and a few trackers courlan does not know.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan.clean import decode_punycode, normalize_url

# Trackers courlan 1.4's TRACKERS_RE lets through (it already covers utm_*, fbclid, gclid,
# msclkid, mc_cid, mc_eid, _ga, yclid, igshid, ref_src, dclid, twclid, gbraid, wbraid ...).
# Only unambiguous names: a generic one (si, spm, cmpid) may select content.
_EXTRA_TRACKERS = frozenset(
    {
        "ttclid",  # TikTok
        "srsltid",  # Google Merchant Center
        "li_fat_id",  # LinkedIn
        "epik",  # Pinterest
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",  # HubSpot
        "_kx",  # Klaviyo
        "s_kwcid",
        "ef_id",  # Adobe
        "_openstat",
        "wickedid",
        "rb_clickid",
        "irclickid",
        "_branch_match_id",
    }
)
_EXTRA_TRACKER_PREFIXES = ("hsa_",)  # HubSpot ads

# A host label: Unicode letters/digits (IDNs arrive decoded), '-' and '_' (seen in the wild).
_LABEL = re.compile(r"[\w-]+")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def canonical_url(url: str | None) -> str | None:
    """The URL-dedup key of `url`, or None when it has no usable http(s) URL.

    A key, not a URL to fetch or display: two spellings of the same page get the same key.
    - http and https are the SAME page (crawls often hold both); the key says https, and
      ports 80 and 443 are both dropped as defaults (so the key is a fixed point).
    - scheme/host lower-case, IDN hosts in Unicode (punycode decoded, NFC), trailing dot
      and userinfo dropped; `www.` kept (it can be a different site); other ports kept.
    - fragment dropped; tracking parameters dropped (courlan's list, which also catches
      names containing ref/source/session/keyword/medium/campaign/cid/uid/gl, so e.g.
      `?glossary=` or `?reference=` pages merge: accepted for dedup, mostly listing
      pages), blank parameters dropped, the rest sorted by name.
    - path: escapes upper-case, unreserved ones decoded, `.`/`..` and `//` resolved,
      trailing slash dropped; the root is always "/" (`http://a.com` == `http://a.com/`).
    Non-http(s) schemes, no host, an invalid host or port, or any parse failure give None
    (such documents are not URL-deduped); this never raises.
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url:
        return None
    try:
        return _canonical(url)
    except Exception:  # noqa: BLE001 - a weird URL must never take the pipeline down
        return None


def _canonical(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):  # urlsplit lower-cases the scheme
        return None
    host = _host(parts.hostname)  # the host alone: userinfo and port never reach courlan
    if host is None:
        return None
    port = parts.port  # ValueError (non-numeric, out of range) -> None via the caller
    clean = urlsplit(normalize_url(urlunsplit(("https", host, parts.path, parts.query, "")), trailing_slash=False))
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    return urlunsplit(("https", netloc, _path(clean.path), _query(clean.query), ""))


def _host(host: str | None) -> str | None:
    """Validated host (urlsplit lower-cased it): punycode decoded (courlan), NFC, no
    trailing dot; an IPv6 literal compressed and bracketed."""
    if not host:
        return None
    if ":" in host:  # urlsplit only lets an IPv6 literal through here
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return None
    host = unicodedata.normalize("NFC", decode_punycode(host)).rstrip(".")
    labels = host.split(".")
    if not host or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def _path(path: str) -> str:
    path = _ESCAPE.sub(_fix_escape, path)
    if not path.startswith("/"):
        path = "/" + path
    path = posixpath.normpath(path)  # dot segments; also drops the trailing slash
    if path.startswith("//"):  # normpath keeps a leading '//' (POSIX); courlan collapsed runs
        path = "/" + path.lstrip("/")
    return path


def _fix_escape(match: re.Match) -> str:
    """RFC 3986 6.2.2: upper-case hex, decode escapes of unreserved characters."""
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()


def _query(query: str) -> str:
    if not query:
        return ""
    pairs = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in _EXTRA_TRACKERS and not k.lower().startswith(_EXTRA_TRACKER_PREFIXES)
    ]
    return urlencode(sorted(pairs, key=lambda kv: kv[0]))
