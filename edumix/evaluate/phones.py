"""Generated phone-number test sets that nobody here wrote and nobody can fit by hand (issue 15),
and their scoring. ``benchmarks/pii_eval.py`` prints the tables; tests/test_phones.py holds a
sample to floors and tests/test_pii_leak.py plants numbers into a pipeline run.

    sets = generate()              # seed 0: ~1 s; cached per (seed, data dir)
    sets.phones[0].number          # '+2472276...' - the gold span text
    sets.fps[0].kind               # 'date'

Phone rows (``PhoneRow``):

* numbers from libphonenumber's own metadata: every supported region x every number type
  with an example (``phonenumbers.example_number_for_type``); the trailing half of each
  national number is redrawn until the number is again valid for the same region and type
  (otherwise every number would be a "123456"-style example; the example is the fallback);
* each in E164, INTERNATIONAL and NATIONAL, plus NATIONAL_REGROUPED, reported apart: the
  national digits cut into random groups of 2-4 joined by one random separator, or one block
  one time in five (how people type);
* each (number, format) three times: no cue, a cue before, a cue after; the cue words are
  this module's own list of contact-page labels in 11 languages (the region's language half
  the time, else English), written apart from the detector's list;
* the phrase inserted at a random word boundary of 1-3 consecutive sentences of a seed
  passage (general, edu_high, multilingual), never next to a digit. Snippets with code or
  math vocabulary are skipped, and no ';' follows a number: otherwise the set measures
  edumix's code guard, not phone detection.

False-positive rows (``FpRow``): 16 kinds x 120 generated values that are not phone numbers
(dates, timestamps, versions, prices, ISBNs with valid check digits, counts, decimals,
coordinates, IPv4, citations, year ranges, quantities, ids, math, arXiv/DOI), embedded the
same way; ``seed_code_math`` adds the real code and math passages. Every PHONE_NUMBER found
in them is false.

Deterministic: one ``random.Random(seed)``; regions, types and seed files in sorted order, so
the same seed, phonenumbers version and seed data give the same rows. Seed passages are read
from ``$EDUMIX_SHARED_DATA/seed`` and never copied.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import phonenumbers as pn
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

from edumix.core.shared_data import shared_data_dir

from .pii import Span

PHONE = "PHONE_NUMBER"
HOST_FILES = ("general.jsonl", "edu_high.jsonl", "multilingual.jsonl")
TYPES = {
    "FIXED_LINE": T.FIXED_LINE,
    "MOBILE": T.MOBILE,
    "TOLL_FREE": T.TOLL_FREE,
    "PREMIUM_RATE": T.PREMIUM_RATE,
    "SHARED_COST": T.SHARED_COST,
    "VOIP": T.VOIP,
    "PERSONAL_NUMBER": T.PERSONAL_NUMBER,
    "PAGER": T.PAGER,
    "UAN": T.UAN,
    "VOICEMAIL": T.VOICEMAIL,
}
FORMATS = {"E164": F.E164, "INTERNATIONAL": F.INTERNATIONAL, "NATIONAL": F.NATIONAL}
REGROUPED = "NATIONAL_REGROUPED"
CUE_SIDES = ("none", "before", "after")
# First digit of the calling code: ITU-T's world numbering zones.
ZONES = {
    "1": "1 NANP",
    "2": "2 Africa",
    "3": "3 Europe",
    "4": "4 Europe",
    "5": "5 Latin America",
    "6": "6 Oceania/SE Asia",
    "7": "7 RU/KZ",
    "8": "8 East Asia/global",
    "9": "9 W/S/C Asia",
}

# Labels seen next to phone numbers on contact pages, by language: "before" forms precede the
# number, "after" forms follow it. Some are deliberately not in the detector's lists.
CUES: dict[str, dict[str, list[str]]] = {
    "en": {
        "before": [
            "Phone:",
            "Tel:",
            "Tel.",
            "Telephone:",
            "Mobile:",
            "Cell:",
            "Fax:",
            "call",
            "Call us on",
            "ring",
            "text me on",
            "WhatsApp:",
            "Hotline:",
            "Office:",
            "Home:",
            "Contact:",
            "phone number",
            "reach me at",
            "my number is",
            "dial",
        ],
        "after": [
            "(mobile)",
            "(fax)",
            "(office)",
            "(home)",
            "(work)",
            "(cell)",
            "phone",
            "tel.",
            "- Office",
            "mobile",
            "(landline)",
            "(WhatsApp)",
            "fax",
            "(voice)",
        ],
    },
    "de": {
        "before": [
            "Tel.:",
            "Telefon:",
            "Handy:",
            "Mobil:",
            "Fax:",
            "Rufnummer",
            "Telefonnummer:",
            "anrufen unter",
            "Festnetz:",
        ],
        "after": ["(Handy)", "(Büro)", "(Fax)", "(mobil)", "Telefon", "(Festnetz)"],
    },
    "fr": {
        "before": ["Tél. :", "Téléphone :", "Portable :", "Fax :", "appelez le", "Tél.", "Mobile :"],
        "after": ["(portable)", "(bureau)", "(fax)", "(domicile)", "tél."],
    },
    "es": {
        "before": ["Tel.:", "Teléfono:", "Móvil:", "Celular:", "Fax:", "llame al", "Tlf.:"],
        "after": ["(móvil)", "(oficina)", "(fax)", "(celular)", "teléfono"],
    },
    "pt": {
        "before": ["Tel.:", "Telefone:", "Celular:", "Telemóvel:", "Fax:", "ligue para"],
        "after": ["(celular)", "(telemóvel)", "(escritório)", "(fax)"],
    },
    "it": {
        "before": ["Tel.:", "Telefono:", "Cellulare:", "Cell.", "Fax:", "chiamare il"],
        "after": ["(cellulare)", "(ufficio)", "(fax)", "telefono"],
    },
    "nl": {"before": ["Tel.:", "Telefoon:", "Mobiel:", "Fax:", "bel"], "after": ["(mobiel)", "(kantoor)", "(fax)"]},
    "pl": {"before": ["tel.", "Telefon:", "kom.", "Faks:"], "after": ["(kom.)", "(biuro)", "(faks)"]},
    "ru": {"before": ["Тел.:", "Телефон:", "Моб.:", "Факс:", "звоните"], "after": ["(моб.)", "(факс)", "(офис)"]},
    "sv": {"before": ["Tfn:", "Telefon:", "Mobil:", "Fax:"], "after": ["(mobil)", "(kontor)"]},
    "zh": {"before": ["电话：", "手机：", "傳真：", "電話："], "after": ["（手机）", "（电话）"]},
}
REGION_LANG = {
    **dict.fromkeys("DE AT LI CH".split(), "de"),
    **dict.fromkeys("FR BE LU MC SN CI CM ML NE BF BJ TG GA CG CD MG HT RE GP MQ GF PF NC".split(), "fr"),
    **dict.fromkeys("ES MX AR CO CL PE VE EC BO PY UY CR PA GT HN SV NI DO CU PR".split(), "es"),
    **dict.fromkeys("PT BR AO MZ CV GW ST".split(), "pt"),
    **dict.fromkeys("IT SM VA".split(), "it"),
    **dict.fromkeys("NL SR AW CW SX".split(), "nl"),
    "PL": "pl",
    **dict.fromkeys("RU BY KZ KG".split(), "ru"),
    **dict.fromkeys("SE AX".split(), "sv"),
    **dict.fromkeys("CN TW HK MO SG".split(), "zh"),
}
TRAILING = ["", "", "", ",", ".", ","]  # no ";": a line ending in ";" is code to the guards


@dataclass(frozen=True)
class PhoneRow:
    id: str  # "<E164>/<format>/<cue>"
    text: str
    start: int  # the number: text[start:end]
    end: int
    region: str
    cc: int
    type: str
    format: str  # E164 | INTERNATIONAL | NATIONAL | NATIONAL_REGROUPED
    cue: str  # none | before | after
    cue_word: str
    cue_lang: str
    national_digits: int
    perturbed: bool
    host: str  # "<seed file>:<line>"

    @property
    def number(self) -> str:
        return self.text[self.start : self.end]


@dataclass(frozen=True)
class FpRow:
    id: str
    kind: str
    value: str
    text: str
    host: str


@dataclass(frozen=True)
class PhoneSets:
    phones: tuple[PhoneRow, ...]
    fps: tuple[FpRow, ...]


# --------------------------------------------------------------------------- host prose

# Code and math vocabulary in otherwise plain sentences ("returns None", "f(x)", "P(A∩B)").
_CODE_MATH = re.compile(
    r"[`{}=<>\\$|#_^∩∪≤≥≈×÷]|\n\s*\n|^\s{2,}|>>>|\w\(|::|->|;\s*$|\b(?:None|True|False|true|false|null|def|"
    r"class|import|return|lambda|self)\b"
)


def _prose_ok(s: str) -> bool:
    if len(s) < 40 or _CODE_MATH.search(s):
        return False
    return sum(c.isalpha() or c.isspace() for c in s) >= 0.85 * len(s)


def host_snippets(rng: random.Random, seed_dir: Path, limit: int = 4000) -> list[tuple[str, str]]:
    """(source, snippet): 1-3 consecutive sentences of one seed passage, 80-500 characters."""
    out: list[tuple[str, str]] = []
    for name in HOST_FILES:
        with open(seed_dir / name, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                text = json.loads(line)["text"]
                sents = [s.strip() for s in re.split(r"(?<=[.!?。])\s+|\n+", text) if s.strip()]
                j = 0
                while j < len(sents):
                    k = rng.randint(1, 3)
                    snip = " ".join(sents[j : j + k])
                    j += k
                    if 80 <= len(snip) <= 500 and _prose_ok(snip):
                        out.append((f"{name}:{i}", snip))
    rng.shuffle(out)
    return out[:limit]


def embed(rng: random.Random, host: str, phrase: str, span: tuple[int, int] | None) -> tuple[str, int, int] | None:
    """`phrase` inserted as one word at a random word boundary of `host` that no digit or '+'
    touches: (text, start, end) of `span` (phrase-relative; the whole phrase if None)."""
    words = host.split(" ")
    slots = [
        k
        for k in range(len(words) + 1)
        if (k == 0 or not re.search(r"[\d+]\W*\Z", words[k - 1]))
        and (k == len(words) or not re.match(r"\W*[\d+(]", words[k]))
    ]
    if not slots:
        return None
    k = rng.choice(slots)
    before = " ".join(words[:k])
    prefix = before + (" " if before else "")
    text = prefix + phrase + ((" " + " ".join(words[k:])) if k < len(words) else "")
    s, e = span if span else (0, len(phrase))
    return text, len(prefix) + s, len(prefix) + e


def _embedded(
    rng: random.Random, hosts: list[tuple[str, str]], h: int, phrase: str, span: tuple[int, int] | None
) -> tuple[int, str, tuple[str, int, int]]:
    """The next host (from index h on) the phrase fits into: (next index, source, embed result)."""
    while True:
        src, host = hosts[h % len(hosts)]
        h += 1
        got = embed(rng, host, phrase, span)
        if got:
            return h, src, got


# --------------------------------------------------------------------------- phone numbers


def perturb(rng: random.Random, num: pn.PhoneNumber, ntype: int, tries: int = 60) -> pn.PhoneNumber:
    """The same region and type with the trailing half of the national number redrawn (leading
    zeros kept); the example itself if no valid redraw is found."""
    nsn = pn.national_significant_number(num)
    keep = max(1, len(nsn) - max(2, len(nsn) // 2))
    region = pn.region_code_for_number(num)
    for _ in range(tries):
        tail = "".join(rng.choice("0123456789") for _ in range(len(nsn) - keep))
        cand = nsn[:keep] + tail
        try:
            x = pn.parse("+" + str(num.country_code) + cand, None)
        except pn.NumberParseException:
            continue
        if x.italian_leading_zero != num.italian_leading_zero or pn.national_significant_number(x) != cand:
            continue
        if pn.is_valid_number_for_region(x, region) and pn.number_type(x) == ntype:
            return x
    return num


def regroup(rng: random.Random, national: str) -> str:
    """National digits in random groups of 2-4 with one separator, or (1 in 5) one block."""
    digits = re.sub(r"\D", "", national)
    if rng.random() < 0.2:
        return digits
    sep = rng.choice([" ", "-", ".", " ", "/"])
    groups, i = [], 0
    while i < len(digits):
        n = rng.randint(2, 4)
        if len(digits) - (i + n) == 1:
            n += 1
        groups.append(digits[i : i + n])
        i += n
    return sep.join(groups)


def _numbers(rng: random.Random) -> Iterator[dict]:
    seen: set[str] = set()
    for region in sorted(pn.SUPPORTED_REGIONS):
        for tname, ntype in TYPES.items():
            ex = pn.example_number_for_type(region, ntype)
            if ex is None:
                continue
            num = perturb(rng, ex, ntype)
            e164 = pn.format_number(num, F.E164)
            if e164 in seen:
                continue
            seen.add(e164)
            forms = {f: pn.format_number(num, fmt) for f, fmt in FORMATS.items()}
            forms[REGROUPED] = regroup(rng, forms["NATIONAL"])
            yield {
                "region": region,
                "cc": num.country_code,
                "type": tname,
                "e164": e164,
                "forms": forms,
                "perturbed": num != ex,
            }


def _cue_phrase(rng: random.Random, region: str, number: str, where: str) -> tuple[str, tuple[int, int], str, str]:
    lang = REGION_LANG.get(region, "en") if rng.random() < 0.5 else "en"
    word = rng.choice(CUES[lang][where])
    if where == "before":
        sep = "" if word.endswith(("：", ":")) and lang == "zh" else " "
        phrase = f"{word}{sep}{number}"
        return phrase, (len(word) + len(sep), len(phrase)), word, lang
    return f"{number} {word}", (0, len(number)), word, lang


def _phone_rows(rng: random.Random, hosts: list[tuple[str, str]]) -> Iterator[PhoneRow]:
    h = 0
    for num in _numbers(rng):
        national_digits = sum(c.isdigit() for c in num["forms"]["NATIONAL"])
        for fmt, number in num["forms"].items():
            for cue in CUE_SIDES:
                if cue == "none":
                    phrase, span, word, lang = number, (0, len(number)), "", ""
                else:
                    phrase, span, word, lang = _cue_phrase(rng, num["region"], number, cue)
                phrase += rng.choice(TRAILING)
                h, src, (text, s, e) = _embedded(rng, hosts, h, phrase, span)
                yield PhoneRow(
                    f"{num['e164']}/{fmt}/{cue}",
                    text,
                    s,
                    e,
                    num["region"],
                    num["cc"],
                    num["type"],
                    fmt,
                    cue,
                    word,
                    lang,
                    national_digits,
                    num["perturbed"],
                    src,
                )


# --------------------------------------------------------------------------- not phone numbers


def _isbn13(rng: random.Random) -> str:
    body = rng.choice(["978", "979"]) + "".join(rng.choice("0123456789") for _ in range(9))
    check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body)) % 10) % 10
    s = body + str(check)
    if rng.random() < 0.5:
        return s
    a, b = rng.randint(1, 5), rng.randint(2, 7)
    return f"{s[:3]}-{s[3 : 3 + a]}-{s[3 + a : 3 + a + b]}-{s[3 + a + b : 12]}-{s[12]}"


def _isbn10(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789") for _ in range(9))
    check = (11 - sum((10 - i) * int(c) for i, c in enumerate(body)) % 11) % 11
    s = body + ("X" if check == 10 else str(check))
    a, b = rng.randint(1, 3), rng.randint(2, 5)
    return f"{s[:a]}-{s[a : a + b]}-{s[a + b : 9]}-{s[9]}"


def _grouped(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


def _fp_generators(r: random.Random) -> dict[str, Callable[[], str]]:
    d = r.randint
    return {
        "date": lambda: r.choice(
            [
                f"{d(1900, 2030)}-{d(1, 12):02d}-{d(1, 28):02d}",
                f"{d(1, 28):02d}/{d(1, 12):02d}/{d(1900, 2030)}",
                f"{d(1, 12):02d}/{d(1, 28):02d}/{d(1900, 2030)}",
                f"{d(1, 28):02d}.{d(1, 12):02d}.{d(1900, 2030)}",
                f"{d(1900, 2030)}/{d(1, 12):02d}/{d(1, 28):02d}",
                f"{d(1900, 2030)}{d(1, 12):02d}{d(1, 28):02d}",
            ]
        ),
        "datetime": lambda: (
            f"{d(1990, 2030)}-{d(1, 12):02d}-{d(1, 28):02d} {d(0, 23):02d}:{d(0, 59):02d}:{d(0, 59):02d}"
        ),
        "timestamp": lambda: (
            r.choice(["epoch ", "timestamp ", "created at ", "unix time "]) + str(d(1_000_000_000, 1_900_000_000))
        ),
        "version": lambda: r.choice(
            [
                f"v{d(0, 20)}.{d(0, 40)}.{d(0, 300)}",
                f"version {d(1, 20)}.{d(0, 9)}.{d(1000, 99999)}.{d(0, 9999)}",
                f"=={d(0, 9)}.{d(0, 40)}.{d(0, 20)}",
                f"release {d(1, 30)}.{d(0, 12)}.{d(100000, 999999)}",
                f"build {d(10000, 99999)}.{d(1000, 9999)}",
            ]
        ),
        "price": lambda: r.choice(
            [
                f"${_grouped(d(1000, 99_999_999), ',')}.{d(0, 99):02d}",
                f"€{_grouped(d(1000, 9_999_999), '.')},{d(0, 99):02d}",
                f"USD {_grouped(d(100_000, 999_999_999), ',')}",
                f"£ {_grouped(d(100_000, 99_999_999), ' ')}",
                f"{_grouped(d(100_000, 999_999_999), ' ')} euros",
                f"¥ {d(1_000_000, 999_999_999)}",
                f"Rs. {d(100_000, 99_999_999)}",
            ]
        ),
        "isbn": lambda: r.choice([f"ISBN {_isbn13(r)}", f"ISBN-10 {_isbn10(r)}", _isbn13(r), f"ISBN: {_isbn10(r)}"]),
        "count": lambda: r.choice(
            [
                _grouped(d(1_000_000, 9_999_999_999), ","),
                _grouped(d(1_000_000, 999_999_999), " "),
                _grouped(d(1_000_000, 999_999_999), "."),
                f"{_grouped(d(100_000, 99_999_999), ',')} people",
                f"a population of {_grouped(d(1_000_000, 99_999_999), ' ')}",
            ]
        ),
        "decimal": lambda: r.choice(
            [
                f"{d(0, 999)}.{d(100000, 99999999)}",
                f"{d(0, 9)},{d(1000000, 9999999)}",
                f"-{d(0, 99)}.{d(100000, 999999)}",
            ]
        ),
        "coordinates": lambda: f"({d(-89, 89)}.{d(100000, 999999)}, {d(-179, 179)}.{d(100000, 999999)})",
        "ipv4": lambda: f"{d(11, 223)}.{d(0, 255)}.{d(0, 255)}.{d(1, 254)}",
        "citation": lambda: r.choice(
            [
                f"{d(1, 40)}({d(1, 12)}): {d(1, 900)}-{d(901, 1999)} ({d(1950, 2024)})",
                f"pp. {d(100, 900)}–{d(901, 999)}",
                f"vol. {d(1, 99)}, no. {d(1, 12)}, pp. {d(1000, 4000)}-{d(4001, 4999)}",
            ]
        ),
        "year_range": lambda: r.choice(
            [
                f"{d(1500, 2000)}–{d(2001, 2030)}",
                f"{d(1800, 1990)}-{d(1991, 2030)}",
                f"({d(1500, 1900)}–{d(1901, 1999)})",
            ]
        ),
        "quantity": lambda: (
            f"{d(100_000, 99_999_999)} "
            + r.choice(
                ["bytes", "km", "kg", "years", "downloads", "users", "visitors", "tokens", "parameters", "steps"]
            )
        ),
        "id": lambda: r.choice(
            [
                f"order {d(1_000_000, 999_999_999)}",
                f"invoice no. {d(10_000_000, 99_999_999)}",
                f"ticket #{d(100_000, 9_999_999)}",
                f"case {d(2000, 2024)}-{d(100000, 999999)}",
                f"ID {d(10_000_000, 9_999_999_999)}",
                f"patent {d(1, 11)},{d(100, 999)},{d(100, 999)}",
                f"catalogue {d(100, 999)} {d(1000, 9999)}",
            ]
        ),
        "math": lambda: r.choice(
            [
                f"{d(2, 9)}x + {d(1, 9)} = {d(1_000_000, 9_999_999)}",
                f"{d(100000, 999999)} × {d(100, 999)} = ",
                f"2^{d(20, 64)} = {2 ** d(20, 64)}",
                f"{d(1_000_000, 99_999_999)} / {d(2, 99)}",
            ]
        ),
        "arxiv_doi": lambda: r.choice(
            [
                f"arXiv:{d(1001, 2412)}.{d(10000, 29999)}",
                f"doi:10.{d(1000, 9999)}/{d(100000, 9999999)}",
                f"https://arxiv.org/abs/{d(1001, 2412)}.{d(10000, 29999)}",
            ]
        ),
    }


def _fp_rows(rng: random.Random, hosts: list[tuple[str, str]], per_kind: int = 120) -> Iterator[FpRow]:
    values = ((kind, gen()) for kind, gen in _fp_generators(rng).items() for _ in range(per_kind))
    h = len(hosts) // 2
    for i, (kind, value) in enumerate(values):  # lazily: values and embeddings share the RNG in turn
        h, src, (text, _, _) = _embedded(rng, hosts, h, value + rng.choice(TRAILING), None)
        yield FpRow(f"fp/{kind}/{i}", kind, value, text, src)


@functools.lru_cache(maxsize=2)
def generate(seed: int = 0, data_dir: Path | None = None) -> PhoneSets:
    """The phone rows and false-positive rows for `seed` (~13,500 and 1,920 with phonenumbers
    9.0), hosts from `data_dir`/seed (default: the shared data)."""
    seed_dir = (data_dir or shared_data_dir()) / "seed"
    if not all((seed_dir / f).exists() for f in HOST_FILES):
        raise FileNotFoundError(f"seed passages {HOST_FILES} not found under {seed_dir} (set EDUMIX_SHARED_DATA)")
    rng = random.Random(seed)
    hosts = host_snippets(rng, seed_dir)
    phones = tuple(_phone_rows(rng, hosts))
    return PhoneSets(phones, tuple(_fp_rows(rng, hosts)))


def seed_code_math(data_dir: Path | None = None) -> list[tuple[str, str]]:
    """(kind, text) of the real code and math seed passages: no phone numbers in them."""
    seed_dir = (data_dir or shared_data_dir()) / "seed"
    out = []
    for label in ("code", "math"):
        with open(seed_dir / f"{label}.jsonl", encoding="utf-8") as fh:
            out += [(f"seed_{label}", json.loads(line)["text"]) for line in fh if line.strip()]
    return out


def every_kth_number(rows: Sequence[PhoneRow], k: int) -> list[PhoneRow]:
    """Rows of every k-th number, each with all its formats and cue sides (quick runs, tests)."""
    if k <= 1:
        return list(rows)
    numbers = list(dict.fromkeys(r.id.split("/")[0] for r in rows))
    keep = set(numbers[::k])
    return [r for r in rows if r.id.split("/")[0] in keep]


# --------------------------------------------------------------------------- scoring


def calling_codes(regions: Iterable[str]) -> frozenset[int]:
    return frozenset(pn.country_code_for_region(r) for r in regions)


def zone(row: PhoneRow) -> str:
    return ZONES[str(row.cc)[0]]


def scope(row: PhoneRow, listed: frozenset[int]) -> str:
    """ "in" for what the detector promises - every '+' number; NATIONAL numbers of at least 6
    digits that are cued or of a listed calling code - else why not."""
    if row.format == REGROUPED:
        return f"REGROUPED/{row.cue}"
    if row.format != "NATIONAL":
        return "in"
    if row.national_digits < 6:
        return "NATIONAL <6 digits"
    return "in" if row.cue != "none" or row.cc in listed else "NATIONAL unlisted/none"


@dataclass(frozen=True)
class Hit:
    found: bool  # a PHONE_NUMBER prediction overlaps the number
    exact: bool  # one has exactly its span
    digits: bool  # predictions of any type cover every digit of it (what a leak check sees)
    stray: int  # PHONE_NUMBER predictions overlapping no gold span (false positives in the host)


def score_row(row: PhoneRow, preds: Iterable[Span]) -> Hit:
    preds = list(preds)
    s, e = row.start, row.end
    phones = [(a, b) for t, a, b in preds if t == PHONE]
    covered = set()
    for _, a, b in preds:
        covered.update(range(max(a, s), min(b, e)))
    return Hit(
        found=any(a < e and s < b for a, b in phones),
        exact=(s, e) in phones,
        digits=all(i in covered for i in range(s, e) if row.text[i].isdigit()),
        stray=sum(1 for a, b in phones if not (a < e and s < b)),
    )


def rates(rows: Sequence[PhoneRow], hits: Sequence[Hit], key: Callable[[PhoneRow], str], metric: str = "found"):
    """{group: (n, share of rows whose `metric` holds)}, groups sorted."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for r, h in zip(rows, hits, strict=True):
        groups[key(r)].append(getattr(h, metric))
    return {g: (len(v), sum(v) / len(v)) for g, v in sorted(groups.items())}


def phone_fp_counts(docs: Iterable[tuple[str, str]], find: Callable[[str], Iterable[Span]]) -> dict[str, int]:
    """PHONE_NUMBER detections per kind over (kind, text) documents that hold no phone number."""
    counts: dict[str, int] = defaultdict(int)
    for kind, text in docs:
        counts[kind] += sum(1 for t, _, _ in find(text) if t == PHONE)
    return dict(counts)
