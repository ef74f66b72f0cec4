"""Beam helpers the tests share: one stage PTransform on a real runner, the real-crawl inputs
the end-to-end runs read, `edumix curate` in a child process started ahead of the test that
reads it (tests/background.py), and a run directory's files for byte-for-byte comparisons."""

import hashlib
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path

import apache_beam as beam
import background

from edumix.core.config import OutputConfig, RunConfig
from edumix.core.run_dir import TIMING

# What `--direct_running_mode=multi_processing` runs look like: two real worker processes.
TWO_WORKERS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


# conftest's `real_run`: small shards, so the real crawls make several of them.
REAL_RUN_CONFIG = RunConfig(output=OutputConfig(docs_per_shard=15))


def real_inputs() -> list[str]:
    """Every shared crawl file edumix reads: Common Crawl, wget, whirlwind, warcio's edge cases."""
    from shared_data import shared

    warc = shared("warc")
    return [
        str(warc / "commoncrawl_sample" / "*.warc.gz"),
        str(warc / "dolma_wget" / "*.warc.gz"),
        str(warc / "whirlwind_cc2024" / "whirlwind.warc*.gz"),
        str(warc / "warcio_edgecases" / "*.*"),
    ]


def run_files(run_dir: Path) -> dict[str, str]:
    """sha256 of every file the run wrote, by relative path (timing.json, seconds measured
    run to run, aside: it must exist and is the one file allowed to differ)."""
    assert (run_dir / TIMING).is_file()
    return {
        str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.relative_to(run_dir) != Path(TIMING)
    }


def curate_job(
    name: str, inputs: list, workdir: Path, config: dict | None = None, args: tuple = (), command: str = "curate"
) -> background.Job:
    """`edumix curate --input ... --output WORKDIR/run [--config WORKDIR/config.yaml] ARGS` as a
    background job (`command="demo"`: `edumix demo --output WORKDIR ...`, the run in WORKDIR/run).
    `config` is a run config as a dict (RunConfig.model_validate's input)."""
    import yaml

    workdir.mkdir(parents=True, exist_ok=True)
    if command == "demo":
        argv = ["demo", "--output", str(workdir)]
    else:
        argv = ["curate", *(a for i in inputs for a in ("--input", str(i))), "--output", str(workdir / "run")]
    if config is not None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        argv += ["--config", str(workdir / "config.yaml")]
    return background.Job(name, [sys.executable, "-m", "edumix.cli", *argv, *args], workdir / f"{command}.log")


def finished_run(job: background.Job, timeout: float = 900) -> tuple[Path, dict, str]:
    """(run directory, report, what the command printed) once curate_job's child is done."""
    returncode, output, errors = job.wait(timeout=timeout)
    assert returncode == 0, output + errors
    out = Path(job.argv[job.argv.index("--output") + 1])
    run = out / "run" if job.argv[3] == "demo" else out
    return run, json.loads((run / "report.json").read_text()), output


def _save(value, path):
    with open(path, "wb") as fh:
        pickle.dump(value, fh)


def run_stage(transform, docs):
    """Run one stage on a real runner; return (kept docs, drops, summed stats)."""
    with tempfile.TemporaryDirectory() as tmp:
        with beam.Pipeline("FnApiRunner") as p:
            result = p | beam.Create(docs) | transform
            for name in ("docs", "dropped"):
                _ = (
                    result[name]
                    | f"List{name}" >> beam.combiners.ToList()
                    | f"Save{name}" >> beam.Map(_save, os.path.join(tmp, name))
                )
            stats = result["stats"] | beam.CombinePerKey(sum) | beam.combiners.ToDict()
            _ = stats | "SaveStats" >> beam.Map(_save, os.path.join(tmp, "stats"))
        loaded = []
        for name in ("docs", "dropped", "stats"):
            with open(os.path.join(tmp, name), "rb") as fh:
                loaded.append(pickle.load(fh))
    return tuple(loaded)
