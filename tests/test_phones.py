"""Phone numbers on libphonenumber's rules (filters/pii/phones.py): the detector's tiers, cues and
windows, its presidio recognizer, `pii.phone_regions`, the generated test set
(edumix/evaluate/phones.py) and floors on a sample of it. The scrubber's own floors are in
tests/test_pii.py, the pipeline leak check in tests/test_pii_leak.py."""

from __future__ import annotations

import hashlib
import random

import phonenumbers
import pytest
import yaml
from phonenumbers import Leniency
from phonenumbers import phonenumbermatcher as pm
from pydantic import ValidationError
from shared_data import shared

from edumix.core.config import ConfigError, PiiConfig, load_config
from edumix.evaluate import phones as phone_set
from edumix.evaluate.pii import as_spans
from edumix.filters.pii import PiiScrubber, guard_reason
from edumix.filters.pii.phones import (
    DEFAULT_REGIONS,
    Cues,
    PhoneDetector,
    RegionIndex,
    Tier,
    main_digits,
    phone_windows,
)
from edumix.filters.pii.recognizers import LibPhoneRecognizer, cued_phone


@pytest.fixture(scope="module")
def det() -> PhoneDetector:
    return PhoneDetector()


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber(PiiConfig())


def spans(det: PhoneDetector, text: str) -> list[str]:
    return [p.text for p in det.find(text)]


# --- the detector ----------------------------------------------------------------------


def test_private_helpers_still_exist():
    """phones.py leans on private names of phonenumbers.phonenumbermatcher: an upgrade that
    drops them must fail here, not silently change what is found."""
    assert callable(pm._verify) and callable(pm.fullmatch)
    assert pm._MATCHING_BRACKETS.pattern and pm._PUB_PAGES.pattern and pm._LEAD_PATTERN.pattern
    assert callable(pm.PhoneNumberMatcher._is_latin_letter)
    assert callable(pm.PhoneNumberMatcher._is_invalid_punctuation_symbol)
    assert callable(getattr(phonenumbers, "enable_pattern_cache", None))


def test_unknown_region_is_an_error():
    with pytest.raises(ValueError, match="unknown phone region"):
        RegionIndex(["US", "XX"])


def test_one_region_per_calling_code():
    assert RegionIndex(["US", "CA", "GB", "GG", "DE"]).regions == ("US", "GB", "DE")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Call +44 20 7946 0958 today.", ["+44 20 7946 0958"]),  # international, valid
        ("Ring 0049 30 1234567 please", ["0049 30 1234567"]),  # international dialling prefix
        ("Write +49 (0)30 1234567 here", ["+49 (0)30 1234567"]),  # E.123 trunk in brackets
        ("The office is on (212) 555-0187.", ["(212) 555-0187"]),  # national, its region's grouping
        ("Ruf an: 030 1234567 (Büro)", ["030 1234567"]),
        ("Mobile: 0490 75 40 81", ["0490 75 40 81"]),
        ("0490 75 40 81 (mobile)", ["0490 75 40 81"]),  # cue after
        ("Phone:\n467 3395", ["467 3395"]),  # cue on the line before, local number
        ("Tel (212) 555-0187 or 555-0108", ["(212) 555-0187", "555-0108"]),  # a list continues
        ("fax 345-899-3560x4587", ["345-899-3560x4587"]),  # extension kept
        ("电话：021-54098575", ["021-54098575"]),
    ],
)
def test_finds(det, text, found):
    assert spans(det, text) == found


@pytest.mark.parametrize(
    "text",
    [
        "A population of 5.342.447 in 2011.",  # thousands grouping, no cue
        "Order 123456789 shipped.",  # one block, no cue
        "Seen 20-20-20 in the ad.",  # six digits, no cue
        "Ad slot Mobil 300x250 here",  # 300, extension 250
        "See CVE-2024-24576 for details",  # glued to a word
        "The 400--599 range",
        "Released 2024-05-17 at 14:32",
    ],
)
def test_leaves(det, text):
    assert spans(det, text) == []


def test_labels_only_next_to_the_number():
    cues = Cues()
    t = "Office: 0123 456780"
    assert cues.find(t, 8, len(t)) == "Office:"
    t = "At the office we counted 0123 456780"
    assert cues.find(t, t.index("0123"), len(t)) is None
    t = "0123 456780 - Office"
    assert cues.find(t, 0, 11) == "Office"


def test_main_digits():
    assert main_digits("300x250") == 3
    assert main_digits("345-899-3560 ext. 4587") == 10


def test_tiers():
    idx = RegionIndex(DEFAULT_REGIONS)
    assert idx.classify("+44 20 7946 0958").tier is Tier.INTERNATIONAL
    assert idx.classify("+1 555-0108").tier is Tier.POSSIBLE
    assert idx.classify("(212) 555-0187").tier is Tier.VALID
    assert idx.grouped("(212) 555-0187", Leniency.EXACT_GROUPING)
    assert not idx.grouped("21 25 55 01 87", Leniency.EXACT_GROUPING)


