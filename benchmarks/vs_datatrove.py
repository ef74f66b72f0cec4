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
* **edumix** ``pipelines.curate.run_curate``: read -> extract -> quality, dedup / PII off,
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
import gzip
import hashlib
import io
import json
import os
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

EVAL_SUBDIR = Path("extraction") / "trafilatura_eval"
REAL_WARCS = ("warc/commoncrawl_sample/warcfile.warc.gz", "warc/dolma_wget/*.warc.gz")
EVAL_SHARDS = 4
DT_TASKS = 4
MP_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers={n}"]
DT_FILTERS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
TINY_HTML = (
    b"<html><head><title>Tiny</title></head><body><article><h1>Tiny page</h1>"
    b"<p>A single short paragraph of text, long enough for trafilatura to keep it as the "
    b"main content of this page, which exists only to time fixed costs.</p></article></body></html>"
)


def shared_data() -> Path:
    return Path(os.environ.get("EDUMIX_SHARED_DATA", REPO.parent / "shared" / "data"))


# --------------------------------------------------------------------------- input


def write_response(writer, url: str, body: bytes) -> None:
    from warcio.statusandheaders import StatusAndHeaders

    http = StatusAndHeaders(
        "200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
    )
    rec = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), http_headers=http,
        warc_headers_dict={"WARC-Date": "2024-01-01T00:00:00Z", "WARC-Identified-Payload-Type": "text/html"},
    )  # fmt: skip
    writer.write_record(rec)


def build_inputs(root: Path, pages: int, dest: Path) -> dict[str, str]:
    """Eval pages as EVAL_SHARDS WARCs + symlinks to the real WARCs, all in `dest`.
    Returns {file name in dest: description}."""
    from warcio.warcwriter import WARCWriter

    dest.mkdir(parents=True)
    described: dict[str, str] = {}
    eval_dir = root / EVAL_SUBDIR
    index = eval_dir / "evaldata.json"
    if pages > 0 and index.is_file():
        data = json.loads(index.read_text())
        ranked = sorted(data, key=lambda k: hashlib.sha256(f"0:{k}".encode()).hexdigest())
        chosen: list[tuple[str, Path]] = []
        seen: set[str] = set()
        for key in ranked:
            name = data[key]["file"]
            path = eval_dir / "html" / (name if name.endswith(".gz") else name + ".gz")
            if name in seen or not path.is_file():
                continue
            seen.add(name)
            url = key if key.startswith(("http://", "https://")) else f"http://trafilatura-eval.invalid/{name}"
            chosen.append((url, path))
            if len(chosen) == pages:
                break
        n_files = min(EVAL_SHARDS, len(chosen))
        handles = [open(dest / f"eval-{i:02d}.warc.gz", "wb") for i in range(n_files)]
        try:
            writers = [WARCWriter(fh, gzip=True) for fh in handles]
            for i, (url, path) in enumerate(chosen):
                write_response(writers[i % n_files], url, gzip.decompress(path.read_bytes()))
        finally:
            for fh in handles:
                fh.close()
        for i in range(n_files):
            described[f"eval-{i:02d}.warc.gz"] = f"trafilatura eval pages ({len(chosen[i::n_files])})"
    else:
        print(f"note: {index} not found (or --pages 0): no eval pages")
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
    from edumix.config import RunConfig

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
            max_eval_chars=1_000_000_000,
            gopher_quality={"word_split": "datatrove"},
            c4_quality={"apply_line_edits": True},
        )
    data = {
        "extract": {"timeout_s": 30},
        "dedup": {k: {"enabled": False} for k in ("url", "exact", "minhash", "lines")},
        "langid": {"enabled": variant != "matched"},
        "pii": {"enabled": False},
        "filters": filters,
        "output": {"rejected_sample_per_reason": 1_000_000},
    }
    return RunConfig.model_validate(data)


