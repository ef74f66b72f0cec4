"""Resumable, incremental curation (`curate --cache`, pipelines/memo.py): a run killed with
SIGKILL at three different moments resumes from what its per-document stages finished,
a change to later settings reuses the earlier stages, and either way the run's files are
byte-identical to a run from scratch (timing.json, which records the reuse, aside)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from beam_helpers import run_files

from edumix.core.config import ClassifyConfig, MixConfig, RunConfig
from edumix.core.record import Document
from edumix.core.run_dir import TIMING
from edumix.demo import write_demo_crawl
from edumix.pipelines.curate import CacheError, run_curate
from edumix.pipelines.memo import content_key, reuse_summary
from edumix.pipelines.registry import memo_plan


def _doc(**over) -> Document:
    base = dict(
        id="d1",
        url="https://example.org/a",
        crawl_date=None,
        source_file="f.warc.gz",
        source_offset=0,
        source_format="warc",
        text="Some text.",
        metadata={"a": "1", "b": "2"},
        signals={"x": 0.5},
    )
    return Document(**{**base, **over})


def test_content_key_is_canonical_and_covers_every_field():
    same = _doc(metadata={"b": "2", "a": "1"})  # another insertion order
    assert content_key("k", _doc()) == content_key("k", same)
    assert content_key("k", _doc()) != content_key("other stage key", _doc())
    for change in ({"text": "Some text!"}, {"signals": {"x": 0.5000001}}, {"lang": "en"}, {"source_offset": 1}):
        assert content_key("k", _doc()) != content_key("k", _doc(**change)), change


def test_a_stage_key_changes_only_with_what_the_stage_depends_on():
    base = memo_plan(RunConfig(), "c", code="v1").keys
    assert set(base) == {"extract", "langid", "quality", "pii", "classify"}
    mix = RunConfig(mix=MixConfig(targets={"general": 0.4, "math": 0.3, "code": 0.2, "multilingual": 0.1}))
    assert memo_plan(mix, "c", code="v1").keys == base  # the mix is global: nothing to recompute
    tiers = memo_plan(RunConfig(classify=ClassifyConfig(tier_a=2.5)), "c", code="v1").keys
    assert {s for s in base if tiers[s] != base[s]} == {"classify"}
    assert all(k != base[s] for s, k in memo_plan(RunConfig(), "c", code="v2").keys.items())  # new code


def test_a_users_model_key_covers_the_files_read_beside_it(tmp_path):
    """A user's edu model is read with its head, signals and cross-lingual head: retraining any
    must not reuse scores cached under the old ones."""
    import shutil

    from edumix.classifiers.edu_crosslingual import crosslingual_path
    from edumix.classifiers.edu_signals import signals_path
    from edumix.classifiers.linear_head import head_path
    from edumix.classifiers.models import default_model_path

    shipped = default_model_path("edu")
    model = tmp_path / "edu.ftz"
    shutil.copy(shipped, model)
    cfg = RunConfig(classify=ClassifyConfig(edu_model=str(model)))

    def key():
        return memo_plan(cfg, "c", code="v1").keys["classify"]

    alone = key()
    shutil.copy(head_path(shipped), head_path(model))
    with_head = key()
    shutil.copy(signals_path(shipped), signals_path(model))
    with_signals = key()
    assert len({alone, with_head, with_signals}) == 3
    signals_path(model).write_text(signals_path(shipped).read_text().replace('"points": ', '"points": 1'))
    assert key() != with_signals
    changed = key()
    shutil.copy(crosslingual_path(shipped), crosslingual_path(model))
    assert key() != changed


def test_reuse_summary_counts_files_reused_whole():
    summary = reuse_summary(
        [
            ("extract.reused", 5),
            ("extract.computed", 2),
            ("file_reused:a", 3),
            ("file_reused:b", 2),
            ("file_computed:b", 2),
        ]
    )
    assert summary == {"stages": {"extract": {"reused": 5, "computed": 2}}, "files": 2, "files_reused": 1}


def test_the_cache_is_local_only(tmp_path):
    with pytest.raises(CacheError, match="local directory"):
        run_curate([], str(tmp_path / "o"), RunConfig(), cache="gs://bucket/cache")


@pytest.fixture(scope="module")
def crawls(tmp_path_factory):
    """Three small input files, so 'files reused whole' has something to count."""
    root = tmp_path_factory.mktemp("crawls")
    paths = []
    for seed in range(3):
        path = root / f"crawl-{seed}.warc.gz"
        write_demo_crawl(path, pages=12, seed=seed)
        paths.append(str(path))
    return paths


def _rows(cache: Path, stage: str) -> int:
    path = cache / f"{stage}.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM memo").fetchone()[0]
    except sqlite3.OperationalError:  # created but no table yet
        return 0


def _curate_cmd(crawls, out: Path, cache: Path) -> list[str]:
    cmd = [sys.executable, "-m", "edumix.cli", "curate", "-o", str(out), "--cache", str(cache), "--overwrite"]
    for path in crawls:
        cmd += ["-i", path]
    return cmd


def _kill_when(cmd: list[str], cache: Path, stage: str, rows: int) -> None:
    """Start a curate and SIGKILL it once `stage` has committed more than `rows` results."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while _rows(cache, stage) <= rows:
            assert proc.poll() is None, f"the run ended before {stage} had {rows} results:\n{proc.stderr.read()}"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_killed_three_times_resumes_and_a_later_change_reuses_the_earlier_stages(crawls, tmp_path):
    reference = tmp_path / "reference"
    run_curate(crawls, str(reference), RunConfig())  # uninterrupted, no cache
    cache, out = tmp_path / "cache", tmp_path / "run"
    cmd = _curate_cmd(crawls, out, cache)

    # Three attempts, each killed at another moment: mid-extraction, in the rules after the
    # first global dedup, and in PII scrubbing after the MinHash and line dedups.
    _kill_when(cmd, cache, "extract", 20)
    extracted = _rows(cache, "extract")
    _kill_when(cmd, cache, "quality", 0)
    assert _rows(cache, "extract") > extracted  # the second attempt went on from the first
    _kill_when(cmd, cache, "pii", 0)
    scrubbed = _rows(cache, "pii")

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "cache: 3 of 3 input files reused whole, not recomputed" in " ".join(done.stdout.split())
    reuse = json.loads((out / TIMING).read_text())["reuse"]
    assert reuse["stages"]["extract"]["computed"] == 0 and reuse["stages"]["langid"]["computed"] == 0
    assert reuse["stages"]["pii"]["reused"] == scrubbed > 0
    assert reuse["stages"]["pii"]["computed"] > 0  # the documents the last kill cut off
    assert run_files(out) == run_files(reference)

    # Later settings only (mix targets, a tier threshold): every earlier stage is reused,
    # classify recomputes, and the bytes equal a fresh run with that config.
    changed = RunConfig(
        mix=MixConfig(targets={"general": 0.4, "math": 0.3, "code": 0.2, "multilingual": 0.1}),
        classify=ClassifyConfig(tier_a=2.5),
    )
    incremental = tmp_path / "incremental"
    run_curate(crawls, str(incremental), changed, cache=str(cache))
    stages = json.loads((incremental / TIMING).read_text())["reuse"]["stages"]
    assert all(stages[s]["computed"] == 0 for s in ("extract", "langid", "quality", "pii")), stages
    assert stages["classify"]["reused"] == 0 and stages["classify"]["computed"] > 0
    fresh = tmp_path / "fresh"
    run_curate(crawls, str(fresh), changed)
    assert run_files(incremental) == run_files(fresh)
    assert run_files(fresh) != run_files(reference)  # the change did change the run
