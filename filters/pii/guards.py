"""Precision guards: why a span presidio found is not PII after all (see `guard_reason`)."""

from __future__ import annotations

import re

from .digits import MIN_DIGITS, digit_count, max_chain_digits
from .entities import NER_ENTITIES

_NON_NUMERIC = frozenset(
    {"EMAIL_ADDRESS", "IP_ADDRESS", "IBAN_CODE", "URL", "CRYPTO", "MAC_ADDRESS", "UUID", *NER_ENTITIES}
)
_NUMERIC_FIXED = frozenset(
    {
        "PHONE_NUMBER",
        "US_SSN",
        "CREDIT_CARD",
        "US_ITIN",
        "US_BANK_NUMBER",
        "UK_NHS",
        "US_PASSPORT",
        "US_DRIVER_LICENSE",
        "MEDICAL_LICENSE",
    }
)
_CUES = {
    "PHONE_NUMBER": re.compile(
        r"(?i)(?:phone|\btel\b|\btel\.|fax|mobile|\bcell|\bcall|contact|whatsapp|"
        r"\bsms\b|\btext\b|\bring\b|hotline|reach)"
    ),
    "US_SSN": re.compile(r"(?i)(?:\bssn|social\s+security|\bss#)"),
    "CREDIT_CARD": re.compile(r"(?i)(?:card|\bvisa\b|mastercard|\bamex\b|credit|debit|\bcc\b)"),
}
_GENERIC_CUE = re.compile(r"(?i)(?:\bid\b|number|\bno\.|#)")
_OPERATORS = "=+/^×÷<>≤≥≈≡±∙·⋅∑∏√"
_MATH_BEFORE = re.compile(r"(?:[" + re.escape(_OPERATORS) + r"]|\\(?:cdot|times|approx|pm|le|ge|neq?)|\\[(\[{])\s*\Z")
_MATH_AFTER = re.compile(
    r"^\s*(?:[" + re.escape(_OPERATORS) + r"]|\\[a-zA-Z]|[)\]}]\s*[" + re.escape(_OPERATORS) + r"^_])"
)
_LATEX_LINE = re.compile(r"\\[a-zA-Z]{2,}|\$\$|\\\(|\\\[|[\^_]\{|\$[^$\d\s][^$]*\$")
_CODE_LINE = re.compile(
    r"^\s*(?:def|class|import|from|return|if|elif|else|for|while|const|let|var|function|fn|pub|public|"
    r"private|protected|static|int|long|float|double|char|void|auto|unsigned|struct|enum|case|switch|"
    r"#include|#define|printf|print|assert|echo|local|export|SELECT|INSERT|UPDATE|DELETE|CREATE)\b"
    r"|^\s*(?:[{})\]]|>>>|\.\.\.\s|\$\s|In \[\d+\]:)"
    r"|[;{}]\s*$|==|!=|->|=>|::|&&|\|\||\+=|-=|\*=|/=|<<|>>|\w\(.*\)|^\s*//|/\*|\*/|\bnull\b|\bNone\b|\btrue\b|\bfalse\b"
)
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
_CURRENCY_BEFORE = re.compile(
    r"(?:[$€£¥₹₩₽¢]|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|RMB|Rs\.?|R\$|kr))\s*\Z", re.IGNORECASE
)
_CURRENCY_AFTER = re.compile(
    r"^\s*(?:[$€£¥₹₩₽¢%‰]|(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|RMB|dollars?|euros?|"
    r"cents?|pounds?|yen|kr|percent)\b)",
    re.IGNORECASE,
)
_VERSION_BEFORE = re.compile(
    r"(?:\bv|\bver(?:sion)?\.?|\brelease[sd]?|\brev(?:ision)?\.?|\bbuild|\bpatch|"
    r"==|>=|<=|~=|!=|\^|@)\s*\Z",
    re.IGNORECASE,
)
_ISBN_BEFORE = re.compile(r"\b(?:ISBN|ISSN|DOI|PMID|arXiv)(?:-1[03])?\s*[:#]?\s*\Z", re.IGNORECASE)
_TIME_BEFORE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s*\Z|\d:\Z")
_TIME_AFTER = re.compile(r"^(?::\d{2}|[T\s]\d{1,2}:\d{2}|\s*(?:[ap]\.?m\.?|Uhr|h|hrs?|UTC|GMT)\b)", re.IGNORECASE)
_TIME_WORDS = re.compile(
    r"(?i)\b(?:time|timestamp|epoch|unix|ts|created|updated|modified|expires?|date|"
    r"since|until|seconds?|millis(?:econds)?)\b"
)
_STREET_AFTER = re.compile(
    r"^\s+(?:[A-Z][\w'.-]*\s+){0,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|"
    r"Place|Pl|Terrace|Close|Crescent|Parkway|Pkwy|Square|Sq|Highway|Hwy|Alley|Circle|Cir|Trail|Row|Walk|Mews|"
    r"Gardens|Grove|Hill|Park|Plaza|Strasse|Straße|Rue|Via|Calle|Forges?|Rapids|Junction|Loop|Pike)\b"
)
_POSTCODE_BEFORE = re.compile(r"(?i)\b(?:zip(?:\s*code)?|postal\s*code|post\s*code|postcode|plz|cep|pin\s*code)\b\W*\Z")
_QUANTITY_AFTER = re.compile(
    r"\s*(?:seconds?|secs?|ms|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|bytes?|bits?|[KMGTP]i?B|"
    r"kb|mb|gb|km|cm|mm|nm|kg|mg|lbs?|oz|miles?|ft|feet|inch(?:es)?|people|persons|times|views|"
    r"downloads|words|pages|items|rows|records|users|visitors|votes|points|steps|iterations|samples|"
    r"tokens|parameters|params|rpm|hz|khz|mhz|ghz|mph|kph|°|degrees)\b",
    re.IGNORECASE,
)
_IPV4_VALUE = re.compile(r"\(?\d{1,3}(?:\.\d{1,3}){3}(?:[\s:]\d{1,5})?\)?")
_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
_DATE_CHAIN = re.compile(r"\d+(?:[-/.] ?\d+)+")
_YEAR_RANGE = re.compile(r"^\(?\s*(\d{4})\s*[-–—/]\s*(\d{2}|\d{4})\s*\)?$")
_DECIMAL_TOKEN = re.compile(r"(?<![\d.,])\d+[.,]\d+(?![\d.,]?\d)")
_KNOWN_CONSTANTS = frozenset(
    {
        "2147483647",
        "2147483648",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "1234567890",
        "0123456789",
        "9876543210",
        "1234567",
        "12345678",
        "123456789",
        "3141592653",
        "2718281828",
    }
)


