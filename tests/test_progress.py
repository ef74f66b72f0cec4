"""The one live progress record of a curate run, and its timing file: real Beam runner,
real worker processes."""

import json

import pytest
from beam_helpers import TWO_WORKERS, run_files

from edumix.core.config import RunConfig
from edumix.core.progress import PROGRESS_FILE, aggregate, progress_line, read_progress
from edumix.core.run_dir import MANIFEST, TIMING
from edumix.pipelines.curate import run_curate


@pytest.mark.slow
def test_two_worker_run_is_identical_and_gives_one_progress_record_equal_to_the_accounting(cli_demo, tmp_path):
    """The demo has real dedup work (clusters, boilerplate lines): in-process (conftest's
    `cli_demo`, `edumix demo` with the default config) and 2 worker processes agree byte for
    byte (timing.json aside), and the 2-worker run's live record sums both workers to the
    report's accounting."""
    readings = []
    out = tmp_path / "run"
    report = run_curate(
        [str(cli_demo.crawl)], str(out), RunConfig(), TWO_WORKERS, progress=False, on_progress=readings.append
    )
    assert run_files(out) == run_files(cli_demo.run)
    final = readings[-1]
    assert final["status"] == "done" and [r["status"] for r in readings[:-1]] == ["running"] * (len(readings) - 1)
    assert final["files"] == {"done": 1, "total": 1}
    assert [{k: r[k] for k in ("stage", "in", "dropped", "out")} for r in final["stages"]] == [
        {k: r[k] for k in ("stage", "in", "dropped", "out")} for r in report["stages"]
    ]
    # Stages appear once the graph is built; from then on counts only grow.
    staged = [r for r in readings if r["stages"]]
    assert readings[0]["stages"] == [] and len(staged) >= 1
    for before, after in zip(staged, staged[1:], strict=False):
        assert all(a["out"] >= b["out"] for a, b in zip(after["stages"], before["stages"], strict=True))

    timing = json.loads((out / TIMING).read_text())
    assert [t["stage"] for t in timing["stages"]] == [r["stage"] for r in report["stages"]]
    assert all(t["wall_s"] >= 0 and t["cpu_s"] is not None and t["cpu_s"] >= 0 for t in timing["stages"])
    assert sum(t["cpu_s"] for t in timing["stages"]) > 0 and timing["total_wall_s"] > 0
    # No progress file outlives the run, and timing is in no manifest.
    assert not (out / PROGRESS_FILE).exists() and not list(out.rglob("*.tmp-*"))
    assert TIMING not in (out / MANIFEST).read_text()


def test_progress_record_sums_workers_in_funnel_order():
    workers = [
        {"stages": {"read": {"out": 5, "dropped": 2, "files": 1, "first": 10.0, "last": 12.0}}},
        {
            "stages": {
                "read": {"out": 3, "dropped": 0, "files": 1, "first": 11.0, "last": 13.0},
                "extract": {"out": 4, "dropped": 1, "files": 0, "first": 12.0, "last": 15.0},
            }
        },
    ]
    record = aggregate(["read", "extract", "langid"], workers, total_files=3)
    assert record["files"] == {"done": 2, "total": 3}
    assert [(r["stage"], r["in"], r["dropped"], r["out"]) for r in record["stages"]] == [
        ("read", 10, 2, 8),
        ("extract", 8, 1, 4),
        ("langid", 4, 0, 0),
    ]
    assert record["stages"][0]["wall_s"] == 3.0 and record["stages"][1]["wall_s"] == 5.0
    assert "read 10 (2/3 files) → extract 4 → langid 0" in progress_line({**record, "elapsed_s": 5})


def test_no_progress_file_means_no_live_run(tmp_path):
    assert read_progress(tmp_path) is None
    (tmp_path / PROGRESS_FILE).write_text("{half")
    assert read_progress(tmp_path) is None


def test_run_page_shows_the_live_counts_escaped():
    from edumix.service.pages import _progress_table

    record = aggregate(
        ["read", "<b>x</b>"], [{"stages": {"read": {"out": 7, "dropped": 1, "files": 1, "first": 1.0, "last": 2.0}}}], 2
    )
    html = _progress_table({**record, "elapsed_s": 65})
    assert "1:05 elapsed" in html and "1 of 2 input files" in html
    assert "<td>read</td><td>8</td><td>1</td><td>7</td>" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert _progress_table(None) == ""
