"""Deterministic synthetic web crawl, written as a real gzipped WARC 1.0 file.

It is edumix's embedded demo sample: every later stage (dedup, PII scrubbing, quality
and language filters, classifiers) needs something realistic to bite on, and tests
need it reproducible byte for byte, so nothing here reads the clock, the hostname or
an unseeded RNG.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import random
import re
import struct
import tempfile
import textwrap
import uuid
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from io import BytesIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from edumix.demo import content as C

KINDS = ("edu", "math", "code", "general", "low_value", "spam", "non_english", "pii", "exact_dup", "near_dup")
_WEIGHTS = (0.20, 0.10, 0.10, 0.15, 0.08, 0.06, 0.10, 0.06, 0.08, 0.07)

# HTML responses written on top of `pages` and not counted in by_kind, so that
# html_responses == pages + len(SPECIAL_HTML_PAGES) for every (pages, seed).
SPECIAL_HTML_PAGES = ("charset_windows_1252", "charset_iso_8859_1", "meta_charset_only", "huge_page")
HUGE_PAGE_MIN_BYTES = 2 * 1024 * 1024 + 64 * 1024

_USER_AGENT = "edumix-demo-crawler/1.0 (+https://crawler.example.com/about)"
_DUP_SOURCE_KINDS = ("edu", "math", "code", "general", "non_english", "pii")
_NEAR_DUP_SOURCE_KINDS = ("edu", "math", "code", "general")
_SUBSTITUTIONS = {
    "important": "significant",
    "large": "big",
    "many": "numerous",
    "often": "frequently",
    "about": "around",
    "begin": "start",
    "began": "started",
    "quickly": "rapidly",
    "small": "little",
    "show": "demonstrate",
    "showing": "demonstrating",
    "help": "assist",
    "example": "instance",
    "because": "since",
    "simple": "straightforward",
    "very": "extremely",
    "also": "additionally",
    "several": "a number of",
    "usually": "typically",
    "rise": "increase",
    "great": "considerable",
    "first": "initial",
    "each": "every",
    "makes": "renders",
    "easy": "simple",
    "good": "decent",
    "whole": "entire",
    "people": "folks",
}


@dataclass(frozen=True)
class DemoCrawlStats:
    path: str  # the WARC written
    records: int  # all WARC records written (warcinfo + request + response + metadata ...)
    html_responses: int  # response records with Content-Type text/html
    by_kind: dict[str, int]  # number of html pages per kind (keys below)


@dataclass(frozen=True)
class _Page:
    site: C.Site
    path: str
    title: str
    blocks: tuple
    date_line: str
    ads: tuple[str, ...]
    nav_extra: str | None = None
    breadcrumb: str | None = None


@dataclass(eq=False)
class _Fetch:
    """One URL fetch: a request + response (or revisit) pair in the WARC."""

    url: str
    kind: str  # a KINDS value, a SPECIAL_HTML_PAGES value, or "asset" etc.
    body: bytes
    content_type: str | None
    status: str = "200 OK"
    extra_headers: tuple[tuple[str, str], ...] = ()
    server: str = "nginx/1.24.0"
    source: _Fetch | None = None  # the original, for exact_dup / near_dup / revisit
    page: _Page | None = None
    lang: str = "en"


def write_demo_crawl(path: str | os.PathLike, pages: int = 120, seed: int = 0) -> DemoCrawlStats:
    """Write the demo WARC atomically; same (pages, seed) gives a byte-identical file.

    `pages` is the number of ordinary HTML pages (sum of by_kind); the four
    SPECIAL_HTML_PAGES and the non-HTML/redirect/revisit fetches come on top.
    """
    if pages < 0:
        raise ValueError("pages must be >= 0")
    path = os.fspath(path)
    fetches = _plan(pages, seed)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".edumix-demo-", suffix=".warc.gz.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            records, html_responses = _write_warc(fh, fetches, pages, seed)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    by_kind = {k: 0 for k in KINDS}
    for f in fetches:
        if f.kind in by_kind:
            by_kind[f.kind] += 1
    return DemoCrawlStats(path=path, records=records, html_responses=html_responses, by_kind=by_kind)


# --- planning -------------------------------------------------------------------------


def _allocate(pages: int) -> dict[str, int]:
    """Largest-remainder split of `pages` over KINDS; every kind gets >= 1 when possible."""
    raw = [w * pages for w in _WEIGHTS]
    counts = [int(r) for r in raw]
    order = sorted(range(len(KINDS)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: pages - sum(counts)]:
        counts[i] += 1
    if pages >= len(KINDS):
        for i, c in enumerate(counts):
            if c == 0:
                counts[i] = 1
                counts[counts.index(max(counts))] -= 1
    return dict(zip(KINDS, counts))


class _Deck:
    """Cycles through items in seeded random order, so repeats only come after all were used."""

    def __init__(self, rng: random.Random, items):
        self.rng, self.items, self.queue = rng, list(items), []

    def draw(self):
        if not self.queue:
            self.queue = self.items[:]
            self.rng.shuffle(self.queue)
        return self.queue.pop()


class _Planner:
    def __init__(self, seed: int):
        self.rng = random.Random(f"edumix-demo:{seed}:content")
        self.crawl_day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=self.rng.randrange(365))
        self.used_urls: set[str] = set()
        self.decks = {
            "edu": _Deck(self.rng, C.EDU_ARTICLES),
            "math": _Deck(self.rng, C.MATH_ARTICLES),
            "code": _Deck(self.rng, C.CODE_ARTICLES),
            "general": _Deck(self.rng, C.GENERAL_ARTICLES),
            "non_english": _Deck(self.rng, C.NON_ENGLISH),
            "pii": _Deck(self.rng, C.PII_TEMPLATES),
            "low_value": _Deck(self.rng, C.LOW_VALUE_TEMPLATES),
        }

    # helpers
    def unique_path(self, site: C.Site, base: str) -> str:
        while True:
            path = f"{base}-{self.rng.randint(10, 9999)}"
            if f"https://{site.host}{path}" not in self.used_urls:
                self.used_urls.add(f"https://{site.host}{path}")
                return path

    def date_line(self, site: C.Site, label: str | None = None, days_back=(20, 1500)) -> str:
        d = self.crawl_day - timedelta(days=self.rng.randint(*days_back))
        labels = C.LABELS[site.lang]
        when = f"{C.MONTHS[d.month - 1]} {d.day}, {d.year}" if site.lang == "en" else d.date().isoformat()
        author = self.rng.choice(site.authors)
        return f"{labels.by} {author} · {label or labels.published} {when}"

    def ads(self, site: C.Site, avoid: tuple[str, ...] = ()) -> tuple[str, ...]:
        pool = [a for a in site.ads if a not in avoid] or list(site.ads)
        return tuple(self.rng.sample(pool, min(len(pool), 2)))

    def page_fetch(self, kind: str, page: _Page) -> _Fetch:
        return _Fetch(
            url=f"https://{page.site.host}{page.path}",
            kind=kind,
            body=_render(page).encode("utf-8"),
            content_type="text/html; charset=utf-8",
            server=page.site.server,
            page=page,
            lang=page.site.lang,
        )

    def article_page(self, kind: str, art: C.Article, blocks: tuple) -> _Fetch:
        site = C.SITES[self.rng.choice(art.sites)]
        page = _Page(
            site=site,
            path=self.unique_path(site, f"/{art.section}/{art.slug}"),
            title=self.rng.choice(art.titles),
            blocks=blocks,
            ads=self.ads(site),
            breadcrumb=_section_label(site, art.section),
            date_line=self.date_line(site) if kind != "pii" else "",
        )
        return self.page_fetch(kind, page)

    # one builder per kind
    def edu(self) -> _Fetch:
        art = self.decks["edu"].draw()
        paras = list(_parse_blocks(art.text))
        # Drop up to two non-leading paragraphs while staying >= 300 words.
        for _ in range(self.rng.randint(0, 2)):
            i = self.rng.randrange(1, len(paras))
            if _words(paras[:i] + paras[i + 1 :]) >= 300:
                del paras[i]
        return self.article_page("edu", art, tuple(paras))

    def math(self) -> _Fetch:
        art = self.decks["math"].draw()
        blocks = list(_parse_blocks(art.text))
        exercises = self.rng.sample(C.MATH_EXERCISES, self.rng.randint(3, 5))
        blocks += [("h2", "Practice problems"), ("ol", tuple(exercises))]
        if _words(blocks) < 200:
            blocks.append(
                (
                    "p",
                    "Try each problem before looking at the solutions, which are "
                    "posted at the end of the week together with full working.",
                )
            )
        return self.article_page("math", art, tuple(blocks))

    def code(self) -> _Fetch:
        art = self.decks["code"].draw()
        blocks = list(_parse_blocks(art.text))
        if self.rng.random() < 0.3 and blocks[-1][0] == "p":
            blocks.pop()
        blocks += [
            ("h2", "See also"),
            (
                "ul",
                tuple(
                    self.rng.sample(
                        [
                            "Official documentation",
                            "Our beginner's course",
                            "Related snippets",
                            "Discuss this tutorial on the forum",
                        ],
                        2,
                    )
                ),
            ),
        ]
        return self.article_page("code", art, tuple(blocks))

    def general(self) -> _Fetch:
        art = self.decks["general"].draw()
        blocks = list(_parse_blocks(art.text))
        if art.comments and self.rng.random() < 0.6:
            picked = self.rng.sample(C.COMMENTS, self.rng.randint(1, 3))
            blocks += [("h2", f"{len(picked)} comments"), ("ul", tuple(picked))]
        return self.article_page("general", art, tuple(blocks))

    def non_english(self) -> _Fetch:
        art = self.decks["non_english"].draw()
        paras = list(_parse_blocks(art.text))
        if len(paras) > 2 and self.rng.random() < 0.3:
            paras.pop()  # keep the order: the paragraphs read as one text
        return self.article_page("non_english", art, tuple(paras))

    def pii(self) -> _Fetch:
        art = self.decks["pii"].draw()
        rng = self.rng
        people = rng.sample(C.FAKE_PEOPLE, 4)
        emails = [
            f"{first.lower()}.{last.lower()}@{rng.choice(['example.com', 'example.org'])}" for first, last in people
        ]
        town, state, zipc = rng.choice(C.FAKE_TOWNS)
        fill = {
            "person": " ".join(people[0]),
            "person2": " ".join(people[1]),
            "email": emails[0],
            "email2": emails[1],
            "email3": emails[2],
            "phone_a": f"+1 555-01{rng.randint(0, 99):02d}",
            "phone_b": f"(555) 01{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}",
            "phone_c": f"555.01{rng.randint(0, 9)}.{rng.randint(0, 9999):04d}",
            "phone_uk": f"+44 20 7946 0{rng.randint(0, 999):03d}",
            "address": f"{rng.randint(1, 999)} {rng.choice(C.FAKE_STREETS)}, {town}, {state} {zipc}",
            "ip": f"203.0.113.{rng.randint(1, 254)}",
            "ip2": f"198.51.100.{rng.randint(1, 254)}",
            "ip_range": "192.0.2.0/24",
            "user": f"{people[0][0].lower()}_{rng.randint(10, 99)}",
            "user2": rng.choice(["netwizard", "PacketPete", "wifi_guru", "old_admin"]),
            "date": self.date_line(C.SITES["forum"]).split(" · ")[-1].replace("Published ", ""),
            "ad_id": str(rng.randint(100000, 999999)),
            "table": "{table}",
        }
        text = textwrap.dedent(art.text).format(**fill)
        blocks = []
        for b in _parse_blocks(text):
            if b == ("p", "{table}"):
                rows = [("Name", "Role", "Email", "Phone")]
                for (first, last), role in zip(rng.sample(C.FAKE_PEOPLE, 6), rng.sample(C.STAFF_ROLES, 6)):
                    rows.append(
                        (
                            f"{first} {last}",
                            role,
                            f"{first[0].lower()}{last.lower()}@example.org",
                            f"(555) 010-{rng.randint(0, 9999):04d} ext. {rng.randint(100, 399)}",
                        )
                    )
                b = ("table", tuple(rows))
            blocks.append(b)
        return self.article_page("pii", art, tuple(blocks))

    def low_value(self) -> _Fetch:
        title_t, text_t = self.decks["low_value"].draw()
        fill = {"topic": self.rng.choice(C.LOW_VALUE_TOPICS), "n": self.rng.choice([7, 10, 12, 15])}
        site = C.SITES[self.rng.choice(["portal", "deals"])]
        title = title_t.format(**fill)
        page = _Page(
            site=site,
            path=self.unique_path(site, f"/p/{_slug(title)}"),
            title=title,
            blocks=tuple(_parse_blocks(text_t.format(**fill))),
            date_line="",
            ads=self.ads(site),
        )
        return self.page_fetch("low_value", page)

    def spam(self) -> _Fetch:
        rng = self.rng

        def fill(t: str) -> str:
            kws = rng.sample(C.SPAM_KEYWORDS, 3)
            return t.format(kw=kws[0], kw2=kws[1], kw3=kws[2], Brand=rng.choice(C.SPAM_BRANDS), year=2024)

        site = C.SITES[rng.choice(["spam1", "spam2", "spam3"])]
        title = fill(rng.choice(C.SPAM_TITLES))
        blocks: list = []
        for _ in range(rng.randint(3, 6)):
            sents = [fill(rng.choice(C.SPAM_SENTENCES)) for _ in range(rng.randint(2, 4))]
            if rng.random() < 0.4:
                sents.insert(rng.randrange(len(sents) + 1), rng.choice(C.SPAM_FILLER))
            blocks.append(("p", " ".join(sents)))
        brands = rng.sample(C.SPAM_BRANDS, 6)
        blocks.append(("ul", tuple(f"{b} - {rng.choice(C.SPAM_KEYWORDS)} - best price" for b in brands)))
        blocks.append(("p", " ".join([rng.choice(C.SPAM_KEYWORDS)] * rng.randint(8, 20))))
        blocks.append(("p", "Tags: " + ", ".join(rng.choices(C.SPAM_KEYWORDS, k=24))))
        rng.shuffle(blocks)
        page = _Page(
            site=site,
            path=self.unique_path(site, f"/{_slug(title)[:60]}"),
            title=title,
            blocks=tuple(blocks),
            date_line="",
            ads=(),
        )
        return self.page_fetch("spam", page)

    def exact_dup(self, source: _Fetch, same_url: bool) -> _Fetch:
        if same_url:
            url = source.url
        else:
            variant = self.rng.randrange(3)
            if variant == 0:
                url = source.url + "?utm_source=newsletter&utm_medium=email"
            elif variant == 1:
                host = source.page.site.host
                url = source.url.replace(host, "mirror." + host.split(".", 1)[1], 1)
            else:
                url = source.url.replace(source.page.path, "/amp" + source.page.path, 1)
            while url in self.used_urls:
                url += "&ref=1" if "?" in url else "?ref=1"
            self.used_urls.add(url)
        return replace(source, url=url, kind="exact_dup", source=source)

    def near_dup(self, source: _Fetch) -> _Fetch:
        p = source.page
        blocks = [list(b) if b[0] == "p" else b for b in p.blocks]
        spots = [
            (i, m)
            for i, b in enumerate(blocks)
            if isinstance(b, list)
            for m in re.finditer(r"\b(" + "|".join(_SUBSTITUTIONS) + r")\b", b[1])
        ]
        chosen = self.rng.sample(spots, min(len(spots), self.rng.randint(2, 4)))
        for i, m in sorted(chosen, key=lambda s: (s[0], -s[1].start())):
            text = blocks[i][1]
            blocks[i][1] = text[: m.start()] + _SUBSTITUTIONS[m.group(1)] + text[m.end() :]
        if not chosen:
            blocks.append(["p", "This article was updated to correct a minor error."])
        blocks = tuple(tuple(b) for b in blocks)
        labels = C.LABELS[p.site.lang]
        page = replace(
            p,
            path=self.unique_path(p.site, p.path.rsplit("-", 1)[0]),
            blocks=blocks,
            date_line=self.date_line(p.site, label=labels.updated, days_back=(0, 19)),
            ads=self.ads(p.site, avoid=p.ads),
            nav_extra=self.rng.choice(labels.extra_nav),
        )
        fetch = self.page_fetch("near_dup", page)
        fetch.source = source
        return fetch


def _plan(pages: int, seed: int) -> list[_Fetch]:
    """Every fetch in crawl order; dups come after their sources. Exposed for tests."""
    pl = _Planner(seed)
    rng = pl.rng
    counts = _allocate(pages)
    originals_needed = sum(counts[k] for k in KINDS if k not in ("exact_dup", "near_dup"))
    if originals_needed == 0:  # tiny crawls: no source for duplicates
        counts["edu"] += counts.pop("exact_dup") + counts.pop("near_dup")
        counts["exact_dup"] = counts["near_dup"] = 0
    seq: list[_Fetch] = []
    for kind in KINDS:
        if kind not in ("exact_dup", "near_dup"):
            seq += [getattr(pl, kind)() for _ in range(counts[kind])]
    rng.shuffle(seq)

    def insert_after(item: _Fetch, anchor: _Fetch) -> None:
        seq.insert(rng.randint(seq.index(anchor) + 1, len(seq)), item)

    dup_sources = [f for f in seq if f.kind in _DUP_SOURCE_KINDS] or seq[:]
    near_sources = [f for f in seq if f.kind in _NEAR_DUP_SOURCE_KINDS] or dup_sources
    n_same = max(1, counts["exact_dup"] // 3) if counts["exact_dup"] >= 2 else 0
    for i in range(counts["exact_dup"]):
        src = rng.choice(dup_sources)
        insert_after(pl.exact_dup(src, same_url=i < n_same), src)
    for src in rng.sample(near_sources, min(len(near_sources), counts["near_dup"])) + [
        rng.choice(near_sources) for _ in range(counts["near_dup"] - len(near_sources))
    ]:
        insert_after(pl.near_dup(src), src)

    css = _Fetch(
        "https://learn.example.org/static/site.css",
        "asset",
        _CSS.encode(),
        "text/css; charset=utf-8",
        extra_headers=(("Cache-Control", "max-age=86400"),),
    )
    extras = [
        _Fetch(
            "https://learn.example.org/robots.txt",
            "asset",
            b"User-agent: *\nDisallow: /admin/\nDisallow: /search\n\nSitemap: https://learn.example.org/sitemap.xml\n",
            "text/plain",
        ),
        _Fetch(
            "http://learn.example.org/",
            "redirect",
            b"",
            None,
            "301 Moved Permanently",
            (("Location", "https://learn.example.org/"),),
        ),
        css,
        _Fetch("https://learn.example.org/static/logo.png", "asset", _png(), "image/png"),
        _Fetch("https://reviews.example.com/files/aurora-x2-quick-start.pdf", "asset", _pdf(), "application/pdf"),
        _Fetch(
            "https://api.example.com/v1/articles?page=1", "asset", _api_json(seq), "application/json", server="gunicorn"
        ),
        *_special_pages(pl),
    ]
    if seq:
        seq.insert(0, extras.pop(0))  # robots.txt first, as polite crawlers do
    for item in extras:
        seq.insert(rng.randint(0, len(seq)), item)
    insert_after(_Fetch(css.url, "revisit", b"", css.content_type, extra_headers=css.extra_headers, source=css), css)
    return seq


def _special_pages(pl: _Planner) -> list[_Fetch]:
    out = []
    for charset, kind, header_ct in (
        ("windows-1252", "charset_windows_1252", "text/html; charset=windows-1252"),
        ("iso-8859-1", "charset_iso_8859_1", "text/html; charset=iso-8859-1"),
        ("windows-1251", "meta_charset_only", "text/html"),
    ):
        art = C.CHARSET_PAGES[charset]
        fetch = pl.article_page(kind, art, tuple(_parse_blocks(art.text)))
        body = _render(fetch.page, charset=charset).encode(charset, errors="xmlcharrefreplace")
        out.append(replace(fetch, body=body, content_type=header_ct))
    out.append(_huge_page(pl))
    return out


def _huge_page(pl: _Planner) -> _Fetch:
    rng = random.Random(pl.rng.getrandbits(64))
    site = C.SITES["catalogue"]
    parts = (
        "hex bolt",
        "washer",
        "wing nut",
        "wood screw",
        "hinge",
        "bracket",
        "rivet",
        "spring",
        "cable tie",
        "pipe clamp",
    )
    sizes = ("M3", "M4", "M5", "M6", "M8", "M10", "M12")
    finish = ("zinc plated", "stainless steel", "brass", "black oxide", "galvanised")
    rows, size, n = [], 0, 0
    while size < HUGE_PAGE_MIN_BYTES:
        n += 1
        row = (
            f"<tr><td>SKU-{n:06d}</td><td>{rng.choice(finish)} {rng.choice(parts)} "
            f"{rng.choice(sizes)} x {rng.choice((10, 16, 20, 25, 30, 40, 50))}</td>"
            f"<td>{rng.randint(0, 25000)}</td><td>${rng.randint(2, 4999) / 100:.2f}</td>"
            f"<td>Warehouse {rng.choice('ABCDEFG')}</td></tr>\n"
        )
        rows.append(row)
        size += len(row)
    table = (
        '<table class="inventory">\n<thead><tr><th>SKU</th><th>Description</th>'
        "<th>In stock</th><th>Unit price</th><th>Location</th></tr></thead>\n<tbody>\n"
        + "".join(rows)
        + "</tbody>\n</table>"
    )
    page = _Page(
        site=site,
        path="/inventory/all",
        title="Complete parts inventory (all warehouses)",
        blocks=(("p", f"Showing all {n} items. This page is generated nightly."), ("raw", table)),
        date_line="",
        ads=(),
    )
    return pl.page_fetch("huge_page", page)


# --- text helpers ------------------------------------------------------------------------

_CJK = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]")


def _join_lines(lines: list[str]) -> str:
    out = ""
    for line in (ln.strip() for ln in lines):
        if out and not (_CJK.match(out[-1]) or _CJK.match(line[:1])):
            out += " "
        out += line
    return out


def _parse_blocks(text: str) -> tuple:
    """Parse content.py's mini markup into (type, payload) blocks."""
    lines = textwrap.dedent(text).strip("\n").split("\n")
    blocks, buf, i = [], [], 0

    def flush():
        if not buf:
            return
        if buf[0].startswith("## "):
            blocks.append(("h2", buf[0][3:].strip()))
            rest = buf[1:]
        else:
            rest = buf[:]
        if rest:
            if all(ln.startswith("- ") for ln in rest):
                blocks.append(("ul", tuple(ln[2:].strip() for ln in rest)))
            elif all(re.match(r"\d+\. ", ln) for ln in rest):
                blocks.append(("ol", tuple(ln.split(". ", 1)[1].strip() for ln in rest)))
            elif rest[0].startswith("$$"):
                blocks.append(("formula", _join_lines(rest)))
            elif rest[0].startswith("|"):
                blocks.append(("table", tuple(tuple(c.strip() for c in ln.strip("|").split("|")) for ln in rest)))
            else:
                blocks.append(("p", _join_lines(rest)))
        buf.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            lang, code = line[3:].strip(), []
            i += 1
            while not lines[i].startswith("```"):
                code.append(lines[i])
                i += 1
            blocks.append(("code", lang, "\n".join(code)))
        elif not line.strip():
            flush()
        else:
            buf.append(line.rstrip())
        i += 1
    flush()
    return tuple(blocks)