def _valid_date(a: int, b: int, c: int, y_first: bool) -> bool:
    if y_first:
        return 1000 <= a <= 2999 and 1 <= b <= 12 and 1 <= c <= 31
    year_ok = c < 100 or 1000 <= c <= 2999
    return year_ok and ((1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31))


def looks_like_date(value: str) -> bool:
    for m in _DATE_CHAIN.finditer(value):
        parts = re.split(r"[-/.] ?", m.group())
        seps = set(re.findall(r"[-/.]", m.group()))
        if len(parts) != 3 or len(seps) != 1:
            continue
        a, b, c = (int(p) for p in parts)
        if len(parts[0]) == 4 and _valid_date(a, b, c, True):
            return True
        if len(parts[0]) <= 2 and len(parts[1]) <= 2 and len(parts[2]) in (2, 4) and _valid_date(a, b, c, False):
            return True
    my = re.fullmatch(r"\(?(\d{1,2})[-/.](\d{4})\)?|\(?(\d{4})[-/.](\d{1,2})\)?", value.strip())
    if my:
        month, year = (int(my.group(1)), int(my.group(2))) if my.group(1) else (int(my.group(4)), int(my.group(3)))
        if 1 <= month <= 12 and 1900 <= year <= 2099:
            return True  # 02/2022, 2022-08
    digits = re.sub(r"\D", "", value)
    if len(digits) == 8 and value.strip("()[] ").isdigit():
        y, m, d = int(digits[:4]), int(digits[4:6]), int(digits[6:])
        if 1900 <= y <= 2099 and 1 <= m <= 12 and 1 <= d <= 31:
            return True  # YYYYMMDD
    ym = _YEAR_RANGE.match(value.strip())
    return bool(ym and 1000 <= int(ym.group(1)) <= 2999)


def _isbn_checksum(value: str) -> bool:
    s = re.sub(r"[\s-]", "", value).upper()
    if len(s) == 13 and s.isdigit() and s[:3] in ("978", "979"):
        return sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s)) % 10 == 0
    if len(s) == 10 and s[:9].isdigit() and (s[9].isdigit() or s[9] == "X") and value.count("-") == 3:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(s))
        return total % 11 == 0
    return False


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    return a, (len(text) if b < 0 else b)


def _in_fence(text: str, pos: int) -> bool:
    return len(_FENCE.findall(text, 0, pos)) % 2 == 1


def _in_code(text: str, start: int, end: int) -> bool:
    if ("```" in text or "~~~" in text) and _in_fence(text, start):
        return True
    a, b = _line_bounds(text, start, end)
    line = text[a:b]
    if line[: start - a].count("`") % 2 == 1 and "`" in line[end - a :]:
        return True
    if _CODE_LINE.search(line):
        return True
    prev_end = a - 1
    prev = text[text.rfind("\n", 0, max(prev_end, 0)) + 1 : max(prev_end, 0)] if prev_end > 0 else ""
    if re.match(r"\s*(?:>>>|\$ |In \[\d+\]:)", prev):
        return True  # REPL / shell output
    # Neighbourhood: two of the two lines before and after look like code.
    lines = []
    p = a - 1
    for _ in range(2):
        if p < 0:
            break
        q = text.rfind("\n", 0, p) + 1
        lines.append(text[q:p])
        p = q - 1
    q = b + 1
    for _ in range(2):
        if q > len(text):
            break
        r = text.find("\n", q)
        r = len(text) if r < 0 else r
        lines.append(text[q:r])
        q = r + 1
    return sum(bool(_CODE_LINE.search(x)) for x in lines if x.strip()) >= 2


