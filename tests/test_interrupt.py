"""A curate stopped half-way (SIGTERM, as a scheduler stops a job; SIGINT, Ctrl-C) leaves no
temporary directory and no half-written file behind, and `edumix report` calls the run
unfinished instead of summarising it."""

import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from edumix.cli import app
from edumix.demo import write_demo_crawl


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """A demo crawl big enough to be stopped half-way (both signals read the same one)."""
    path = tmp_path_factory.mktemp("interrupt") / "crawl.warc.gz"
    write_demo_crawl(path, pages=400)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_curate_cleans_up(crawl, tmp_path, sig):
    tmpdir, run = tmp_path / "tmp", tmp_path / "run"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "EDUMIX_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "edumix.cli", "curate", "-i", str(crawl), "-o", str(run)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # until Beam's temporary directory exists
        if any(p.name.startswith("beam-pipeline-temp") for p in tmpdir.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    time.sleep(1.0)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, output
    assert not (run / "manifest.json").exists()
    leftovers = [p.name for p in tmpdir.iterdir() if p.name.startswith(("edumix-", "beam-pipeline-temp"))]
    assert leftovers == [], leftovers
    staging = [p for p in run.rglob("*") if ".tmp-" in p.name]
    assert staging == [], staging
    result = CliRunner().invoke(app, ["report", str(run)], terminal_width=400)
    assert result.exit_code == 2 and "unfinished run" in " ".join(result.output.split())


@pytest.mark.parametrize("sig,exc", [(signal.SIGTERM, SystemExit), (signal.SIGINT, KeyboardInterrupt)])
def test_the_handler_removes_registered_paths_before_it_raises(tmp_path, sig, exc):
    """A signal's exception can land inside a C++ extension's call (pybind11) and abort the
    process without unwinding (seen while spaCy imported during graph construction): the
    registered cleanups run in the handler itself, before the exception."""
    from edumix.core.stop import removed_on_stop, stops_clean_up

    left = tmp_path / "beam-pipeline-temp-x"
    left.mkdir()
    seen = []

    def cleanup():
        seen.append(left.exists())
        left.rmdir()

    previous = signal.getsignal(sig)
    with pytest.raises(exc), stops_clean_up(), removed_on_stop(cleanup):
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler runs at the next bytecode
    assert seen == [True] and not left.exists()
    assert signal.getsignal(sig) is previous  # the handlers are put back
    with stops_clean_up(), removed_on_stop(cleanup):
        pass  # left without a stop: nothing runs
    assert seen == [True]


def test_a_stop_inside_a_deferred_block_takes_effect_when_it_ends(tmp_path):
    """Building the Beam graph runs imports inside C++ extensions: a stop there waits for the
    block's end, so the run unwinds normally (no abort)."""
    from edumix.core.stop import removed_on_stop, stops_clean_up, stops_deferred

    seen = []
    with pytest.raises(SystemExit) as stopped, stops_clean_up(), removed_on_stop(lambda: seen.append("cleanup")):
        with stops_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the handler has run by now, and raised nothing
            seen.append("block ended")
        seen.append("not reached")
    assert stopped.value.code == 128 + signal.SIGTERM
    assert seen == ["block ended", "cleanup"]