def child_edumix(spec: dict) -> dict:
    t0 = time.perf_counter()
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    from pipelines.curate import run_curate

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
            favour_precision=False, deduplicate=False, timeout=30,
            include_tables=True, output_format="txt", favor_recall=False, with_metadata=False,
        ),  # fmt: skip
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
    tag = f"{spec['system']}-{spec.get('variant', 'dt')}-w{spec['workers']}-{spec['label']}"
    spec = {**spec, "result": str(log_dir / f"{tag}.json")}
    shutil.rmtree(spec["output"], ignore_errors=True)
    log_path = log_dir / f"{tag}.log"
    env = {**os.environ, "EDUMIX_PROGRESS": "0", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run(
            [sys.executable, __file__, "--_child", json.dumps(spec)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log_path.read_text()[-4000:]
        raise RuntimeError(f"{tag} failed (rc={proc.returncode}); log tail:\n{tail}")
    result = json.loads(Path(spec["result"]).read_text())
    result["wall_s"] = wall
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


def em_decisions(out: Path):
    """{record id: kept row}, {record id: (stage, reason, detail)}; rows without a record id
    (none in WARC input) are keyed by URL."""
    import pyarrow.parquet as pq

    def key(row) -> str:
        meta = dict(row["metadata"] or [])
        return meta.get("warc_record_id") or f"url:{row['url']}"

    kept = {}
    for path in sorted((out / "shards").glob("*.parquet")):
        for row in pq.read_table(path, columns=["url", "text", "metadata", "lang"]).to_pylist():
            kept[key(row)] = row
    removed = {}
    for path in sorted((out / "rejected").glob("*.parquet")):
        for row in pq.read_table(path, columns=["url", "metadata", "stage", "reason", "detail", "lang"]).to_pylist():
            removed[key(row)] = (row["stage"], row["reason"], row["detail"] or "", row["lang"])
    return kept, removed


def dt_read_set(inputs: Path) -> dict[str, dict]:
    """What datatrove's WarcReader yields, per file: {record id: {url, file}}, by calling its
    own process_record on every record."""
    from datatrove.pipeline.readers.warc import process_record
    from warcio.archiveiterator import ArchiveIterator

    out = {}
    for path in sorted(inputs.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                d = process_record(record)
                if d:
                    out[d["id"]] = {"url": d["url"], "file": path.name}
    return out


def em_read_set(inputs: Path) -> tuple[dict[str, dict], Counter]:
    """What edumix's reader yields as HTML per file, and every record's kind per file."""
    from edumix.config import ReadConfig
    from edumix.record import Drop, RawRecord
    from pipelines.formats import iter_records

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
                        "url": item.url, "file": path.name, "content_type": item.content_type,
                    }  # fmt: skip
    return html, kinds


# --------------------------------------------------------------------------- output


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()) -> None:
    widths = [max(len(h), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(str(c).rjust(w) if i > 0 else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    print(f"\n## {title}\n")
    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    for n in notes:
        print(f"  {n}")
    sys.stdout.flush()


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def short(s: str, n: int = 70) -> str:
    s = (s or "").replace("\n", " ")
    return s if len(s) <= n else s[: n - 1] + "…"


def agreement(label: str, read_ids: set[str], dt_kept, dt_removed, em_kept, em_removed, read_info, n_examples: int) -> dict:
    dk, ek = set(dt_kept) & read_ids | set(dt_kept), set(em_kept)
    both, only_dt, only_em = dk & ek, dk - ek, ek - dk
    union = dk | ek
    jac = len(both) / len(union) if union else 1.0
    same_text = sum(1 for k in both if (dt_kept[k]["text"] or "").strip() == (em_kept[k]["text"] or "").strip())

    def dt_reason(k: str) -> str:
        if k in dt_kept:
            return "kept"
        if k in dt_removed:
            return "{}:{}".format(*dt_removed[k])
        if k in read_ids:
            return "extract (empty/error)"
        return "not read (libmagic/decode)"

    def em_reason(k: str) -> str:
        if k in em_kept:
            return "kept"
        if k in em_removed:
            stage, reason, _, _ = em_removed[k]
            return reason if stage == "quality" else f"{stage}:{reason}"
        return "not read"

    rows = [
        ["kept by both", str(len(both))],
        ["kept only by datatrove", str(len(only_dt))],
        ["kept only by edumix", str(len(only_em))],
        ["kept by datatrove / by edumix", f"{len(dk)} / {len(ek)}"],
        ["Jaccard of kept sets", f"{jac:.3f}"],
        ["kept by both with identical text", f"{same_text} / {len(both)}"],
    ]
    print_table(f"Agreement: datatrove vs edumix {label}", ["", "documents"], rows)
    tally = Counter()
    for k in only_dt:
        tally[("kept only by datatrove", em_reason(k), "kept")] += 1
    for k in only_em:
        tally[("kept only by edumix", "kept", dt_reason(k))] += 1
    if tally:
        print_table(
            f"Disagreements ({label}): reason on each side",
            ["case", "edumix", "datatrove", "docs"],
            [[c, e, d, str(n)] for (c, e, d), n in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))],
        )
        examples = sorted(only_dt)[: (n_examples + 1) // 2] + sorted(only_em)[: n_examples // 2]
        if len(examples) < n_examples:
            rest = sorted((only_dt | only_em) - set(examples))
            examples += rest[: n_examples - len(examples)]
        print(f"\n  examples ({label}):")
        for k in examples[:n_examples]:
            url = (read_info.get(k) or {}).get("url") or (em_kept.get(k) or {}).get("url") or k
            detail = em_removed[k][2] if k in em_removed else ""
            lang = (em_removed.get(k) or (None, None, None, None))[3] or (em_kept.get(k) or {}).get("lang")
            print(f"  - {short(url, 90)}")
            print(f"      edumix: {em_reason(k)}{' (lang=' + lang + ')' if lang else ''}{' - ' + short(detail, 110) if detail else ''}")
            print(f"      datatrove: {dt_reason(k)}")
    return {"both": len(both), "only_dt": len(only_dt), "only_em": len(only_em), "jaccard": jac}


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=300, help="trafilatura eval pages wrapped into 4 WARCs")
    ap.add_argument("--workers", default="1,2", help="worker counts to time, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="best of N for every timed run")
    ap.add_argument("--no-defaults-config", action="store_true", help="skip edumix with its default rule settings")
    ap.add_argument("--no-startup", action="store_true", help="skip the one-page start-up runs")
    ap.add_argument("--examples", type=int, default=5, help="disagreements shown per config")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (printed)")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        return child_main(json.loads(args._child))

    t_start = time.perf_counter()
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    import datatrove
    import trafilatura
    import apache_beam

    print(f"vs_datatrove: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, datatrove {datatrove.__version__ if hasattr(datatrove, '__version__') else '?'}, "
          f"trafilatura {trafilatura.__version__}, apache-beam {apache_beam.__version__}, repeat={args.repeat}")  # fmt: skip
    print(f"load average at start (1/5/15 min): {loadavg()}")
    root = shared_data()
    tmp = Path(tempfile.mkdtemp(prefix="edumix-vs-datatrove-"))
    try:
        inputs = tmp / "inputs"
        described = build_inputs(root, args.pages, inputs)
        logs = tmp / "logs"
        logs.mkdir()

        # what each side reads, per file -----------------------------------------------
        dt_read = dt_read_set(inputs)
        em_html, em_kinds = em_read_set(inputs)
        rows = []
        for name, what in described.items():
            recs = sum(n for (f, _), n in em_kinds.items() if f == name)
            e = sum(1 for v in em_html.values() if v["file"] == name)
            d = sum(1 for v in dt_read.values() if v["file"] == name)
            rows.append([name, what, str(recs), str(e), str(d), str(e - d)])
        missing = [em_html[k] for k in set(em_html) - set(dt_read)]
        extra = [dt_read[k] for k in set(dt_read) - set(em_html)]
        notes = [
            "edumix: response/resource records whose HTTP Content-Type is text/html or xhtml "
            "(or sniffed as HTML when untyped); datatrove: WarcReader's process_record.",
        ]
        if missing:
            by_file = Counter(m["file"] for m in missing)
            notes.append(
                f"{len(missing)} HTML records edumix reads and datatrove skips without a trace "
                f"(no WARC-Identified-Payload-Type, libmagic says not text/html, or undecodable): "
                + ", ".join(f"{f}: {n}" for f, n in sorted(by_file.items()))
            )
            for m in missing[:3]:
                notes.append(f"  e.g. {short(m['url'], 80)} (HTTP Content-Type {m['content_type']})")
        if extra:
            notes.append(f"{len(extra)} records datatrove reads that edumix does not treat as HTML")
        print_table(
            "Input: records per file and HTML documents each side reads",
            ["file", "source", "records", "edumix html", "datatrove read", "diff"],
            rows + [["total", "", str(sum(n for n in em_kinds.values())), str(len(em_html)), str(len(dt_read)),
                     str(len(em_html) - len(dt_read))]],  # fmt: skip
            notes,
        )
        urls = Counter(v["url"] for v in em_html.values())
        dup_urls = sum(1 for n in urls.values() if n > 1)

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
                    spec = {"system": system, "variant": variant, "workers": w, "inputs": str(inputs),
                            "output": str(out), "label": f"r{r}"}  # fmt: skip
                    res = run_child(spec, logs)
                    res["output"] = out
                    print(f"  ran {system}{' ' + variant if variant else ''} x{w}: {res['wall_s']:.1f} s "
                          f"(imports {res['import_s']:.1f} s, load {loadavg()})")  # fmt: skip
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
                    spec = {"system": system, "variant": variant, "workers": w, "inputs": str(tiny),
                            "output": str(tmp / f"tiny-{system}-{variant or 'dt'}-w{w}"), "label": "tiny"}  # fmt: skip
                    fixed[(system, variant, w)] = run_child(spec, logs)

        rows = []
        for w in workers:
            dt = results[("datatrove", None, w)]
            dt_read_n, dt_kept_n = dt_counts(dt)
            dt_rate = dt_read_n / dt["wall_s"]
            for system, variant in variants:
                res = results[(system, variant, w)]
                read_n, kept_n = dt_counts(res) if system == "datatrove" else em_counts(res)
                rate = read_n / res["wall_s"]
                fx = fixed.get((system, variant, w))
                net = res["wall_s"] - fx["wall_s"] if fx else None
                rows.append([
                    f"{system}{' (' + variant + ')' if variant else ''}", str(w), str(read_n), str(kept_n),
                    f"{res['wall_s']:.1f}", f"{rate:.1f}", f"{rate / dt_rate:.2f}x",
                    f"{fx['wall_s']:.1f}" if fx else "-",
                    f"{read_n / net:.1f}" if net and net > 0 else "-",
                ])  # fmt: skip
        print_table(
            "Throughput (wall clock of a fresh process, start-up included)",
            ["system", "workers", "docs read", "docs kept", "seconds", "docs/s", "ratio vs datatrove",
             "start-up s", "docs/s w/o start-up"],  # fmt: skip
            rows,
            [
                "docs read = HTML documents the system's reader passes to extraction (see the input table);",
                "ratio = docs/s / datatrove's docs/s at the same worker count (>1: edumix faster).",
                f"datatrove: LocalPipelineExecutor tasks={DT_TASKS}, workers=N; edumix x1: FnApiRunner "
                "in-process, x2: multi_processing with 2 workers.",
                "start-up s = the same command on a one-page WARC (interpreter, imports, executor/Beam and "
                "worker start-up, extraction child start-up, output writing).",
            ],
        )
        if fixed:
            rows = []
            for w in workers:
                for system, variant in variants:
                    fx = fixed[(system, variant, w)]
                    rows.append([f"{system}{' (' + variant + ')' if variant else ''}", str(w), f"{fx['wall_s']:.1f}",
                                 f"{fx['import_s']:.1f}", f"{fx['run_s']:.1f}",
                                 f"{fx['wall_s'] - fx['import_s'] - fx['run_s']:.1f}"])  # fmt: skip
            print_table(
                "Start-up: one-page WARC",
                ["system", "workers", "wall s", "imports s", "run s", "interpreter + exit s"],
                rows,
            )

        # decisions ---------------------------------------------------------------------
        w0 = workers[0]
        dt_kept, dt_removed = dt_decisions(results[("datatrove", None, w0)]["output"])
        read_ids = set(dt_read)
        # the same decisions whatever the worker count
        checks = []
        for system, variant in variants:
            sets = []
            for w in workers:
                out = results[(system, variant, w)]["output"]
                sets.append(set(dt_decisions(out)[0]) if system == "datatrove" else set(em_decisions(out)[0]))
            checks.append(f"{system}{' ' + variant if variant else ''}: "
                          + ("same kept set at every worker count" if all(s == sets[0] for s in sets) else
                             "KEPT SETS DIFFER BETWEEN WORKER COUNTS: " + ", ".join(str(len(s)) for s in sets)))  # fmt: skip
        print("\nDocuments are matched by WARC-Record-ID (both keep it: datatrove's `id`, edumix's "
              f"metadata.warc_record_id); {len(urls)} distinct URLs among {len(em_html)} HTML records"
              f"{f' ({dup_urls} URLs occur more than once)' if dup_urls else ', so this is matching by URL'}.")  # fmt: skip
        for c in checks:
            print(f"  {c}")
        dt_filter_counts = Counter(v for v in dt_removed.values())
        summary = {}
        for system, variant in variants:
            if system != "edumix":
                continue
            em_kept, em_removed = em_decisions(results[(system, variant, w0)]["output"])
            summary[variant] = agreement(variant, read_ids, dt_kept, dt_removed, em_kept, em_removed,
                                         {**em_html, **dt_read}, args.examples)  # fmt: skip
            em_counts_by = Counter((s, r) for s, r, _, _ in em_removed.values())
            rows = [[f"{s}:{r}", str(n)] for (s, r), n in sorted(em_counts_by.items(), key=lambda kv: -kv[1])]
            print_table(f"edumix ({variant}) drops by stage:reason", ["reason", "docs"], rows)
        rows = [[f"{f}:{r}", str(n)] for (f, r), n in sorted(dt_filter_counts.items(), key=lambda kv: -kv[1])]
        dt_extract_lost = len(read_ids) - len(dt_kept) - len(dt_removed)
        rows.append(["extract (empty/error/timeout)", str(dt_extract_lost)])
        print_table("datatrove drops by filter:reason", ["reason", "docs"], rows)
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
