"""The `edumix` CLI as a user runs it."""

import json
import shutil
import sys
from pathlib import Path

import background
import pytest
from beam_helpers import curate_job, finished_run
from shared_data import SHARED, shared
from typer.testing import CliRunner

from edumix.cli import app
from edumix.launch import UsageError, split_beam_args

runner = CliRunner()


def test_every_command_has_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("curate", "demo", "report"):
        assert command in result.output
        sub = runner.invoke(app, [command, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("edumix ")


def test_split_beam_args():
    assert split_beam_args(["--runner", "DataflowRunner", "--save_main_session", "--region=eu"]) == [
        "--runner=DataflowRunner",
        "--save_main_session",
        "--region=eu",
    ]
    with pytest.raises(UsageError, match="quote a glob"):
        split_beam_args(["second.warc.gz"])


def _cli_job(name: str, args: list[str], workdir: Path) -> background.Job:
    """`edumix ARGS` in a child process (the installed CLI, as a user runs it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    return background.Job(name, [sys.executable, "-m", "edumix.cli", *args], workdir / f"{name}.log")


def _curate_job(workdir: Path) -> background.Job:
    src = str(SHARED / "warc" / "dolma_wget" / "*.warc.gz")
    return curate_job("cli-curate", [src], workdir, args=("--direct_num_workers", "1"))


def _train_job(workdir: Path) -> background.Job:
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "labels.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in domain_rows()) + "\n")
    args = ["classifiers", "train", "--task", "domain", "--data", str(data), "--out", str(workdir / "domain.ftz")]
    return _cli_job("cli-classifiers-train", [*args, "--epochs", "5"], workdir)


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the slow commands below start in child processes when collection ends
    (they need nothing from the tests before them), on the core the suite leaves idle."""
    names = {item.originalname for item in items}
    jobs = []
    if "test_classifiers_train_on_user_labels" in names:
        jobs.append(_train_job(workdir / "train"))
    if "test_curate_then_report" in names and (SHARED / "warc" / "dolma_wget").is_dir():
        jobs.append(_curate_job(workdir / "curate"))
    if "test_dirty_words_file_option" in names:
        jobs.append(_dirty_words_job(workdir / "dirty-words"))
    return jobs


def test_curate_then_report(tmp_path):
    # `edumix curate --input dolma_wget/*.warc.gz --output RUN --direct_num_workers 1`, in a
    # child process started ahead (see background_jobs)
    out, report, output = finished_run(background.take("cli-curate") or _curate_job(tmp_path))
    assert "accounting holds" in output and "extract" in output
    assert report["kept"] + report["dropped_total"] == report["input_records"] == 82
    again = runner.invoke(app, ["report", str(out)])
    assert again.exit_code == 0 and "82 input records" in again.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--input", "/no/such/*.warc.gz"], "matches no file"),
        (["--input", "a.warc.gz", "b.warc.gz"], "unexpected argument 'b.warc.gz'"),
        (["--input", "x", "--config", "/no/such.yaml"], "config file not found"),
    ],
)
def test_curate_errors_are_clear(tmp_path, args, message):
    result = runner.invoke(app, ["curate", *args, "--output", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_curate_refuses_to_overwrite(cli_demo, tmp_path):
    shutil.copytree(cli_demo.run, tmp_path / "o")  # a finished run (a copy: cli_demo is shared)
    report = (tmp_path / "o" / "report.json").read_bytes()
    src = str(shared("warc", "whirlwind_cc2024", "whirlwind.warc.gz"))
    args = ["curate", "-i", src, "-o", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (tmp_path / "o" / "report.json").read_bytes() == report
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert json.loads((tmp_path / "o" / "report.json").read_text())["kept"] == 1


def test_report_of_missing_run(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "cannot read" in result.output


def _dirty_words_job(workdir: Path) -> background.Job:
    """`edumix curate -i in.jsonl --dirty-words-file words.txt`: two copies of a clean page, one
    with the word of words.txt (not on the shipped list) twice."""
    workdir.mkdir(parents=True, exist_ok=True)
    words = workdir / "words.txt"
    words.write_text("zorbleflux\n")
    page = (
        "The river valley supports farms and small towns along its banks. Every spring the water "
        "rises and leaves a layer of fertile silt on the fields. Farmers plant wheat, barley and "
        "beans, and they rotate the crops to keep the soil healthy. In summer the markets fill "
        "with fruit from the orchards on the hills. The old stone bridge, built three centuries "
        "ago, still carries carts and bicycles across the river. Children learn to swim in the "
        "shallow bends where the current is slow, and fishermen wait for trout in the evening."
    )
    (workdir / "in.jsonl").write_text(
        json.dumps({"text": page, "url": "https://a.example/1"})
        + "\n"
        + json.dumps({"text": page.replace("farms", "zorbleflux zorbleflux farms"), "url": "https://a.example/2"})
        + "\n"
    )
    return curate_job("cli-dirty-words", [workdir / "in.jsonl"], workdir, args=("--dirty-words-file", str(words)))


def test_dirty_words_file_option(tmp_path):
    job = background.take("cli-dirty-words") or _dirty_words_job(tmp_path)
    _, report, _ = finished_run(job)
    assert report["dropped"].get("quality", {}).get("dirty_words") == 1
    args = job.argv[3:]  # curate --input IN --output OUT --dirty-words-file WORDS
    missing = runner.invoke(app, [*args[:-1], str(tmp_path / "nope.txt"), "--overwrite"])
    assert missing.exit_code == 2 and "--dirty-words-file not found" in missing.output


def domain_rows() -> list[dict]:
    """360 labelled rows: two code, two prose and two math templates, 60 times each."""
    code = ["def f{i}(x):\n    return x * {i} + sum(range({i}))", "for i in range({i}):\n    print(i, {i})"]
    prose = [
        "The river number {i} flows slowly through the green valley towards the sea.",
        "Our town festival {i} brings music, food and dancing to the old market square.",
    ]
    math = [
        "Let $x_{i} = {i}$; then $x^2 + {i}x = 0$ has roots $0$ and $-{i}$. \\qed",
        "Lemma {i}. For all $n \\ge {i}$, $\\sum_{{k=1}}^n k = n(n+1)/2$. Proof by induction.",
    ]
    return [
        {"text": t.format(i=i), "label": lab}
        for i in range(60)
        for lab, ts in (("code", code), ("general", prose), ("math", math))
        for t in ts
    ]


def test_classifiers_train_on_user_labels(tmp_path):
    # `edumix classifiers train --task domain --data LABELS --out domain.ftz --epochs 5` on
    # domain_rows(), in a child process started ahead (see background_jobs)
    job = background.take("cli-classifiers-train") or _train_job(tmp_path)
    returncode, output, errors = job.wait(timeout=600)
    assert returncode == 0, output + errors
    out = Path(job.argv[job.argv.index("--out") + 1])
    assert out.stat().st_size > 0 and "code" in output
    from edumix.classifiers.models import DomainClassifier

    (pred,) = DomainClassifier.load(out).predict(["def g(y):\n    return y * 7 + sum(range(7))"])
    assert pred.label == "code"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "label": "poetry"}) + "\n")
    result = runner.invoke(app, ["classifiers", "train", "--task", "domain", "--data", str(bad), "--out", str(out)])
    assert result.exit_code == 2 and "not domain labels" in result.output


def _commands(group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        if hasattr(cmd, "commands"):  # a group (typer's own class, not click.Group)
            yield from _commands(cmd, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), cmd


def test_the_same_names_for_the_same_things_in_every_command():
    """What a command writes is --out / --output / -o everywhere; the run directory or labels it
    reads is --data / --input / -i (curate's raw crawl inputs: --input / -i)."""
    import typer.main

    seen = set()
    for name, cmd in _commands(typer.main.get_command(app)):
        for p in cmd.params:
            if p.name in ("out", "output"):
                assert {"--out", "--output", "-o"} <= set(p.opts), (name, p.opts)
                seen.add(name)
            if p.name in ("data", "input_dir"):
                assert {"--data", "--input", "-i"} <= set(p.opts), (name, p.opts)
            if p.name == "inputs":
                assert {"--input", "-i"} <= set(p.opts), (name, p.opts)
    assert {"curate", "demo", "pretrain", "export", "tokenizer train", "classifiers train"} <= seen