def test_example_numbers_of_every_region_in_e164(det):
    """Every region's example number, written E164 with a '+', stands alone."""
    missed = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        num = phonenumbers.example_number(region)
        if num is None:
            continue
        e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        if spans(det, f"Reach the desk on {e164} any time.") != [e164]:
            missed.append(region)
    assert not missed


def test_windows_do_not_change_answers(det):
    """find() on a text equals find() on windows cut around its digit chains (+-64 characters,
    snapped to whitespace, joined by blank lines): what the scrubber's pre-screen does."""
    rng = random.Random(3)
    pieces = [
        "call",
        "Tel.",
        "(home)",
        "fax",
        "or",
        ",",
        "the",
        "and",
        "\n",
        "\n\n",
        "+44 20 7946 0958",
        "0490 75 40 81",
        "(212) 555-0187",
        "555-0108",
        "2024-05-17",
        "1,234,567",
        "x" * 80,
        "office",
    ]
    for _ in range(200):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        whole = [(p.start, p.end, p.score) for p in det.find(text)]
        joined, starts, pos = "", [], 0
        for s, e in phone_windows(text, 6, 64):
            starts.append((pos, s))
            joined += text[s:e] + "\n\n"
            pos += e - s + 2
        back = []
        for p in det.find(joined):
            base, s = max(x for x in starts if x[0] <= p.start)
            back.append((p.start - base + s, p.end - base + s, p.score))
        assert back == whole, text


def test_presidio_recognizer(det):
    rec = LibPhoneRecognizer(det)
    res = rec.analyze("Tel. +44 20 7946 0958", ["PHONE_NUMBER"])
    assert [(r.entity_type, r.start, r.end, r.score) for r in res] == [("PHONE_NUMBER", 5, 21, 0.75)]
    assert cued_phone(res[0])
    (plain,) = rec.analyze("See +44 20 7946 0958", ["PHONE_NUMBER"])
    assert plain.score == 0.4 and not cued_phone(plain)
    assert rec.analyze("Tel. +44 20 7946 0958", ["EMAIL_ADDRESS"]) == []


def test_guard_hears_cues_after_the_number():
    """A cue the recognizer saw after the number counts like a cue word before it."""
    text = "Numbers 32 12 44 56 (mobile)"
    s, e = 8, 19
    assert guard_reason(text, "PHONE_NUMBER", s, e) == "number_list"
    assert guard_reason(text, "PHONE_NUMBER", s, e, cued=True) is None
    assert guard_reason("Released 2024-05-17 (mobile)", "PHONE_NUMBER", 9, 19, cued=True) == "date"


# Issue 15's leaked held-out examples. Known while the detector was designed: a regression
# check, not evidence that it generalises (the generated set below is that).
ISSUE_15 = [
    "(37) 788-063-Office",
    "416 60 039 office",
    "+447700 208 815-Fax",
    "21 253 109 8211-Office",
    "082 490 1693-Office",
    "Can someone call me on 450 0840?",
    "+46 (0)179 459 33 fax",
]


@pytest.mark.parametrize("text", ISSUE_15)
def test_issue_15_examples_are_scrubbed(scrubber, text):
    out, counts = scrubber.scrub(text)
    assert counts == {"PHONE_NUMBER": 1} and not any(c.isdigit() for c in out), out


# --- pii.phone_regions -----------------------------------------------------------------


def test_default_regions():
    regions = PiiConfig().phone_regions
    assert regions == DEFAULT_REGIONS and len(regions) == 98
    assert set(regions) <= phonenumbers.SUPPORTED_REGIONS
    assert len({phonenumbers.country_code_for_region(r) for r in regions}) == 98  # one per calling code


@pytest.mark.parametrize(("regions", "match"), [(("US", "XX"), r"unknown region codes \['XX'\]"), ((), "at least one")])
def test_phone_regions_are_validated(regions, match):
    with pytest.raises(ValidationError, match=rf"pii\.phone_regions: .*{match}"):
        PiiConfig(phone_regions=regions)


def test_phone_regions_error_names_the_field_in_a_config_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"pii": {"phone_regions": ["DE", "us"]}}))
    with pytest.raises(ConfigError, match=r"pii\.phone_regions: unknown region codes \['us'\]"):
        load_config(path)
    path.write_text(yaml.safe_dump({"pii": {"phone_regions": ["DE", "AT"]}}))
    assert load_config(path).pii.phone_regions == ("DE", "AT")


