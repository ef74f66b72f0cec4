"""The leak check: after `curate`, no regex-type PII value from the input is in a shard.

Values are found in the input by independent regexes (not by the scrubber under test):
the demo crawl's fake contacts, plus synthetic pages carrying checksum-valid cards, IBANs
and SSNs, plus pages of generated phone numbers (libphonenumber's examples of every region,
edumix/evaluate/phones.py), each looked for in the shards by a regex of its own digits. A
code/math page must keep its numbers.
"""

import ipaddress
import json
import re
from pathlib import Path

import background
import pyarrow.parquet as pq
import pytest
from beam_helpers import curate_job, finished_run

from edumix.core.config import PiiConfig
from edumix.core.record import kv_dict
from edumix.core.shared_data import shared_data_dir
from edumix.demo import write_demo_crawl
from edumix.evaluate.phones import CUE_SIDES, FORMATS, calling_codes, every_kth_number, generate, scope

PATTERNS = {
    "email": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "ipv4": r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
    "phone": r"\+1 555-01\d\d|\(555\) 01\d-\d{4}|555\.01\d\.\d{4}|\+44 20 7946 0\d{3}|\+49 30 \d{6,8}",
    "card": r"\b(?:\d{4}[ -]){3}\d{4}\b",
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b",
    "ssn": r"\b\d{3}-\d{2}-\d{4}\b",
}

PII_PAGES = [
    "Contact our billing desk at billing.team@example.net or call +49 30 1234567 during office hours. "
    "Payments can be wired to DE89 3704 0044 0532 0130 00 with your invoice number as reference.",
    "Order 5531: card 4111 1111 1111 1111 was charged twice; please refund to the same card. "
    "Customer SSN on file: 536-22-8451. Login came from 203.0.113.77 and 2001:db8::ff00:42:8329.",
    "Mitglied Karl Beispiel, IBAN GB82 WEST 1234 5698 7654 32, Telefon +49 30 98765432, "
    "E-Mail karl.beispiel@example.de.",
]
CODE_MATH_PAGE = (
    "Install version 2.10.4 with pip install pkg==2.10.4, then run:\n"
    "for i in range(1000000): total += i * 31415926 % 2718281828\n"
    "The integral evaluates to 3.14159265358979 and 2^32 = 4294967296; the product 123456789 x 987654321 "
    "is 121932631112635269. Released 2024-05-17; costs $1,299.00."
)


def values_in(texts):
    found = set()
    for text in texts:
        for name, pattern in PATTERNS.items():
            found |= {(name, m) for m in re.findall(pattern, text)}
    # LAN and loopback addresses (a router's 192.168.1.1) identify nobody and are kept
    return {(n, v) for n, v in found if n != "ipv4" or not _lan(v)}


def _lan(ip: str) -> bool:
    nets = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8")
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(n) for n in nets)


def planted_numbers() -> list:
    """Generated rows in the scrubber's scope, one per number of every 9th number (~125, every
    calling-code zone), formats and cue sides taken in turn; [] without the seed passages."""
    if not (shared_data_dir() / "seed").is_dir():
        return []
    listed = calling_codes(PiiConfig().phone_regions)
    by_number: dict[str, dict] = {}
    for r in every_kth_number(generate().phones, 9):
        by_number.setdefault(r.id.split("/")[0], {})[(r.format, r.cue)] = r
    wanted = [(f, c) for c in CUE_SIDES for f in FORMATS]
    out = []
    for i, rows in enumerate(by_number.values()):
        row = rows[wanted[i % len(wanted)]]
        if scope(row, listed) == "in":
            out.append(row)
    return out


PLANTED = planted_numbers()
PHONE_PAGE_ROWS = 10  # generated rows per page, as paragraphs


def phone_pages() -> list[str]:
    return [
        "\n\n".join(r.text for r in PLANTED[i : i + PHONE_PAGE_ROWS]) for i in range(0, len(PLANTED), PHONE_PAGE_ROWS)
    ]


def digit_windows(number: str, width: int = 6) -> list[re.Pattern]:
    """Regexes for every `width` consecutive digits of `number`, in any spacing or punctuation
    (up to 3 non-digit, non-letter characters between digits): what a reader could still dial."""
    digits = [c for c in number if c.isdigit()]
    return [re.compile(r"[^\w\n]{0,3}".join(digits[i : i + width])) for i in range(max(1, len(digits) - width + 1))]


