"""Throughput of `edumix curate`, stage by stage and end to end, in documents per second.

    .venv/bin/python benchmarks/curate_throughput.py                  # defaults, ~1.5 min on 2 cores
    .venv/bin/python benchmarks/curate_throughput.py --skip-beam      # stage tables only
    .venv/bin/python benchmarks/curate_throughput.py --pages 1000 --eval-pages 500 --repeat 3

Workloads (all written to a temporary directory, never into the repo):

* ``real``  - the real crawl samples in ``$EDUMIX_SHARED_DATA/warc`` (default
  ``<repo>/../shared/data``): commoncrawl_sample/warcfile.warc.gz, dolma_wget/*.warc.gz and
  whirlwind_cc2024/whirlwind.warc.gz (4 files, 54 HTML responses);
* ``eval``  - ``--eval-pages`` real pages from the trafilatura evaluation set
  (``extraction/trafilatura_eval/html/*.gz``, a fixed sample: keys ranked by
  sha256("0:<key>")), wrapped as HTTP responses into 4 gzipped WARC files with warcio;
* ``demo``  - ``edumix.demo.write_demo_crawl(pages=--pages, seed=0)``, one gzipped WARC
  (skipped, with a note, when the demo generator is not importable).

Tables, each with a baseline measured in the same run, and ``ratio = docs/s of the row /
docs/s of the baseline`` (above 1 is faster than the baseline):

1. Read: records/s and HTML docs/s of ``pipelines.formats.iter_records`` (warcio, what
   edumix uses) against **fastwarc** (the baseline: every record iterated, the HTTP
   payload of each response read). Files are read from memory, so this is parsing only.
2. Extract: HTML docs/s over the workload's HTML records of ``filters.extract.Extractor``
   in-process (``timeout_s=0``) and in its isolated child process (``timeout_s=30``, the
   default config), against **bare** ``trafilatura.extract(html_bytes)`` with the same
   options (the baseline; no charset detection, no Document). The isolated/in-process
   ratio is the price of the per-page time budget.
3. Pipeline: input HTML docs per wall second of ``pipelines.curate.run_curate`` on the
   in-process FnApiRunner and on ``--direct_running_mode=multi_processing`` with 2
   workers, against the **sum of the bare stage functions** measured above (warcio read +
   in-process extract) as the baseline: the ratio is what Beam (and the config) costs
   over calling the stage functions in a loop. Beam's start-up is a fixed cost per run,
   measured on a one-page WARC and reported in its own table; the "net" columns subtract
   it.

Every time is the best of ``--repeat`` runs (the fixed cost of 3a: of at least 2) (time.perf_counter, wall clock). Read
timings loop over the workload until at least 0.25 s have passed and report one pass.
Nothing here is a pass/fail threshold: compare rows of one run, on one machine.
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow `python benchmarks/curate_throughput.py`
    sys.path.insert(0, str(REPO))

os.environ.setdefault("EDUMIX_PROGRESS", "0")  # no progress bars between the tables

import trafilatura
from fastwarc.warc import ArchiveIterator as FastArchiveIterator
from fastwarc.warc import WarcRecordType
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from benchmarks.common import fastest, print_table, ratio
from edumix.core.config import ExtractConfig, ReadConfig, RunConfig
from edumix.core.record import Document, RawRecord
from edumix.core.shared_data import shared_data_dir
from edumix.evaluate.pages import EVAL_SUBDIR, TINY_HTML, choose_eval_pages
from edumix.filters.extract import Extractor, trafilatura_options
from edumix.pipelines.formats import iter_records

REAL_WARCS = (
    "warc/commoncrawl_sample/warcfile.warc.gz",
    "warc/dolma_wget/*.warc.gz",
    "warc/whirlwind_cc2024/whirlwind.warc.gz",
)
EVAL_SHARDS = 4  # several files, so multi_processing has files to spread over workers
MIN_READ_SECONDS = 0.25
MP_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


# --------------------------------------------------------------------------- workloads


@dataclass
class Workload:
    name: str
    files: list[Path]
    note: str = ""
    blobs: list[bytes] = field(default_factory=list, repr=False)
    html: list[RawRecord] = field(default_factory=list, repr=False)
    records: int = 0

    def load(self) -> Workload:
        self.blobs = [p.read_bytes() for p in self.files]
        cfg = ReadConfig()
        for path, blob in zip(self.files, self.blobs, strict=True):
            for item in iter_records(io.BytesIO(blob), str(path), cfg):
                self.records += 1
                if isinstance(item, RawRecord) and item.kind == "html":
                    self.html.append(item)
        return self


def real_workload(root: Path) -> Workload | None:
    files: list[Path] = []
    for pattern in REAL_WARCS:
        files.extend(sorted(root.glob(pattern)))
    if not files:
        print(f"note: no real WARCs under {root}/warc; skipping workload 'real'")
        return None
    return Workload("real", files, note=f"{len(files)} files")


def write_warc_response(writer: WARCWriter, url: str, body: bytes, content_type: str = "text/html") -> None:
    http = StatusAndHeaders(
        "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
    )
    rec = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": "2024-01-01T00:00:00Z"},
    )
    writer.write_record(rec)


def eval_workload(root: Path, pages: int, tmp: Path) -> Workload | None:
    """A fixed sample of the trafilatura eval pages, as HTTP responses in EVAL_SHARDS WARCs."""
    chosen = choose_eval_pages(root, pages)
    if not chosen:
        print(f"note: {root / EVAL_SUBDIR} not found (or --eval-pages 0); skipping workload 'eval'")
        return None
    files = [tmp / f"eval-{i:02d}.warc.gz" for i in range(min(EVAL_SHARDS, len(chosen)))]
    handles = [open(f, "wb") for f in files]
    try:
        writers = [WARCWriter(fh, gzip=True) for fh in handles]
        for i, (url, path) in enumerate(chosen):
            write_warc_response(writers[i % len(writers)], url, gzip.decompress(path.read_bytes()))
    finally:
        for fh in handles:
            fh.close()
    return Workload("eval", files, note=f"{len(chosen)} pages in {len(files)} files")


def demo_workload(pages: int, tmp: Path) -> Workload | None:
    try:
        from edumix.demo import write_demo_crawl
    except ImportError:
        try:
            from edumix.demo.crawl import write_demo_crawl
        except ImportError as e:
            print(f"note: demo generator not available ({e}); skipping workload 'demo'")
            return None
    path = tmp / "demo.warc.gz"
    stats = write_demo_crawl(path, pages=pages, seed=0)
    return Workload("demo", [path], note=f"1 file, {stats.html_responses} HTML responses")


def tiny_warc(tmp: Path) -> Path:
    path = tmp / "tiny.warc.gz"
    with open(path, "wb") as fh:
        write_warc_response(WARCWriter(fh, gzip=True), "http://tiny.invalid/", TINY_HTML)
    return path


# --------------------------------------------------------------------------- timing


def timed_passes(one_pass: Callable[[], tuple[int, int]]) -> tuple[float, int, int]:
    """Repeat one pass until MIN_READ_SECONDS have passed: (seconds per pass, records, html)."""
    passes, start = 0, time.perf_counter()
    while True:
        records, html = one_pass()
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_READ_SECONDS:
            return elapsed / passes, records, html


def read_fastwarc(w: Workload) -> tuple[int, int]:
    records = html = 0
    for blob in w.blobs:
        for rec in FastArchiveIterator(io.BytesIO(blob), record_types=WarcRecordType.any_type, parse_http=True):
            records += 1
            if rec.record_type == WarcRecordType.response:
                rec.reader.read()
                html += "html" in (rec.http_content_type or "").lower()
    return records, html


def read_warcio(w: Workload) -> tuple[int, int]:
    records = html = 0
    cfg = ReadConfig()
    for path, blob in zip(w.files, w.blobs, strict=True):
        for item in iter_records(io.BytesIO(blob), str(path), cfg):
            records += 1
            html += isinstance(item, RawRecord) and item.kind == "html"
    return records, html


def bare_trafilatura(cfg: ExtractConfig) -> Callable[[RawRecord], bool]:
    def extract(raw: RawRecord) -> bool:
        try:
            text = trafilatura.extract(raw.body, url=raw.url, **trafilatura_options(cfg))
        except Exception:  # noqa: BLE001 - counted as not kept, like Extractor's extract_error
            return False
        return bool(text and text.strip())

    return extract


def wrap_extractor(ex: Extractor) -> Callable[[RawRecord], bool]:
    return lambda raw: isinstance(ex(raw), Document)


def time_extract(fn: Callable[[RawRecord], bool], docs: Sequence[RawRecord]) -> tuple[float, int]:
    start = time.perf_counter()
    kept = sum(fn(raw) for raw in docs)
    return time.perf_counter() - start, kept


def tiny_record() -> RawRecord:
    path = "tiny.warc.gz"
    buf = io.BytesIO()
    write_warc_response(WARCWriter(buf, gzip=True), "http://tiny.invalid/", TINY_HTML)
    return next(r for r in iter_records(io.BytesIO(buf.getvalue()), path, ReadConfig()) if isinstance(r, RawRecord))


def time_curate(inputs: list[Path], out: Path, config: RunConfig, beam_args: list[str]) -> tuple[float, dict]:
    from edumix.pipelines.curate import run_curate

    start = time.perf_counter()
    report = run_curate([str(p) for p in inputs], str(out), config, beam_args, overwrite=True)
    seconds = time.perf_counter() - start
    if not report.get("accounting_ok"):
        raise RuntimeError(f"curate run into {out}: accounting broken: {report}")
    return seconds, report


# --------------------------------------------------------------------------- output


def fmt_s(x: float) -> str:
    return f"{x:.4f}" if x < 1 else f"{x:.2f}"


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=300, help="demo crawl size (HTML pages; 0 skips it)")
    ap.add_argument("--eval-pages", type=int, default=200, help="trafilatura eval pages to wrap into WARCs")
    ap.add_argument("--repeat", type=int, default=1, help="best of N for every timing")
    ap.add_argument("--skip-beam", action="store_true", help="skip the pipeline rows (run_curate)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # multi_processing workers each log a harmless "No semi_persistent_directory" warning.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    t_start = time.perf_counter()

    root = shared_data_dir()
    tmp = Path(tempfile.mkdtemp(prefix="edumix-bench-"))
    try:
        candidates = [
            real_workload(root),
            eval_workload(root, args.eval_pages, tmp),
            demo_workload(args.pages, tmp) if args.pages > 0 else None,
        ]
        workloads = [w.load() for w in candidates if w is not None]
        print(
            f"curate_throughput: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, "
            f"trafilatura {trafilatura.__version__}, repeat={args.repeat}"
        )
        for w in workloads:
            size = sum(len(b) for b in w.blobs)
            print(f"  workload {w.name}: {w.note}; {w.records} records, {len(w.html)} HTML docs, {size / 1e6:.2f} MB")

        # 1. read -------------------------------------------------------------------
        rows, read_s = [], {}
        for w in workloads:
            base = fastest(args.repeat, lambda w=w: timed_passes(lambda: read_fastwarc(w)))
            mine = fastest(args.repeat, lambda w=w: timed_passes(lambda: read_warcio(w)))
            read_s[w.name] = mine[0]
            base_rate = rate(base[2], base[0])
            for label, (s, recs, html) in (("fastwarc (baseline)", base), ("warcio iter_records", mine)):
                rows.append(
                    [
                        w.name,
                        label,
                        str(recs),
                        str(html),
                        fmt_s(s),
                        fmt_rate(rate(recs, s)),
                        fmt_rate(rate(html, s)),
                        f"{1e3 * s / recs:.3f}",
                        ratio(rate(html, s), base_rate),
                    ]
                )
        print_table(
            "1. Read stage (in memory, parsing only)",
            [
                "workload",
                "variant",
                "records",
                "html docs",
                "seconds",
                "records/s",
                "docs/s",
                "ms/record",
                "ratio vs baseline",
            ],
            rows,
            ["fastwarc counts HTML by HTTP Content-Type; iter_records also sniffs, digests and builds RawRecords."],
            left=2,
            merge_repeats=True,  # workload and variant left-aligned, each workload named once
        )

        # 2. extract ----------------------------------------------------------------
        cfg0, cfg30 = ExtractConfig(timeout_s=0), ExtractConfig(timeout_s=30)
        tiny = tiny_record()
        bare = bare_trafilatura(cfg0)
        inproc = Extractor(cfg0)
        first_call = {}
        start = time.perf_counter()
        bare(tiny)
        first_call["bare trafilatura, first call"] = time.perf_counter() - start
        start = time.perf_counter()
        inproc(tiny)
        first_call["Extractor in-process, first call"] = time.perf_counter() - start
        isolated = Extractor(cfg30)
        start = time.perf_counter()
        isolated(tiny)  # starts the child (python -m filters.isolated; imports trafilatura)
        first_call["Extractor isolated, child start + first call"] = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(20):
            isolated(tiny)
        isolated_tiny = (time.perf_counter() - start) / 20
        start = time.perf_counter()
        for _ in range(20):
            inproc(tiny)
        inproc_tiny = (time.perf_counter() - start) / 20

        rows, extract_s = [], {}
        variants = [
            ("trafilatura.extract(bytes) (baseline)", bare),
            ("Extractor in-process (timeout_s=0)", wrap_extractor(inproc)),
            ("Extractor isolated child (timeout_s=30)", wrap_extractor(isolated)),
        ]
        try:
            for w in workloads:
                results = [fastest(args.repeat, lambda fn=fn, w=w: time_extract(fn, w.html)) for _, fn in variants]
                extract_s[w.name] = results[1][0]
                base_rate = rate(len(w.html), results[0][0])
                for (label, _), (s, kept) in zip(variants, results, strict=True):
                    n = len(w.html)
                    rows.append(
                        [
                            w.name,
                            label,
                            str(n),
                            str(kept),
                            fmt_s(s),
                            fmt_rate(rate(n, s)),
                            f"{1e3 * s / max(n, 1):.2f}",
                            ratio(rate(n, s), base_rate),
                        ]
                    )
        finally:
            isolated.close()
        print_table(
            "2. Extract stage (HTML records already read; one process unless noted)",
            ["workload", "variant", "docs", "kept", "seconds", "docs/s", "ms/doc", "ratio vs baseline"],
            rows,
            [
                "Fixed costs, not in the rows above: "
                + "; ".join(f"{k} {1e3 * v:.0f} ms" for k, v in first_call.items())
                + ".",
                f"One tiny page, warm: in-process {1e3 * inproc_tiny:.2f} ms, isolated child "
                f"{1e3 * isolated_tiny:.2f} ms (the difference is the pickle + pipe round trip).",
            ],
            left=2,
            merge_repeats=True,
        )

        # 3. pipeline ---------------------------------------------------------------
        if args.skip_beam:
            print("\n(--skip-beam: pipeline tables skipped)")
        else:
            run_variants = [
                ("beam in-process, timeout_s=0", RunConfig(extract=cfg0), []),
                ("beam in-process, default cfg", RunConfig(), []),
                ("beam multi_processing x2, default cfg", RunConfig(), MP_ARGS),
            ]
            tiny_path = tiny_warc(tmp)
            fixed, rows = {}, []
            for i, (label, config, beam_args) in enumerate(run_variants):
                s, _ = fastest(
                    max(2, args.repeat),
                    lambda c=config, a=beam_args, i=i: time_curate([tiny_path], tmp / f"out-tiny-{i}", c, a),
                )
                fixed[label] = s
                rows.append([label, fmt_s(s)])
            print_table(
                "3a. Beam fixed cost per run (one 1-page WARC, run_curate end to end)",
                ["variant", "seconds"],
                rows,
                [
                    f"Best of {max(2, args.repeat)}. Pipeline construction, runner and worker start-up "
                    "(and the extraction child's, with the default config), shard/report/manifest writing."
                ],
                left=2,
                merge_repeats=True,
            )
            rows = []
            for w in workloads:
                n = len(w.html)
                base_s = read_s[w.name] + extract_s[w.name]
                base_rate = rate(n, base_s)
                rows.append(
                    [
                        w.name,
                        "read+extract functions (baseline)",
                        str(n),
                        str(len(w.files)),
                        "",
                        fmt_s(base_s),
                        fmt_rate(base_rate),
                        "1.00x",
                        fmt_s(base_s),
                        fmt_rate(base_rate),
                        "1.00x",
                    ]
                )
                for i, (label, config, beam_args) in enumerate(run_variants):
                    out = tmp / f"out-{w.name}-{i}"
                    s, report = fastest(
                        args.repeat, lambda c=config, a=beam_args, o=out, f=w.files: time_curate(f, o, c, a)
                    )
                    shutil.rmtree(out, ignore_errors=True)
                    net = s - fixed[label]
                    net_cells = (
                        [fmt_s(net), fmt_rate(rate(n, net)), ratio(rate(n, net), base_rate)]
                        if net > 0.05 * s
                        else ["(~fixed)", "n/a", "n/a"]  # within the fixed cost's noise
                    )
                    rows.append(
                        [
                            w.name,
                            label,
                            str(n),
                            str(len(w.files)),
                            str(report["kept"]),
                            fmt_s(s),
                            fmt_rate(rate(n, s)),
                            ratio(rate(n, s), base_rate),
                            *net_cells,
                        ]
                    )
            print_table(
                "3b. Whole pipeline (run_curate; docs = input HTML docs)",
                [
                    "workload",
                    "variant",
                    "docs",
                    "files",
                    "kept",
                    "seconds",
                    "docs/s",
                    "ratio vs baseline",
                    "net s",
                    "net docs/s",
                    "net ratio",
                ],
                rows,
                [
                    "baseline = read (warcio, table 1) + extract in-process (table 2) seconds, one process.",
                    "net = seconds minus the variant's fixed cost from table 3a.",
                    "Files are the unit of parallelism (no reshuffle between read and extract), so a "
                    "1-file workload runs on one worker whatever the worker count.",
                ],
                left=2,
                merge_repeats=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ntotal benchmark wall time: {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