def _in_math(text: str, start: int, end: int, before: str, after: str) -> bool:
    if _MATH_BEFORE.search(before) or _MATH_AFTER.search(after):
        return True
    a, b = _line_bounds(text, start, end)
    line = text[a:b]
    if _LATEX_LINE.search(line):
        return True
    return sum(line.count(c) for c in "=<>≤≥≈") >= 2


def _ip_guard(value: str, before: str) -> str | None:
    if _VERSION_BEFORE.search(before[-16:]) or re.search(r"\w[-_]\Z", before):
        return "version"  # v1.2.3.4, novas==3.1.1.3, novas-3.1.1.3
    if ":" in value:
        return None if re.search(r"\d", value) else "code"  # ::add, cafe::beef are paths, not addresses
    octets = value.split("/")[0].split(".")
    if len(octets[0]) == 1 and sum(len(o) == 1 for o in octets) >= 3:
        return "version"  # Firefox 2.0.0.16, (3.1.1.3): real hosts rarely have three one-digit octets
    return None


def _is_numeric(entity: str, value: str) -> bool:
    if entity in _NUMERIC_FIXED:
        return True
    if entity in _NON_NUMERIC:
        return False
    return digit_count(value) * 2 >= len(value)


def guard_reason(text: str, entity: str, start: int, end: int, cued: bool = False) -> str | None:
    """Why a detected span is not PII after all (None: it is). Only digits-shaped entities
    (phone, SSN, cards, ID numbers) are guarded, plus two IP/email cases. `cued`: the
    recognizer saw a cue for the type next to the span, before or after it ("0490 75 40 81
    (mobile)"); it counts like a cue word before it."""
    value = text[start:end]
    before = text[max(0, start - 48) : start]
    if entity == "IP_ADDRESS":
        return _ip_guard(value, before)
    if entity == "EMAIL_ADDRESS":
        return "ssh_remote" if value.lower().startswith("git@") else None
    if not _is_numeric(entity, value):
        return None
    after = text[end : end + 48]
    if entity == "PHONE_NUMBER" and max_chain_digits(value) < MIN_DIGITS["PHONE_NUMBER"]:
        return "too_few_digits"
    # Part of a larger number: 3.14159..., 1,234,567, 40.7128, ...
    if re.search(r"\d[.,]?\Z", before) or re.match(r"[.,]?\d", after):
        return "number"
    if _DECIMAL_TOKEN.search(value):
        return "decimal"
    if _IPV4_VALUE.fullmatch(value):
        return "ip_address"
    groups = re.findall(r"\d+", value)
    if len(groups) == 2 and re.search(r"[–—]", value):
        return "range"  # 369–286 BCE, 67–69 inches: typographic ranges, not phone groups
    if set(re.sub(r"\D", "", value)) <= {"0", "1"}:
        return "binary"
    if looks_like_date(value):
        return "date"
    if _TIME_BEFORE.search(before) or _TIME_AFTER.match(after):
        return "time"
    if _STREET_AFTER.match(after) or _POSTCODE_BEFORE.search(before):
        return "address"
    if len(groups) >= 2 and all(_YEAR.fullmatch(g) for g in groups):
        return "years"
    if _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after):
        return "price"
    if _QUANTITY_AFTER.match(after):
        return "quantity"
    if _VERSION_BEFORE.search(before[-16:]):
        return "version"
    if _ISBN_BEFORE.search(before[-24:]) or _isbn_checksum(value):
        return "isbn"
    if re.sub(r"\D", "", value) in _KNOWN_CONSTANTS:
        return "constant"
    if cued or _CUES.get(entity, _GENERIC_CUE).search(before):
        return None
    if (
        "+" not in value
        and len(groups) >= 4
        and (sum(len(g) == 1 for g in groups) >= 2 or (all(len(g) <= 2 for g in groups) and groups[0][0] != "0"))
    ):
        return "number_list"  # stem-and-leaf rows, tables of small numbers
    hyphen = re.fullmatch(r"(\d{1,4})-(\d{1,4})", value)
    if hyphen and len(hyphen.group(1)) == len(hyphen.group(2)) and int(hyphen.group(1)) < int(hyphen.group(2)):
        return "range"  # 130-140 g
    # File names, URL paths, identifiers: 1206279125.jpg, /abs/2203.15556, id_5551234567.
    if re.search(r"[\w/\\#=_@$&?%*~^]\Z", before) or re.match(r"\.[A-Za-z]|[A-Za-z_/\\@]", after):
        return "identifier"
    token_start = max(before.rfind(" "), before.rfind("\n"), before.rfind("\t"))
    if "://" in before[token_start + 1 :] or "www." in before[token_start + 1 :]:
        return "url"
    if _in_math(text, start, end, before, after):
        return "math"
    if _in_code(text, start, end):
        return "code"
    if value.isdigit() and len(value) in (10, 13) and value[0] == "1":
        a, b = _line_bounds(text, start, end)
        if _TIME_WORDS.search(text[a:b]):
            return "timestamp"
    return None