def _block_text(block) -> str:
    if block[0] in ("p", "h2", "formula"):
        return block[1]
    if block[0] in ("ul", "ol"):
        return " ".join(block[1])
    if block[0] == "table":
        return " ".join(" ".join(r) for r in block[1])
    return ""


def _words(blocks) -> int:
    return sum(len(_block_text(b).split()) for b in blocks)


def _section_label(site: C.Site, section: str) -> str:
    for label, href in site.nav:
        if href.strip("/") == section:
            return label
    return section.split("/")[-1].replace("-", " ").title()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


# --- rendering -----------------------------------------------------------------------------


def _render_block(block) -> str:
    e = html.escape
    kind = block[0]
    if kind == "p":
        return f"<p>{e(block[1], quote=False)}</p>"
    if kind == "h2":
        return f"<h2>{e(block[1], quote=False)}</h2>"
    if kind == "formula":
        return f'<p class="math-display">{e(block[1], quote=False)}</p>'
    if kind in ("ul", "ol"):
        items = "".join(f"\n  <li>{e(x, quote=False)}</li>" for x in block[1])
        return f"<{kind}>{items}\n</{kind}>"
    if kind == "code":
        return f'<pre><code class="language-{block[1]}">{e(block[2], quote=False)}</code></pre>'
    if kind == "table":
        head, *rows = block[1]
        th = "".join(f"<th>{e(c)}</th>" for c in head)
        trs = "".join("\n  <tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table>\n  <tr>{th}</tr>{trs}\n</table>"
    if kind == "raw":
        return block[1]
    raise ValueError(f"unknown block {kind!r}")


def _render(page: _Page, charset: str = "utf-8") -> str:
    """Full HTML document; header, nav, sidebar and footer depend only on the site."""
    e = html.escape
    site, labels = page.site, C.LABELS[page.site.lang]
    nav_items = list(site.nav)
    if page.nav_extra:
        nav_items.insert(len(nav_items) - 1, (page.nav_extra, "/" + _slug(page.nav_extra)))
    nav = "\n".join(f'      <li><a href="{e(h)}">{e(t)}</a></li>' for t, h in nav_items)
    popular = "\n".join(f'        <li><a href="/popular/{i + 1}">{e(t)}</a></li>' for i, t in enumerate(site.popular))
    ads = "\n".join(f'      <div class="ad">{e(a)}</div>' for a in page.ads)
    ad_box = (
        (f'\n    <section class="sponsored">\n      <h3>{e(labels.sponsored)}</h3>\n{ads}\n    </section>')
        if page.ads
        else ""
    )
    footer_links = " | ".join(f'<a href="{e(h)}">{e(t)}</a>' for t, h in site.footer_links)
    copyright_line = site.copyright or f"© 2024 {site.name}. All rights reserved."
    crumb = (
        (f'\n      <p class="breadcrumb"><a href="/">{e(labels.home)}</a> &rsaquo; {e(page.breadcrumb)}</p>')
        if page.breadcrumb
        else ""
    )
    date = f'\n      <p class="byline">{e(page.date_line)}</p>' if page.date_line else ""
    body = "\n".join("      " + _render_block(b) for b in page.blocks)
    return f"""<!DOCTYPE html>
<html lang="{site.lang}">
<head>
  <meta charset="{charset}">
  <title>{e(page.title)} | {e(site.name)}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="canonical" href="https://{site.host}{e(page.path)}">
  <link rel="stylesheet" href="/static/site.css">
</head>
<body>
  <header class="site-header">
    <a class="logo" href="/">{e(site.name)}</a>
    <p class="tagline">{e(site.tagline)}</p>
    <form class="search" action="/search"><input type="search" name="q" placeholder="{e(labels.search)}"></form>
  </header>
  <nav class="main-menu">
    <ul>
{nav}
    </ul>
  </nav>
  <main>
    <article>{crumb}
      <h1>{e(page.title)}</h1>{date}
{body}
    </article>
  </main>
  <aside class="sidebar">
    <section class="popular">
      <h3>{e(labels.popular)}</h3>
      <ul>
{popular}
      </ul>
    </section>{ad_box}
  </aside>
  <footer class="site-footer">
    <p class="cookie-notice">{e(site.cookie)} <button>{e(labels.accept)}</button></p>
    <p class="footer-links">{footer_links}</p>
    <p class="copyright">{e(copyright_line)}</p>
  </footer>
</body>
</html>
"""


# --- non-HTML payloads -----------------------------------------------------------------------

_CSS = """body { font-family: Georgia, serif; margin: 0; color: #222; }
.site-header { background: #0b3d5c; color: #fff; padding: 1rem 2rem; }
.main-menu ul { list-style: none; display: flex; gap: 1.5rem; }
main { max-width: 42rem; margin: 2rem auto; line-height: 1.6; }
.sidebar { float: right; width: 16rem; font-size: 0.9rem; }
.ad { border: 1px dashed #aaa; padding: 0.5rem; margin: 0.5rem 0; }
.math-display { font-family: "Latin Modern Math", serif; text-align: center; }
pre code { display: block; background: #f5f5f5; padding: 1rem; overflow-x: auto; }
.site-footer { clear: both; background: #eee; padding: 1rem 2rem; font-size: 0.8rem; }
"""


def _png() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + bytes((11, 61, 92)) * 8 for _ in range(8))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _pdf() -> bytes:
    stream = b"BT /F1 18 Tf 72 720 Td (Aurora X2 Quick Start Guide) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _api_json(seq: list[_Fetch]) -> bytes:
    results = [{"title": f.page.title, "url": f.url, "lang": f.lang} for f in seq if f.page is not None][:8]
    return json.dumps(
        {"page": 1, "per_page": 8, "results": results}, ensure_ascii=False, indent=2, sort_keys=True
    ).encode("utf-8")


