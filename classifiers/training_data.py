"""Weak, source-based labels for the default classifiers, built from the shared data.

The data is read from ``$EDUMIX_SHARED_DATA`` (default ``<repo>/../shared/data``) and never copied
into the repository. Labels name where a passage came from, not a hand-checked judgement.

Label mapping (seed/<file>.jsonl, quality/hplt_v2_dev/*.tsv):

=====================================  =========  =====  =========
source                                  quality    edu    domain
=====================================  =========  =====  =========
HPLT row with unnatural>=0.5 or porn=1  low        0      --
seed/low_quality, HPLT-derived rows     low        0      --
seed/low_quality, other (boilerplate,   low        1      general
  navigation, SEO/spam, listings)
HPLT row, natural, lang_correct>=0.5    high       2 (*)  --
seed/general (news, Wikipedia, blogs)   high       2      general
seed/code                               high       3      code
seed/multilingual (translated docs,     high       3      general
  guides)
seed/math (proofs, definitions,         high       4      math
  worked examples)
seed/edu_high (OpenStax, Python         high       5      general
  tutorial/HOWTOs)
=====================================  =========  =====  =========

(*) at most ``HPLT_NATURAL_CAP`` natural HPLT rows (chosen by hash, deterministic) go into edu,
so ordinary web prose does not swamp the curated classes. Rows whose HPLT document also appears
in seed/low_quality are counted once. The split key of an HPLT-derived row is its document id,
so a document never lands on both sides of the train/held-out split. HPLT rows with lang_correct
< 0.5 and no unnatural/porn flag are ambiguous and left out.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from edumix.classifiers.fasttext_model import Example
from edumix.core.shared_data import shared_data_dir

HPLT_NATURAL_CAP = 600

EDU_BY_SEED = {"low_quality": "1", "general": "2", "code": "3", "multilingual": "3", "math": "4", "edu_high": "5"}
DOMAIN_BY_SEED = {
    "low_quality": "general",
    "general": "general",
    "code": "code",
    "multilingual": "general",
    "math": "math",
    "edu_high": "general",
}
SEED_FILES = tuple(EDU_BY_SEED)


def _num(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return 0.0


def read_seed(root: Path | None = None) -> Iterator[dict]:
    root = root or shared_data_dir()
    for name in SEED_FILES:
        path = root / "seed" / f"{name}.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"seed file missing: {path} (set EDUMIX_SHARED_DATA)")
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    row["file"] = name
                    yield row


def read_hplt(root: Path | None = None) -> Iterator[dict]:
    """HPLT v2 annotation rows: {text, id, porn, unnatural, lang_correct, lang}."""
    root = root or shared_data_dir()
    csv.field_size_limit(1 << 30)
    for path in sorted((root / "quality" / "hplt_v2_dev").glob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            for row in reader:
                if row.get("text"):
                    row["lang"] = path.name.split("_batch")[0]
                    yield row


def _hplt_id(source: str) -> str | None:
    if source.startswith("hplt-project/") and "#" in source:
        return source.rsplit("#", 1)[1]
    return None


def _hash(s: str) -> int:
    return int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:8], "big")


def build_rows(root: Path | None = None) -> dict[str, list[Example]]:
    """Examples per task: {"quality": [...], "edu": [...], "domain": [...]}."""
    rows: dict[str, list[Example]] = {"quality": [], "edu": [], "domain": []}
    seen_hplt: set[str] = set()
    for r in read_seed(root):
        hid = _hplt_id(r["source"])
        key = f"hplt:{hid}" if hid else r["text"]
        src = r["file"]
        if hid:
            seen_hplt.add(hid)
        rows["quality"].append(Example(r["text"], "low" if src == "low_quality" else "high", key, src))
        rows["edu"].append(Example(r["text"], "0" if hid else EDU_BY_SEED[src], key, src))
        if not hid:  # HPLT web docs are multilingual web text; no domain label for them
            rows["domain"].append(Example(r["text"], DOMAIN_BY_SEED[src], key, src))
    natural = []
    for r in read_hplt(root):
        hid = r["id"]
        if hid in seen_hplt:
            continue
        seen_hplt.add(hid)
        key = f"hplt:{hid}"
        if _num(r["unnatural"]) >= 0.5 or _num(r["porn"]) >= 1:
            rows["quality"].append(Example(r["text"], "low", key, "hplt_low"))
            rows["edu"].append(Example(r["text"], "0", key, "hplt_low"))
        elif _num(r["lang_correct"]) >= 0.5 and _num(r["unnatural"]) == 0 and r["porn"] in ("", "0"):
            natural.append(Example(r["text"], "high", key, "hplt_natural"))
    rows["quality"].extend(natural)
    natural.sort(key=lambda e: _hash(e.key))
    rows["edu"].extend(Example(e.text, "2", e.key, e.source) for e in natural[:HPLT_NATURAL_CAP])
    return rows