def test_phone_regions_choose_the_national_formats_read_without_a_cue():
    text = "Die Praxis ist unter 030 65211780 erreichbar, aus dem Ausland +49 30 65211780."
    us_only = PiiScrubber(PiiConfig(phone_regions=("US",)))
    assert us_only.scrub(text)[0] == "Die Praxis ist unter 030 65211780 erreichbar, aus dem Ausland <PHONE_NUMBER>."
    germany = PiiScrubber(PiiConfig(phone_regions=("US", "DE")))
    assert germany.scrub(text)[1] == {"PHONE_NUMBER": 2}
    # with a cue, a length possible in a listed region is enough (US: 10 digits)
    assert us_only.scrub("Telefon: 030 6521178")[1] == {"PHONE_NUMBER": 1}


# --- the generated set -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sets() -> phone_set.PhoneSets:
    shared("seed")
    return phone_set.generate()


def _digest(s: phone_set.PhoneSets) -> str:
    h = hashlib.sha256()
    for r in (*s.phones, *s.fps):
        h.update(repr(r).encode())
    return h.hexdigest()


def test_generator_is_deterministic(sets):
    again = phone_set.generate.__wrapped__(0)
    assert _digest(again) == _digest(sets)
    assert _digest(phone_set.generate.__wrapped__(1)) != _digest(sets)


def test_generated_rows(sets):
    """Every region with examples is there, in every format and cue side, and each gold span
    is the number libphonenumber formatted."""
    rows = sets.phones
    assert len({r.region for r in rows}) == len(phonenumbers.SUPPORTED_REGIONS)
    assert {(r.format, r.cue) for r in rows} == {
        (f, c) for f in (*phone_set.FORMATS, phone_set.REGROUPED) for c in phone_set.CUE_SIDES
    }
    assert sum(r.perturbed for r in rows) > 0.9 * len(rows)
    for r in rows:
        e164 = r.id.split("/")[0]
        num = phonenumbers.parse(e164)
        assert phonenumbers.is_valid_number(num), r.id
        if r.format in phone_set.FORMATS:
            assert r.number == phonenumbers.format_number(num, phone_set.FORMATS[r.format]), r.id
        else:  # regrouped: the national format's digits
            national = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
            assert [c for c in r.number if c.isdigit()] == [c for c in national if c.isdigit()], r.id
        assert not r.text[r.start - 1 : r.start].isdigit() and not r.text[r.end : r.end + 1].isdigit()
    assert len(sets.fps) == 16 * 120 and len({f.kind for f in sets.fps}) == 16


# Measured on this sample (every 5th number with all its formats and cue sides, in scope:
# 1,932 rows; default config; benchmarks/pii_eval.py, Table 4, has the whole set):
#   E164 0.999 (675 rows), INTERNATIONAL 0.997 (675), NATIONAL 0.985 (582), all 0.994
#   false-positive set (1,920 rows): count 38, id 15, math 1, the other 13 kinds 0
# Recall floors sit ~0.02 below; the false-positive ceilings a few detections above.
RECALL_FLOORS = {"E164": 0.98, "INTERNATIONAL": 0.98, "NATIONAL": 0.965, "ALL": 0.975}
FP_CEILINGS = {"count": 42, "id": 19, "math": 3}
FP_CEILING_ALL = 60


@pytest.fixture(scope="module")
def sample_hits(sets, scrubber):
    listed = phone_set.calling_codes(scrubber.cfg.phone_regions)
    rows = [r for r in phone_set.every_kth_number(sets.phones, 5) if phone_set.scope(r, listed) == "in"]
    return rows, [phone_set.score_row(r, as_spans(scrubber.find(r.text))) for r in rows]


def test_recall_floors_on_the_generated_set(sample_hits):
    rows, hits = sample_hits
    by_format = phone_set.rates(rows, hits, lambda r: r.format)
    by_format["ALL"] = phone_set.rates(rows, hits, lambda r: "ALL")["ALL"]
    low = {f: round(x, 3) for f, (_, x) in by_format.items() if x < RECALL_FLOORS[f]}
    assert not low, f"recall below the floors {RECALL_FLOORS}: {low}"
    assert sum(h.stray for h in hits) == 0  # nothing else in the host prose is a phone number


def test_false_positive_ceilings(sets, scrubber):
    counts = phone_set.phone_fp_counts(((f.kind, f.text) for f in sets.fps), lambda t: as_spans(scrubber.find(t)))
    over = {k: n for k, n in counts.items() if n > FP_CEILINGS.get(k, 0)}
    assert not over, f"PHONE_NUMBER detections above the ceilings {FP_CEILINGS} (others 0): {over}"
    assert sum(counts.values()) <= FP_CEILING_ALL


def test_prescreen_identity_on_generated_rows(sets, scrubber):
    """The scrubber finds the same spans with and without the pre-screen (windows) on the rows."""
    for r in phone_set.every_kth_number(sets.phones, 20):
        a = [(x.entity_type, x.start, x.end, x.score) for x in scrubber.find(r.text, prescreen=True)]
        b = [(x.entity_type, x.start, x.end, x.score) for x in scrubber.find(r.text, prescreen=False)]
        assert a == b, r.id