def leaked_numbers(pages: list[str], rows: list) -> list[str]:
    """Planted numbers of which 6 consecutive digits are still in the page they were planted in."""
    out = []
    for k, page in enumerate(pages):
        for r in rows[k * PHONE_PAGE_ROWS : (k + 1) * PHONE_PAGE_ROWS]:
            if any(rx.search(page) for rx in digit_windows(r.number)):
                out.append(f"{r.region} {r.format}/{r.cue}: {r.number}")
    return out


def _pii_job(workdir: Path) -> background.Job:
    """`edumix curate` of the demo crawl and pages.jsonl (PII_PAGES, CODE_MATH_PAGE, phone_pages())."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_demo_crawl(workdir / "demo.warc.gz")
    with open(workdir / "pages.jsonl", "w") as fh:
        for i, text in enumerate([*PII_PAGES, CODE_MATH_PAGE]):
            fh.write(json.dumps({"text": text, "url": f"https://pii.example.org/{i}"}) + "\n")
        for k, text in enumerate(phone_pages()):
            fh.write(json.dumps({"text": text, "url": f"https://phones.example.org/{k}"}) + "\n")
    # the short PII pages would fail the quality rules: this test is about scrubbing
    config = {"dedup": {"lines": {"enabled": False}}, "filters": {"enabled": False}}
    return curate_job("pii-leak", [workdir / "demo.warc.gz", workdir / "pages.jsonl"], workdir, config)


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the run below starts in a child process when collection ends (it needs
    nothing from the tests before it), on the core the suite leaves idle."""
    return [_pii_job(workdir)] if any("pii_run" in item.fixturenames for item in items) else []


@pytest.fixture(scope="module")
def pii_run(tmp_path_factory):
    job = background.take("pii-leak") or _pii_job(tmp_path_factory.mktemp("pii"))
    run, report, _ = finished_run(job)
    return report, pq.read_table(run / "shards").to_pylist()


def test_no_input_pii_value_survives(pii_run):
    report, shards = pii_run
    texts = [r["text"] for r in shards]
    leaked = values_in(texts)
    assert not leaked, sorted(leaked)[:20]
    scrubbed = report["stats"]["pii"]
    assert scrubbed["docs_scrubbed"] >= 10
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN"} <= set(
        scrubbed["entities"]
    )
    assert any("<EMAIL_ADDRESS>" in t for t in texts)


def test_the_input_really_had_pii(pii_run):
    """Guards the leak check itself: the regexes do find values in the input pages."""
    found = values_in(PII_PAGES)
    assert {name for name, _ in found} >= {"email", "ipv4", "phone", "card", "iban", "ssn"}


def test_code_and_math_keep_their_numbers(pii_run):
    _, shards = pii_run
    (page,) = [r for r in shards if r["url"] == "https://pii.example.org/3"]
    numbers = ("2.10.4", "31415926", "2718281828", "4294967296", "121932631112635269", "2024-05-17", "$1,299.00")
    for number in numbers:
        assert number in page["text"], number
    assert not any(k.startswith("pii_") for k in kv_dict(page["signals"]))


# Measured: 1 of 119 left, Svalbard's "79 12 75 45" without a cue (the number-list guard: four
# groups of two digits read as a table of small numbers). 2 of 119 is still under 2%.
MAX_LEAKED = 2


def test_generated_numbers_do_not_leak(pii_run):
    """Phone numbers of every calling-code zone, in E164, INTERNATIONAL and NATIONAL, with
    and without cue words, planted in real prose: at most MAX_LEAKED of them are still
    readable in the shards (issue 15's target: <= 2% of the values left)."""
    if not PLANTED:
        pytest.skip(f"no seed passages under {shared_data_dir()} (set EDUMIX_SHARED_DATA)")
    _, shards = pii_run
    by_url = {r["url"]: r["text"] for r in shards}
    pages = [by_url[f"https://phones.example.org/{k}"] for k in range(len(phone_pages()))]
    leaked = leaked_numbers(pages, PLANTED)
    assert len(leaked) <= MAX_LEAKED, f"{len(leaked)} of {len(PLANTED)} planted numbers left: {leaked}"


def test_the_planted_numbers_are_found_in_the_input():
    """Guards the phone leak check: before scrubbing, every planted number matches its regexes,
    across all three formats and cue sides and the nine calling-code zones."""
    if not PLANTED:
        pytest.skip(f"no seed passages under {shared_data_dir()} (set EDUMIX_SHARED_DATA)")
    assert len(leaked_numbers(phone_pages(), PLANTED)) == len(PLANTED) >= 100
    assert {(r.format, r.cue) for r in PLANTED} == {(f, c) for f in FORMATS for c in CUE_SIDES}
    assert {str(r.cc)[0] for r in PLANTED} == set("123456789")
