"""edumix vs datatrove: the same WARCs, the same stages, throughput and decisions in one run.

    .venv/bin/python benchmarks/vs_datatrove.py                 # defaults, ~4 min on 2 cores
    .venv/bin/python benchmarks/vs_datatrove.py --pages 100 --workers 1
    .venv/bin/python benchmarks/vs_datatrove.py --no-startup --no-defaults-config

Input (written to a temporary directory, never into the repo): ``--pages`` real pages of the
trafilatura evaluation set (``$EDUMIX_SHARED_DATA/extraction/trafilatura_eval``, default
``<repo>/../shared/data``; a fixed sample: keys ranked by sha256("0:<key>")) wrapped by
warcio as HTTP ``response`` records (``Content-Type: text/html`` and
``WARC-Identified-Payload-Type: text/html``) into 4 gzipped WARCs, plus the real crawl
samples ``warc/commoncrawl_sample/warcfile.warc.gz`` and ``warc/dolma_wget/*.warc.gz``
(symlinked). Both systems read the same directory; files are their unit of parallelism.

Systems, each run in a fresh Python process (the wall time includes interpreter start-up,
imports and, for edumix, Beam's pipeline construction and worker start-up):

* **datatrove** ``LocalPipelineExecutor``: ``WarcReader -> Trafilatura -> GopherRepetitionFilter
  -> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False) ->
  FineWebQualityFilter -> JsonlWriter`` (FineWeb's order), datatrove's defaults otherwise;
  Trafilatura with edumix's options (``favour_precision=False, deduplicate=False,
  include_tables=True, output_format="txt"``, ``timeout=30`` like edumix's ``timeout_s``);
  every filter has an ``exclusion_writer`` (a JsonlWriter per filter) so the reason of each
  removal is known. 1 worker: ``tasks=4, workers=1``; 2 workers: ``tasks=4, workers=2``.
* **edumix** ``pipelines.curate.run_curate``: read -> extract -> quality; dedup, PII, classifiers and the mix off,
  edumix's own rules (dup_ngram, dirty_words, kl) off, in two configs:
  - ``matched``: as close to datatrove as the config allows: langid off (every document is
    judged as English, as datatrove's filters are by default), ``gopher_quality.word_split:
    datatrove``, ``relax_code_math: false``, ``c4_quality.apply_line_edits: true`` (datatrove's
    C4 edits the text it keeps), ``max_eval_chars`` unbounded, ``signals: false`` (datatrove
    computes none). This is the same-decisions comparison.
  - ``defaults``: edumix's own defaults for those rule groups: langid on (non-English pages
    get their own tokenizer / stop words, checks that cannot work for a language are off),
    whitespace Gopher words, code/math relaxation, signals on.
  1 worker: Beam's in-process FnApiRunner; 2 workers: ``--direct_running_mode=multi_processing
  --direct_num_workers=2``.

Tables: throughput (``docs`` = HTML documents each system reads; docs/s = docs / wall
seconds; ``ratio`` = edumix docs/s / datatrove docs/s at the same worker count), start-up
(the same commands on a one-page WARC), the records each side reads per input file
(datatrove's WarcReader asks libmagic for the type of records without a
WARC-Identified-Payload-Type and silently skips what it does not call text/html), and the
agreement of the kept sets (documents matched by WARC-Record-ID, printed with their URL)
with the reason on each side for every disagreement. The machine is shared: the load
average is printed at start and end; use ``--repeat`` for best-of-N timings.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/vs_datatrove.py`
    sys.path.insert(0, str(REPO))

from benchmarks.common import print_table
from edumix.core.shared_data import shared_data_dir
from edumix.evaluate.pages import TINY_HTML, choose_eval_pages

REAL_WARCS = ("warc/commoncrawl_sample/warcfile.warc.gz", "warc/dolma_wget/*.warc.gz")
EVAL_SHARDS = 4
DT_TASKS = 4
MP_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers={n}"]
DT_FILTERS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


# --------------------------------------------------------------------------- input


def write_response(writer, url: str, body: bytes) -> None:
    from warcio.statusandheaders import StatusAndHeaders

    http = StatusAndHeaders(
        "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
    )
    rec = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": "2024-01-01T00:00:00Z", "WARC-Identified-Payload-Type": "text/html"},
    )
    writer.write_record(rec)


def build_inputs(root: Path, pages: int, dest: Path) -> dict[str, str]:
    """Eval pages as EVAL_SHARDS WARCs + symlinks to the real WARCs, all in `dest`.
    Returns {file name in dest: description}."""
    from warcio.warcwriter import WARCWriter

    dest.mkdir(parents=True)
    described: dict[str, str] = {}
    chosen = choose_eval_pages(root, pages)
    if chosen:
        n_files = min(EVAL_SHARDS, len(chosen))
        with contextlib.ExitStack() as stack:
            handles = [stack.enter_context(open(dest / f"eval-{i:02d}.warc.gz", "wb")) for i in range(n_files)]
            writers = [WARCWriter(fh, gzip=True) for fh in handles]
            for i, (url, path) in enumerate(chosen):
                write_response(writers[i % n_files], url, gzip.decompress(path.read_bytes()))
        for i in range(n_files):
            described[f"eval-{i:02d}.warc.gz"] = f"trafilatura eval pages ({len(chosen[i::n_files])})"
    else:
        print(f"note: no trafilatura eval pages under {root} (or --pages 0)")
    for pattern in REAL_WARCS:
        for src in sorted(root.glob(pattern)):
            name = f"real-{src.parent.name}-{src.name}"
            (dest / name).symlink_to(src)
            described[name] = str(src.relative_to(root))
    if not described:
        raise SystemExit(f"no input under {root}")
    return described


def tiny_inputs(dest: Path) -> None:
    from warcio.warcwriter import WARCWriter

    dest.mkdir(parents=True)
    with open(dest / "tiny.warc.gz", "wb") as fh:
        write_response(WARCWriter(fh, gzip=True), "http://tiny.invalid/", TINY_HTML)


# --------------------------------------------------------------------------- children


def edumix_config(variant: str):
    from edumix.core.config import RunConfig

    filters = {
        "dup_ngram": {"line_enabled": False, "doc_enabled": False},
        "dirty_words": {"enabled": False},
        "kl": {"enabled": False},
    }
    if variant == "matched":
        filters.update(
            adapt_to_language=True,  # irrelevant for "en": datatrove's stop words, no check switched off
            default_language="en",
            relax_code_math=False,
            signals=False,
            evaluate_all=False,  # stop at the first failed rule, as datatrove's pipeline does
            max_eval_chars=1_000_000_000,
            gopher_quality={"word_split": "datatrove"},
            c4_quality={"apply_line_edits": True},
        )
    data = {
        "extract": {"timeout_s": 30},
        "dedup": {k: {"enabled": False} for k in ("url", "exact", "minhash", "lines")},
        "langid": {"enabled": variant != "matched"},
        "pii": {"enabled": False},
        "classify": {"enabled": False},  # datatrove's pipeline has no classifiers or mix
        "mix": {"enabled": False},
        "filters": filters,
        "output": {"rejected_sample_per_reason": 1_000_000},
    }
    return RunConfig.model_validate(data)


def child_edumix(spec: dict) -> dict:
    t0 = time.perf_counter()
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    from edumix.pipelines.curate import run_curate

    t_import = time.perf_counter() - t0
    config = edumix_config(spec["variant"])
    beam_args = [a.format(n=spec["workers"]) for a in MP_ARGS] if spec["workers"] > 1 else []
    t1 = time.perf_counter()
    report = run_curate([str(Path(spec["inputs"]) / "*.warc.gz")], spec["output"], config, beam_args, overwrite=True)
    t_run = time.perf_counter() - t1
    if not report.get("accounting_ok"):
        raise RuntimeError(f"edumix accounting broken: {report}")
    return {"import_s": t_import, "run_s": t_run, "report": report}


def child_datatrove(spec: dict) -> dict:
    t0 = time.perf_counter()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    t_import = time.perf_counter() - t0
    out = Path(spec["output"])

    def excluded(name: str) -> JsonlWriter:
        return JsonlWriter(str(out / "excluded" / name))

    pipeline = [
        WarcReader(data_folder=spec["inputs"], glob_pattern="*.warc.gz"),
        Trafilatura(
            favour_precision=False,
            deduplicate=False,
            timeout=30,
            include_tables=True,
            output_format="txt",
            favor_recall=False,
            with_metadata=False,
        ),
        GopherRepetitionFilter(exclusion_writer=excluded("gopher_repetition")),
        GopherQualityFilter(exclusion_writer=excluded("gopher_quality")),
        C4QualityFilter(filter_no_terminal_punct=False, exclusion_writer=excluded("c4_quality")),
        FineWebQualityFilter(exclusion_writer=excluded("fineweb_quality")),
        JsonlWriter(str(out / "kept")),
    ]
    executor = LocalPipelineExecutor(
        pipeline=pipeline, tasks=DT_TASKS, workers=spec["workers"], logging_dir=str(out / "logs")
    )
    t1 = time.perf_counter()
    executor.run()
    t_run = time.perf_counter() - t1
    stats = json.loads((out / "logs" / "stats.json").read_text())
    return {"import_s": t_import, "run_s": t_run, "stats": stats}


def child_main(spec: dict) -> int:
    os.environ.setdefault("EDUMIX_PROGRESS", "0")
    fn = child_edumix if spec["system"] == "edumix" else child_datatrove
    result = fn(spec)
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


def run_child(spec: dict, log_dir: Path) -> dict:
    """Run one system in a fresh interpreter; wall seconds measured from here."""
    tag = f"{spec['system']}-{spec.get('variant') or 'dt'}-w{spec['workers']}-{spec['label']}"
    spec = {**spec, "result": str(log_dir / f"{tag}.json")}
    shutil.rmtree(spec["output"], ignore_errors=True)
    log_path = log_dir / f"{tag}.log"
    env = {**os.environ, "EDUMIX_PROGRESS": "0", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, "w") as log:
        proc = subprocess.run(
            [sys.executable, __file__, "--_child", json.dumps(spec)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child and every process it waited for
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        tail = log_path.read_text()[-4000:]
        raise RuntimeError(f"{tag} failed (rc={proc.returncode}); log tail:\n{tail}")
    result = json.loads(Path(spec["result"]).read_text())
    result["wall_s"] = wall
    result["cpu_s"] = cpu
    return result


# --------------------------------------------------------------------------- results


def dt_step(stats: list[dict], prefix: str) -> dict:
    for s in stats:
        if prefix in s["name"]:
            return s["stats"]
    return {}


def dt_counts(result: dict) -> tuple[int, int]:
    stats = result["stats"]
    read = dt_step(stats, "Warc").get("documents", {})
    kept = dt_step(stats, "Jsonl").get("total", 0)
    return (read.get("total", read) if isinstance(read, dict) else read), kept


def em_counts(result: dict) -> tuple[int, int]:
    rep = result["report"]
    read_out = next(s["out"] for s in rep["stages"] if s["stage"] == "read")
    not_html = rep["dropped"].get("extract", {}).get("not_html", 0)
    return read_out - not_html, rep["kept"]


def iter_jsonl_gz(folder: Path):
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def dt_decisions(out: Path) -> tuple[dict[str, dict], dict[str, tuple[str, str]]]:
    """{record id: kept doc}, {record id: (filter, reason)} of a datatrove run."""
    kept = {d["id"]: d for d in iter_jsonl_gz(out / "kept")}
    removed = {}
    for name in DT_FILTERS:
        for d in iter_jsonl_gz(out / "excluded" / name):
            removed[d["id"]] = (name, d["metadata"].get("filter_reason", "?"))
    return kept, removed


def em_decisions(out: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """{record id: kept row}, {record id: rejected row (with stage, reason, detail)}; rows
    without a record id (none in WARC input) are keyed by URL."""
    import pyarrow.parquet as pq

    from edumix.core.record import kv_dict

    def rows(path: Path):
        for row in pq.read_table(path).to_pylist():
            row["metadata"] = kv_dict(row["metadata"])
            row["signals"] = kv_dict(row["signals"])
            yield row["metadata"].get("warc_record_id") or f"url:{row['url']}", row

    kept = {k: r for path in sorted((out / "shards").glob("*.parquet")) for k, r in rows(path)}
    removed = {k: r for path in sorted((out / "rejected").glob("*.parquet")) for k, r in rows(path)}
    return kept, removed


def dt_read_set(inputs: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """What datatrove's WarcReader yields, per file: {record id: {url, file, html}}, by calling
    its own process_record on every record; and {record id: why} for the responses it skips."""
    import cchardet
    import magic
    from datatrove.pipeline.readers.warc import process_record
    from warcio.archiveiterator import ArchiveIterator

    out, skipped = {}, {}
    for path in sorted(inputs.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                d = process_record(record)
                if d:
                    out[d["id"]] = {"url": d["url"], "file": path.name, "html": d["text"]}
                elif record.rec_type == "response":
                    rid = record.rec_headers.get_header("WARC-Record-ID")
                    ptype = record.rec_headers.get_header("WARC-Identified-Payload-Type")
                    body = record.content_stream().read()
                    if ptype is None and (mime := magic.from_buffer(body, mime=True)) not in (
                        "text/html",
                        "application/xhtml+xml",
                    ):
                        skipped[rid] = f"no WARC-Identified-Payload-Type, libmagic: {mime}"
                    elif ptype not in (None, "text/html", "application/xhtml+xml"):
                        skipped[rid] = f"WARC-Identified-Payload-Type: {ptype}"
                    else:
                        guess = cchardet.detect(body)["encoding"]
                        skipped[rid] = f"not valid UTF-8 and cchardet's guess ({guess}) does not decode it"
    return out, skipped


def em_read_set(inputs: Path) -> tuple[dict[str, dict], Counter]:
    """What edumix's reader yields as HTML per file, and every record's kind per file."""
    from edumix.core.config import ReadConfig
    from edumix.core.record import Drop, RawRecord
    from edumix.pipelines.formats import iter_records

    html, kinds = {}, Counter()
    for path in sorted(inputs.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for item in iter_records(fh, str(path), ReadConfig()):
                if isinstance(item, Drop):
                    kinds[(path.name, f"drop:{item.reason}")] += 1
                    continue
                kinds[(path.name, item.kind)] += 1
                if isinstance(item, RawRecord) and item.kind == "html":
                    html[item.metadata.get("warc_record_id") or f"url:{item.url}"] = {
                        "url": item.url,
                        "file": path.name,
                        "content_type": item.content_type,
                        "raw": item,
                    }
    return html, kinds


# --------------------------------------------------------------------------- output


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def short(s: str, n: int = 70) -> str:
    s = (s or "").replace("\n", " ")
    return s if len(s) <= n else s[: n - 1] + "…"


def agreement(label: str, ctx: dict, em_kept: dict, em_removed: dict, n_examples: int) -> None:
    from datatrove.data import Document as DTDocument
    from datatrove.pipeline.filters import FineWebQualityFilter

    dt_kept, dt_removed, dt_read, dt_skipped = ctx["dt_kept"], ctx["dt_removed"], ctx["dt_read"], ctx["dt_skipped"]
    dk, ek = set(dt_kept), set(em_kept)
    both, only_dt, only_em = dk & ek, dk - ek, ek - dk
    union = dk | ek
    jac = len(both) / len(union) if union else 1.0
    same_text = sum(1 for k in both if (dt_kept[k]["text"] or "").strip() == (em_kept[k]["text"] or "").strip())
    fineweb = FineWebQualityFilter()

    def dt_reason(k: str) -> str:
        if k in dt_kept:
            return "kept"
        if k in dt_removed:
            return "{}:{}".format(*dt_removed[k])
        if k in dt_read:
            return "extract (empty/error)"
        return "not read"

    def em_reason(k: str) -> str:
        if k in em_kept:
            return "kept"
        if k in em_removed:
            row = em_removed[k]
            return row["reason"] if row["stage"] == "quality" else f"{row['stage']}:{row['reason']}"
        return "not read"

    def cause(k: str) -> str:
        """The most likely cause of a disagreement, checked in this order."""
        row = em_kept.get(k) or em_removed.get(k) or {}
        if k not in dt_read:
            return f"datatrove's reader skips it ({dt_skipped.get(k, '?')})"
        if row.get("lang") and row["lang"] != "en":
            return f"edumix judges it as '{row['lang']}' (per-language tokenizer/stop words, checks off)"
        if row.get("signals", {}).get("code_math_relaxed"):
            return "edumix relaxes rules for code/math"
        er, dr = em_reason(k), dt_reason(k)
        if dr == "kept" and er.startswith("fineweb_quality:"):
            verdict = fineweb.filter(DTDocument(text=row.get("text") or "", id=k))
            if verdict is not True and f"fineweb_quality:{verdict[1]}" == er:
                return "FineWeb judges C4-edited text in datatrove, the unedited text in edumix"
        if "gopher_quality:" in er + dr and ctx["word_split"].get(label) == "whitespace":
            return "Gopher counts whitespace words in edumix, spaCy tokens in datatrove"
        return "other (see examples)"

    print_table(
        f"Agreement: datatrove vs edumix {label}",
        ["", "documents"],
        [
            ["kept by both", str(len(both))],
            ["kept only by datatrove", str(len(only_dt))],
            ["kept only by edumix", str(len(only_em))],
            ["kept by datatrove / by edumix", f"{len(dk)} / {len(ek)}"],
            ["Jaccard of kept sets", f"{jac:.3f}"],
            ["kept by both with identical text", f"{same_text} / {len(both)}"],
        ],
    )
    if not (only_dt or only_em):
        return
    tally = Counter()
    for k in only_dt | only_em:
        case = "kept only by datatrove" if k in only_dt else "kept only by edumix"
        tally[(case, em_reason(k), dt_reason(k), cause(k))] += 1
    print_table(
        f"Disagreements ({label}): the reason on each side",
        ["case", "edumix", "datatrove", "likely cause", "docs"],
        [[*key, str(n)] for key, n in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))],
    )

    def url_of(k: str) -> str:
        return (ctx["urls"].get(k)) or k

    # one example per (reasons, cause) first, distinct URLs, both directions
    order = sorted(only_dt) + sorted(only_em)
    examples, seen_urls, seen_keys = [], set(), set()
    for k in order:
        key = (em_reason(k), dt_reason(k), cause(k))
        if url_of(k) not in seen_urls and key not in seen_keys:
            examples.append(k)
            seen_urls.add(url_of(k))
            seen_keys.add(key)
    for k in order:
        if url_of(k) not in seen_urls:
            examples.append(k)
            seen_urls.add(url_of(k))
    print(
        f"\n  examples ({label}; {len(only_dt | only_em)} disagreements, "
        f"{len({url_of(k) for k in only_dt | only_em})} distinct URLs):"
    )
    for k in examples[:n_examples]:
        row = em_kept.get(k) or em_removed.get(k) or {}
        detail = row.get("detail") or ""
        lang = row.get("lang")
        print(f"  - {short(url_of(k), 100)}")
        print(
            f"      edumix:    {em_reason(k)}{' (lang=' + lang + ')' if lang else ''}"
            f"{' - ' + short(detail, 110) if detail and 'none' not in detail else ''}"
        )
        print(f"      datatrove: {dt_reason(k)}")
        print(f"      cause:     {cause(k)}")


def datatrove_order_reason(row: dict) -> str:
    """An edumix rejected row's reason as datatrove's pipeline would give it: the first failed
    rule in DT_FILTERS order (edumix's ledger names the first in its own order)."""
    if row["stage"] != "quality":
        return f"{row['stage']}:{row['reason']}"
    failed = [r for r in row["metadata"].get("failed_rules", "").split(",") if r] or [row["reason"]]
    rank = {name: i for i, name in enumerate(DT_FILTERS)}
    return min(failed, key=lambda r: rank.get(r.split(":")[0], len(rank)))


def dt_step_times(stats: list[dict]) -> list[tuple[str, float, int]]:
    """(step name, seconds summed over tasks, documents in) from datatrove's stats.json."""
    out = []
    for s in stats:
        name = s["name"].split(":")[-1].strip()
        n = s["stats"].get("total", s["stats"].get("documents", {}))
        n = n.get("total", 0) if isinstance(n, dict) else n
        out.append((name, s["time_stats"]["total"], int(n)))
    return out


def profile_stages(dt_read: dict, em_html: dict, read_s: dict[str, float]) -> dict:
    """Each system's stage functions called in a loop in this process (no executor, no Beam):
    seconds per stage over the same input."""
    from datatrove.data import Document as DTDocument
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    from edumix.core.config import ExtractConfig, LangIdConfig
    from edumix.core.record import Document
    from edumix.filters.extract import Extractor
    from edumix.filters.heuristics import QualityRules
    from edumix.filters.langid import LanguageIdentifier

    warm_html = TINY_HTML.decode()
    warm_text = ("This is a warm-up sentence, with the usual words in it. " * 12 + "\n") * 6
    prof: dict[str, dict[str, float]] = {"read": dict(read_s)}

    ex = Trafilatura(
        favour_precision=False,
        deduplicate=False,
        timeout=30,
        include_tables=True,
        output_format="txt",
        favor_recall=False,
        with_metadata=False,
    )
    ex.extract(warm_html)
    t = time.perf_counter()
    dt_texts = {}
    for k, v in dt_read.items():
        try:
            dt_texts[k] = ex.extract(v["html"]) or ""
        except Exception:  # noqa: BLE001 - as datatrove: counted, skipped
            dt_texts[k] = ""
    prof["extract"] = {"datatrove": time.perf_counter() - t}

    extractor = Extractor(ExtractConfig(timeout_s=0))
    t = time.perf_counter()
    em_docs = [d for d in (extractor(v["raw"]) for v in em_html.values()) if isinstance(d, Document)]
    prof["extract"]["edumix"] = time.perf_counter() - t

    lid = LanguageIdentifier(LangIdConfig())
    lid(Document.from_raw(next(iter(em_html.values()))["raw"], warm_text))
    t = time.perf_counter()
    tagged = [lid(d) for d in em_docs]
    prof["langid"] = {"edumix defaults": time.perf_counter() - t}

    chain = [
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
    ]
    for f in chain:
        f.filter(DTDocument(text=warm_text, id="warm"))
    t = time.perf_counter()
    evaluations = 0
    for k, text in dt_texts.items():
        if not text:
            continue
        doc = DTDocument(text=text, id=k)
        for f in chain:
            evaluations += 1
            if f.filter(doc) is not True:
                break
    prof["quality"] = {"datatrove": time.perf_counter() - t}
    prof["filter calls"] = {"datatrove": evaluations}
    for variant, docs in (("matched", em_docs), ("defaults", tagged)):
        rules = QualityRules(edumix_config(variant).filters)
        rules(Document.from_raw(next(iter(em_html.values()))["raw"], warm_text))
        t = time.perf_counter()
        for d in docs:
            rules(d)
        prof["quality"][f"edumix {variant}"] = time.perf_counter() - t
        prof["filter calls"][f"edumix {variant}"] = 4 * len(docs)
    # what matched's C4 line edits cost (C4 runs a second time on every document C4 passes)
    cfg = edumix_config("matched").filters
    rules = QualityRules(
        cfg.model_copy(update={"c4_quality": cfg.c4_quality.model_copy(update={"apply_line_edits": False})})
    )
    rules(Document.from_raw(next(iter(em_html.values()))["raw"], warm_text))
    t = time.perf_counter()
    for d in em_docs:
        rules(d)
    prof["quality, C4 line edits off"] = {"edumix matched": time.perf_counter() - t}
    return prof


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=300, help="trafilatura eval pages wrapped into 4 WARCs")
    ap.add_argument("--workers", default="1,2", help="worker counts to time, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="best of N for every timed run")
    ap.add_argument("--no-defaults-config", action="store_true", help="skip edumix with its default rule settings")
    ap.add_argument("--no-startup", action="store_true", help="skip the one-page start-up runs")
    ap.add_argument("--no-profile", action="store_true", help="skip the in-process stage profile")
    ap.add_argument("--examples", type=int, default=5, help="disagreements shown per config")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (printed)")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        return child_main(json.loads(args._child))

    t_start = time.perf_counter()
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    from importlib.metadata import version

    print(
        f"vs_datatrove: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, datatrove {version('datatrove')}, "
        f"trafilatura {version('trafilatura')}, apache-beam {version('apache-beam')}, repeat={args.repeat}"
    )
    print(f"load average at start (1/5/15 min): {loadavg()}")
    sys.stdout.flush()
    root = shared_data_dir()
    tmp = Path(tempfile.mkdtemp(prefix="edumix-vs-datatrove-"))
    try:
        inputs = tmp / "inputs"
        described = build_inputs(root, args.pages, inputs)
        logs = tmp / "logs"
        logs.mkdir()

        # what each side reads, per file -----------------------------------------------
        t = time.perf_counter()
        dt_read, dt_skipped = dt_read_set(inputs)
        read_s = {"datatrove": time.perf_counter() - t}
        t = time.perf_counter()
        em_html, em_kinds = em_read_set(inputs)
        read_s["edumix"] = time.perf_counter() - t
        rows = []
        for name, what in described.items():
            recs = sum(n for (f, _), n in em_kinds.items() if f == name)
            e = sum(1 for v in em_html.values() if v["file"] == name)
            d = sum(1 for v in dt_read.values() if v["file"] == name)
            rows.append([name, what, str(recs), str(e), str(d), str(e - d)])
        missing = sorted(set(em_html) - set(dt_read))
        extra = sorted(set(dt_read) - set(em_html))
        notes = [
            (
                "records: every WARC record (warcinfo/request/metadata included); edumix html: response/resource "
                "records with an HTML Content-Type (or untyped and sniffed as HTML); datatrove read: what "
                "WarcReader's process_record returns."
            ),
        ]
        if missing:
            notes.append(
                f"{len(missing)} HTML record(s) edumix reads and datatrove's WarcReader drops without a trace:"
            )
            for k in missing:
                notes.append(f"  {em_html[k]['file']}: {short(em_html[k]['url'], 70)}: {dt_skipped.get(k, '?')}")
        if extra:
            notes.append(f"{len(extra)} record(s) datatrove reads that edumix does not treat as HTML")
        print_table(
            "Input: records per file and HTML documents each side reads",
            ["file", "source", "records", "edumix html", "datatrove read", "diff"],
            rows
            + [
                [
                    "total",
                    "",
                    str(sum(em_kinds.values())),
                    str(len(em_html)),
                    str(len(dt_read)),
                    str(len(em_html) - len(dt_read)),
                ]
            ],
            notes,
        )
        urls = {k: v["url"] for k, v in {**dt_read, **em_html}.items()}
        url_counts = Counter(v["url"] for v in em_html.values())
        dup_urls = {u: n for u, n in url_counts.items() if n > 1}

        # timed runs --------------------------------------------------------------------
        variants = [("datatrove", None), ("edumix", "matched")]
        if not args.no_defaults_config:
            variants.append(("edumix", "defaults"))
        results: dict[tuple, dict] = {}
        for w in workers:
            for system, variant in variants:
                best = None
                for r in range(max(1, args.repeat)):
                    out = tmp / f"out-{system}-{variant or 'dt'}-w{w}"
                    spec = {
                        "system": system,
                        "variant": variant,
                        "workers": w,
                        "inputs": str(inputs),
                        "output": str(out),
                        "label": f"r{r}",
                    }
                    res = run_child(spec, logs)
                    res["output"] = out
                    print(
                        f"  ran {system}{' ' + variant if variant else ''} x{w}: {res['wall_s']:.1f} s "
                        f"(load average now {loadavg()})"
                    )
                    sys.stdout.flush()
                    if best is None or res["wall_s"] < best["wall_s"]:
                        best = res
                results[(system, variant, w)] = best

        fixed: dict[tuple, dict] = {}
        if not args.no_startup:
            tiny = tmp / "tiny"
            tiny_inputs(tiny)
            for w in workers:
                for system, variant in variants:
                    spec = {
                        "system": system,
                        "variant": variant,
                        "workers": w,
                        "inputs": str(tiny),
                        "output": str(tmp / f"tiny-{system}-{variant or 'dt'}-w{w}"),
                        "label": "tiny",
                    }
                    fixed[(system, variant, w)] = run_child(spec, logs)

        rows = []
        for w in workers:
            dt = results[("datatrove", None, w)]
            dt_rate = dt_counts(dt)[0] / dt["wall_s"]
            dt_cpu_rate = dt_counts(dt)[0] / dt["cpu_s"]
            for system, variant in variants:
                res = results[(system, variant, w)]
                read_n, kept_n = dt_counts(res) if system == "datatrove" else em_counts(res)
                rate = read_n / res["wall_s"]
                fx = fixed.get((system, variant, w))
                net = res["wall_s"] - fx["wall_s"] if fx else None
                rows.append(
                    [
                        f"{system}{' (' + variant + ')' if variant else ''}",
                        str(w),
                        str(read_n),
                        str(kept_n),
                        f"{res['wall_s']:.1f}",
                        f"{rate:.1f}",
                        f"{rate / dt_rate:.2f}x",
                        f"{fx['wall_s']:.1f}" if fx else "-",
                        f"{read_n / net:.1f}" if net and net > 0 else "-",
                        *(
                            (
                                f"{res['cpu_s']:.1f}",
                                f"{read_n / res['cpu_s']:.1f}",
                                f"{read_n / res['cpu_s'] / dt_cpu_rate:.2f}x",
                            )
                            if w == 1
                            else ("-", "-", "-")
                        ),
                    ]
                )
        print_table(
            "Throughput (wall clock of a fresh process per run, start-up included)",
            [
                "system",
                "workers",
                "docs read",
                "docs kept",
                "seconds",
                "docs/s",
                "ratio vs datatrove",
                "start-up s",
                "docs/s w/o start-up",
                "CPU s",
                "docs/CPU s",
                "CPU ratio",
            ],
            rows,
            [
                "docs read = HTML documents the system's reader passes to extraction (input table above);",
                "ratio = docs/s / datatrove's docs/s at the same worker count (>1: edumix faster).",
                (
                    f"datatrove: LocalPipelineExecutor tasks={DT_TASKS}, workers=N; edumix x1: FnApiRunner "
                    "in-process, x2: --direct_running_mode=multi_processing --direct_num_workers=2."
                ),
                (
                    "start-up s = the same command on a one-page WARC (table below); docs/s w/o start-up = "
                    "docs / (seconds - start-up s)."
                ),
                (
                    "CPU s = user + system seconds of the run's process tree (extraction children included): "
                    "docs/CPU s is throughput per unit of compute, and its ratio compares the two systems at equal "
                    "CPU (edumix x1 overlaps extraction in its child with the stages after it, so it can use more "
                    "than one core). Shown for 1 worker only: with 2, datatrove's pool workers are not reaped "
                    "into the counter (it reads ~1 s), so the figure would be wrong."
                ),
            ],
        )
        if fixed:
            rows = []
            for w in workers:
                for system, variant in variants:
                    fx = fixed[(system, variant, w)]
                    rows.append(
                        [
                            f"{system}{' (' + variant + ')' if variant else ''}",
                            str(w),
                            f"{fx['wall_s']:.1f}",
                            f"{fx['import_s']:.1f}",
                            f"{fx['run_s']:.1f}",
                            f"{fx['wall_s'] - fx['import_s'] - fx['run_s']:.1f}",
                        ]
                    )
            print_table(
                "Start-up: the same command on a one-page WARC",
                ["system", "workers", "wall s", "imports s", "run s", "interpreter + exit s"],
                rows,
                [
                    "imports: the system's modules (datatrove's pipeline steps; edumix: pipelines.curate, i.e. Beam);",
                    (
                        "run: executor.run() / run_curate() (Beam: graph, runner, worker processes, extraction child, "
                        "shards + ledger + report + manifest; datatrove: task loop or process pool, extraction child)."
                    ),
                ],
            )

        # where the time goes ----------------------------------------------------------
        w0 = workers[0]
        dt_res = results[("datatrove", None, w0)]
        rows = [
            [name, f"{sec:.2f}", str(n), f"{1e3 * sec / n:.1f}" if n else "-"]
            for name, sec, n in dt_step_times(dt_res["stats"])
        ]
        print_table(
            f"datatrove's own step timings (stats.json of the x{w0} run; seconds summed over tasks)",
            ["step", "seconds", "docs in", "ms/doc"],
            rows,
            [
                (
                    "Extraction runs in a child process (ExtractorSandbox), so its time includes the pipe round trip; "
                    "a filter sees only what the steps before it kept."
                )
            ],
        )
        if not args.no_profile:
            prof = profile_stages(dt_read, em_html, read_s)
            cols = ["datatrove"] + [f"edumix {v}" for s_, v in variants if s_ == "edumix"]

            def cell(stage: str, col: str) -> str:
                d = prof.get(stage, {})
                v = d.get(col, d.get(col.split()[0]))
                return "-" if v is None else (str(v) if isinstance(v, int) else f"{v:.2f}")

            rows = [[stage, *(cell(stage, c) for c in cols)] for stage in ("read", "extract", "langid", "quality")]
            rows.append(
                [
                    "  (quality, C4 line edits off)",
                    *(cell("quality, C4 line edits off", c) if c == "edumix matched" else "-" for c in cols),
                ]
            )
            sums = []
            for c in cols:
                sums.append(
                    sum(float(cell(st, c)) for st in ("read", "extract", "langid", "quality") if cell(st, c) != "-")
                )
            rows.append(["sum of stages", *(f"{x:.2f}" for x in sums)])
            for i, c in enumerate(cols):
                system, variant = ("datatrove", None) if c == "datatrove" else ("edumix", c.split()[1])
                res, fx = results[(system, variant, w0)], fixed.get((system, variant, w0))
                if i == 0:
                    run_row, net_row, over_row = (
                        [f"x{w0} run, seconds"],
                        [f"x{w0} run minus start-up"],
                        ["executor overhead (net - sum)"],
                    )
                run_row.append(f"{res['wall_s']:.2f}")
                net = res["wall_s"] - fx["wall_s"] if fx else None
                net_row.append(f"{net:.2f}" if net is not None else "-")
                over_row.append(f"{net - sums[i]:.2f}" if net is not None else "-")
            rows += [run_row, net_row, over_row, ["filter calls", *(cell("filter calls", c) for c in cols)]]
            print_table(
                "Where the time goes: each system's stage functions in a loop, one process, seconds",
                ["stage", *cols],
                rows,
                [
                    (
                        "read: datatrove's process_record / edumix's iter_records over every record; extract: "
                        "datatrove's Trafilatura.extract(str) / edumix's Extractor(timeout_s=0) (charset decoding + "
                        "trafilatura), both in-process; quality: datatrove's 4 filters chained (a document leaves "
                        "at the first filter that drops it; C4 edits the text FineWeb then sees) / edumix's "
                        "QualityRules (all 4 filters on every document, every failed rule recorded)."
                    ),
                    (
                        "filter calls = datatrove filter.filter() calls made (edumix: 4 per extracted document, plus "
                        "a second C4 call for its line edits (matched: c4_quality.apply_line_edits) on every document "
                        "C4 passes, dropped or not; the row in brackets is matched without those edits)."
                    ),
                ],
            )

        # decisions ---------------------------------------------------------------------
        dt_kept, dt_removed = dt_decisions(dt_res["output"])
        print(
            "\nDocuments are matched by WARC-Record-ID (datatrove's `id`, edumix's metadata.warc_record_id); "
            f"{len(url_counts)} distinct URLs among {len(em_html)} HTML records"
            + (
                f" ({', '.join(f'{u} x{n}' for u, n in dup_urls.items())}: the same URL crawled more than once, "
                "so the record id is the key)."
                if dup_urls
                else ": matching by URL is the same."
            )
        )
        for system, variant in variants:
            sets = []
            for w in workers:
                out = results[(system, variant, w)]["output"]
                sets.append(set(dt_decisions(out)[0]) if system == "datatrove" else set(em_decisions(out)[0]))
            same = all(x == sets[0] for x in sets)
            print(
                f"  {system}{' ' + variant if variant else ''}: "
                + (
                    "the same kept set at every worker count"
                    if same
                    else "KEPT SETS DIFFER BETWEEN WORKER COUNTS: " + ", ".join(str(len(x)) for x in sets)
                )
            )
        ctx = {
            "dt_kept": dt_kept,
            "dt_removed": dt_removed,
            "dt_read": dt_read,
            "dt_skipped": dt_skipped,
            "urls": urls,
            "word_split": {"matched": "datatrove", "defaults": "whitespace"},
        }
        em_tallies = {}
        for system, variant in variants:
            if system == "edumix":
                em_kept, em_removed = em_decisions(results[(system, variant, w0)]["output"])
                agreement(variant, ctx, em_kept, em_removed, args.examples)
                em_tallies[variant] = Counter(datatrove_order_reason(r) for r in em_removed.values())
        reasons = Counter("{}:{}".format(*v) for v in dt_removed.values())
        reasons["extract:empty/error (datatrove)"] = len(dt_read) - len(dt_kept) - len(dt_removed)
        for tally in em_tallies.values():
            for reason in tally:
                reasons.setdefault(reason.removeprefix("quality:"), 0)
        order = sorted(reasons, key=lambda r: (-reasons[r], r))
        rows = []
        for r in order:
            rows.append([r, str(reasons[r])] + [str(t.get(r, t.get("quality:" + r, 0))) for t in em_tallies.values()])
        print_table(
            "Drops by reason (datatrove: the filter that removed it, exclusion_writer; edumix: rejected/*.parquet)",
            ["reason", "datatrove", *(f"edumix {v}" for v in em_tallies)],
            rows,
            [
                (
                    "edumix's read:non_response are the WARC request/metadata/warcinfo records (datatrove skips them "
                    "silently). edumix runs all 4 filters and lists every failed rule (metadata.failed_rules); its "
                    "ledger reason is the first in edumix's order (gopher_quality, gopher_repetition, then c4 before "
                    "fineweb when C4's line edits are kept, as in matched, else fineweb before c4), so this table "
                    "shows, like datatrove, the first failed rule in datatrove's pipeline order."
                )
            ],
        )
    finally:
        if args.keep_tmp:
            print(f"\n(temporary directory kept: {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at end (1/5/15 min): {loadavg()}")
    print(f"total benchmark wall time: {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
