"""The removal ledger holds no raw PII: documents every stage drops (too short for the rules,
an exact duplicate, a repeated URL) carry planted values, and after `curate` none of those
values is anywhere in the run directory, ledger included, unless the run asks for raw text."""

import json
import re

import pyarrow.parquet as pq
from test_pii_leak import PATTERNS, values_in

from edumix.core.config import RunConfig
from edumix.pipelines.curate import run_curate

CONTACT = "Write to jane.roe.7731@example-mail.org or call +1 555-0142 ext 3; card 4111 1111 1111 1111."
ARTICLE = (
    "The river delta formed over thousands of years as sediment settled where the current slowed. "
    "Farmers in the region plant rice on the wettest plots and vegetables on the raised banks. "
    "Each spring the floods bring fresh silt, which keeps the soil fertile without much fertiliser. "
    "In the dry months the channels shrink, and fishermen move their nets to the deeper lagoons. "
    "Birds that winter in the north arrive in October and feed on the mudflats until March. "
    "Scientists measure the water level every day to warn villages before a storm surge. "
    "Over the last century dams upstream have trapped much of the sediment the delta needs. "
    "As a result the coastline retreats a few metres each year in the most exposed places. "
    "Local councils now plant mangroves, whose roots hold the mud and break the force of waves. "
    "Visitors can follow a boardwalk through the forest and read how the landscape keeps changing."
)


def _pages():
    """(url, text, why it is dropped)."""
    return [
        ("https://a.example/short", CONTACT, "quality: far too short"),
        ("https://a.example/article", ARTICLE + "\n" + CONTACT, "kept (scrubbed)"),
        ("https://a.example/copy", ARTICLE + "\n" + CONTACT, "exact_dedup: same text"),
        ("https://a.example/article", ARTICLE + " Updated.\nMail jane.roe.7731@example-mail.org", "url_dedup"),
    ]


def _everything_in(run_dir):
    """Every string in every file of the run: Parquet cells and the other files' text."""
    out = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            out.append(json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str))
        else:
            out.append(path.read_text(errors="replace"))
    return "\n".join(out)


def _run(tmp_path, config):
    src = tmp_path / "pages.jsonl"
    src.write_text("".join(json.dumps({"url": u, "text": t}) + "\n" for u, t, _ in _pages()))
    out = tmp_path / "run"
    report = run_curate([str(src)], str(out), config)
    return report, out


def test_dropped_documents_are_scrubbed_in_the_ledger(tmp_path):
    planted = values_in([CONTACT])
    assert {name for name, _ in planted} >= {"email", "card"}
    report, out = _run(tmp_path, RunConfig())
    dropped = {stage for stage, reasons in report["dropped"].items() if reasons}
    assert {"quality", "exact_dedup", "url_dedup"} <= dropped
    assert report["kept"] == 1
    everything = _everything_in(out)
    assert "<EMAIL_ADDRESS>" in everything  # the scrubbed documents are there...
    leaked = {value for _, value in planted if value in everything}
    assert not leaked, leaked  # ...and none of the planted values


def test_raw_ledger_only_when_asked(tmp_path):
    report, out = _run(tmp_path, RunConfig.model_validate({"output": {"rejected_raw_text": True}}))
    ledger = _everything_in(out / "rejected")
    assert re.search(PATTERNS["email"], ledger)
    shards = _everything_in(out / "shards")
    assert not re.search(PATTERNS["email"], shards)  # kept documents are scrubbed either way


def test_no_pii_stage_no_ledger_scrubbing(tmp_path):
    """With the pii stage off nothing is scrubbed, the ledger as the shards."""
    report, out = _run(tmp_path, RunConfig.model_validate({"pii": {"enabled": False}}))
    assert re.search(PATTERNS["email"], _everything_in(out / "rejected"))