# --- WARC writing ------------------------------------------------------------------------------


def _write_warc(fh, fetches: list[_Fetch], pages: int, seed: int) -> tuple[int, int]:
    """Write all records; returns (records, html_responses)."""
    writer = WARCWriter(fh, gzip=True)  # one gzip member per record, header mtime 0
    rng = random.Random(f"edumix-demo:{seed}:warc")
    counter = iter(range(1 << 30))

    def rec_id() -> str:
        digest = hashlib.sha256(f"edumix-demo:{pages}:{seed}:{next(counter)}".encode()).digest()
        return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"

    when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(365), seconds=rng.randrange(86400))
    records = html_responses = 0

    def iso(dt: datetime) -> str:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    info = (
        f"software: edumix demo crawl generator\r\nformat: WARC File Format 1.0\r\n"
        f"conformsTo: http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1_latestdraft.pdf\r\n"
        f"description: Synthetic demo crawl (pages={pages}, seed={seed}); all sites, people "
        f"and contact details are fictional.\r\n"
        f"isPartOf: edumix-demo\r\nrobots: obey\r\nhttp-header-user-agent: {_USER_AGENT}\r\n"
    ).encode()
    writer.write_record(
        writer.create_warc_record(
            "",
            "warcinfo",
            payload=BytesIO(info),
            length=len(info),
            warc_headers_dict={"WARC-Record-ID": rec_id(), "WARC-Date": iso(when)},
        )
    )
    records += 1

    written: dict[int, tuple[str, str, str]] = {}  # id(fetch) -> (record id, date, digest)
    for f in fetches:
        when += timedelta(seconds=rng.randint(1, 45))
        date = iso(when)
        host = f.url.split("/")[2]
        path = f.url.split(host, 1)[1] or "/"
        resp_id, req_id = rec_id(), rec_id()
        req_headers = StatusAndHeaders(
            f"GET {path} HTTP/1.1",
            [
                ("Host", host),
                ("User-Agent", _USER_AGENT),
                ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                ("Accept-Encoding", "identity"),
                ("Connection", "close"),
            ],
            is_http_request=True,
        )
        writer.write_record(
            writer.create_warc_record(
                f.url,
                "request",
                payload=BytesIO(b""),
                length=0,
                http_headers=req_headers,
                warc_headers_dict={"WARC-Record-ID": req_id, "WARC-Date": date, "WARC-Concurrent-To": resp_id},
            )
        )
        headers = [("Date", format_datetime(when, usegmt=True)), ("Server", f.server)]
        if f.content_type:
            headers.append(("Content-Type", f.content_type))
        headers += [("Content-Length", str(len(f.body))), *f.extra_headers, ("Connection", "close")]
        http = StatusAndHeaders(f.status, headers, protocol="HTTP/1.1")
        ip = "192.0.2." + str(1 + int(hashlib.sha256(host.encode()).hexdigest(), 16) % 250)
        warc_headers = {"WARC-Record-ID": resp_id, "WARC-Date": date, "WARC-IP-Address": ip}
        if f.kind == "revisit":
            src_id, src_date, digest = written[id(f.source)]
            rec = writer.create_revisit_record(
                f.url,
                digest,
                f.source.url,
                src_date,
                http_headers=http,
                warc_headers_dict={**warc_headers, "WARC-Refers-To": src_id},
            )
        else:
            rec = writer.create_warc_record(
                f.url,
                "response",
                payload=BytesIO(f.body),
                length=len(f.body),
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
            written[id(f)] = (resp_id, date, rec.rec_headers.get_header("WARC-Payload-Digest"))
            if (f.content_type or "").startswith("text/html"):
                html_responses += 1
        writer.write_record(rec)
        records += 2
        if f.page is not None and rng.random() < 0.15:
            meta = (
                f"via: https://{host}/\r\nhopsFromSeed: {'L' * rng.randint(1, 3)}\r\n"
                f"fetchTimeMs: {rng.randint(40, 1800)}\r\n"
                f"outlink: https://{host}/ L a/@href\r\n"
                f"outlink: https://{host}/static/site.css E link/@href\r\n"
            ).encode()
            writer.write_record(
                writer.create_warc_record(
                    f.url,
                    "metadata",
                    payload=BytesIO(meta),
                    length=len(meta),
                    warc_headers_dict={"WARC-Record-ID": rec_id(), "WARC-Date": date, "WARC-Concurrent-To": resp_id},
                )
            )
            records += 1
    return records, html_responses
