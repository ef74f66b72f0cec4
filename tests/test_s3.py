"""s3:// inputs and outputs through Beam's own S3 filesystem (the `edumix[aws]` extra),
against a real S3-compatible server this test starts itself: moto's server mode, a child
process on 127.0.0.1. Nothing in edumix, Beam or boto3 is replaced; the test talks to the
server with boto3 only to create buckets, upload the shared WARCs and read results back."""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import background
import pyarrow.parquet as pq
import pytest
from beam_helpers import curate_job, finished_run
from shared_data import SHARED, shared
from typer.testing import CliRunner

from edumix.cli import app

boto3 = pytest.importorskip("boto3", reason="needs the aws extra: pip install 'edumix[aws]'")
pytest.importorskip("moto.server", reason="needs moto's server: pip install 'moto[server]'")

CRAWL, RUNS = "edumix-crawl", "edumix-runs"
PREFIX = "crawl-data/CC-TEST/warc"
KEY_ID = "AKIAEDUMIXTEST"
SECRET = "edumix-s3-secret-never-logged-7f3a9c"  # moto accepts any key pair
FILES = {  # the first records of a real Common Crawl WARC, a clipped one (a read error, byte-accounted), odd records
    "cc-warcfile.warc.gz": ("warc", "commoncrawl_sample", "warcfile.warc.gz"),
    "cc-clipped.warc.gz": ("warc", "commoncrawl_sample", "clipped.warc.gz"),
    "cc-block-sized-records.warc.gz": ("warc", "commoncrawl_sample", "block-sized-records.warc.gz"),
}
SCRUB = ("AWS_", "BOTO_")  # a developer's own credentials, profile or endpoint must not leak in


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrubbed_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}


def _local_baseline_job(workdir: Path) -> background.Job:
    """`edumix curate` of FILES read locally, under the names they have in the bucket (crawl/
    holds links to the shared files): the baseline the s3:// runs must match."""
    local_in = workdir / "crawl"
    local_in.mkdir(parents=True)
    for name, parts in FILES.items():
        (local_in / name).symlink_to(SHARED.joinpath(*parts))
    job = curate_job("s3-local-baseline", [local_in], workdir)
    job.env = _scrubbed_env()
    return job


def _without_boto3_job(workdir: Path) -> background.Job:
    """A child interpreter with boto3 made unimportable, as on an install without the extra:
    the launcher's check and expand_inputs (called directly), then the CLI, each print a line."""
    code = (
        "import sys; sys.modules['boto3'] = None\n"
        "from typer.testing import CliRunner\n"
        "from edumix.cli import app\n"
        "from edumix.pipelines.options import PipelineOptionsError, validate_pipeline_options\n"
        "from edumix.pipelines.read import InputError, expand_inputs\n"
        "for check in (lambda: validate_pipeline_options([], ['s3://bucket/crawl/*.warc.gz'], sys.argv[1]),\n"
        "              lambda: expand_inputs(['s3://bucket/crawl/x.warc.gz'])):\n"
        "    try:\n"
        "        check()\n"
        "    except (PipelineOptionsError, InputError) as e:\n"
        "        print(e)\n"
        "r = CliRunner().invoke(app, ['curate', '-i', 's3://bucket/crawl/*.warc.gz', '-o', sys.argv[1]])\n"
        "print(r.exit_code, ' '.join(r.output.split()))\n"
    )
    workdir.mkdir(exist_ok=True)
    argv = [sys.executable, "-c", code, str(workdir / "out")]
    return background.Job("s3-without-boto3", argv, workdir / "without-boto3.log")


def background_jobs(items, workdir: Path) -> list[background.Job]:
    """conftest.py: the two child processes below start when collection ends (they need
    nothing from the tests before them), on the core the suite leaves idle."""
    names = {item.originalname for item in items}
    jobs = []
    if "test_s3_round_trip_matches_a_local_run" in names and all(
        SHARED.joinpath(*parts).is_file() for parts in FILES.values()
    ):
        jobs.append(_local_baseline_job(workdir / "baseline"))
    if "test_without_boto3_s3_says_which_extra_to_install" in names:
        jobs.append(_without_boto3_job(workdir / "without-boto3"))
    return jobs


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """moto's S3 server as our own child process; stopped (by its pid) when the module is done."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    env = _scrubbed_env()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start: {log.read_text()}") from None
                time.sleep(0.1)
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET
        )
        client.create_bucket(Bucket=CRAWL)
        client.create_bucket(Bucket=RUNS)
        for name, parts in FILES.items():
            client.upload_file(str(shared(*parts)), CRAWL, f"{PREFIX}/{name}")
        listing = "".join(f"{PREFIX}/{name}\n" for name in FILES).encode()
        client.put_object(Bucket=CRAWL, Key="crawl-data/CC-TEST/warc.paths.gz", Body=gzip.compress(listing))
        yield endpoint, client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def no_aws_env(monkeypatch, tmp_path):
    """Only what each test sets: no ambient AWS variables, no ~/.aws files, no instance-metadata lookup."""
    for name in list(os.environ):
        if name.startswith(SCRUB):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _options(endpoint: str) -> list[str]:
    return [
        f"--s3_endpoint_url={endpoint}",
        f"--s3_access_key_id={KEY_ID}",
        f"--s3_secret_access_key={SECRET}",
        "--s3_region_name=us-east-1",
    ]


def _curate(args: list[str]):
    result = CliRunner().invoke(app, ["curate", *args])
    return result, " ".join(result.output.split())


def _download(client, bucket: str, prefix: str, dest: Path) -> Path:
    for obj in client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")["Contents"]:
        path = dest / obj["Key"][len(prefix) + 1 :]
        path.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, obj["Key"], str(path))
    return dest


def _rows(run: Path) -> list[dict]:
    """Every kept document, sorted by id, its source file reduced to the file's name (local
    and s3:// runs name the same bytes by different paths)."""
    shards = sorted((run / "shards").glob("*.parquet"))
    assert shards, f"no shards in {run}"
    rows = [r for s in shards for r in pq.read_table(s).to_pylist()]
    for r in rows:
        r["source_file"] = r["source_file"].rsplit("/", 1)[-1]
    return sorted(rows, key=lambda r: (r["id"], r["source_offset"]))


def _check_accounting(report: dict, files: int) -> None:
    assert report["accounting_ok"] and report["input_files"] == files
    assert report["input_records"] == report["kept"] + report["dropped_total"] > 0
    assert report["unattributed_bytes"] == 0 and all(f["unattributed_bytes"] == 0 for f in report["files"])
    assert report["input_bytes"] == sum(os.path.getsize(shared(*p)) for p in FILES.values())


@pytest.mark.slow  # three curate runs, one writing to the bucket (the local one in a child started ahead)
def test_s3_round_trip_matches_a_local_run(s3_server, tmp_path, no_aws_env, monkeypatch, capfd, caplog):
    """A glob and a Common Crawl path list in a bucket curate to the same shards as the same
    files read locally; the run written to s3:// (staging files renamed into place) too."""
    endpoint, client = s3_server
    # 1. the local baseline: a child `edumix curate` started ahead (see background_jobs), usually
    # done by now; run alone, this test starts it here and it runs beside the s3:// runs
    baseline = background.take("s3-local-baseline") or _local_baseline_job(tmp_path / "baseline")
    baseline.start()

    # 2. a glob in the bucket, the run written to the bucket; endpoint and keys as Beam options
    caplog.set_level("INFO")  # what `edumix curate -v` shows
    result, said = _curate(["-i", f"s3://{CRAWL}/{PREFIX}/*.warc.gz", "-o", f"s3://{RUNS}/glob", *_options(endpoint)])
    assert result.exit_code == 0, said
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=RUNS, Prefix="glob/")["Contents"]]
    assert "glob/report.json" in keys and "glob/manifest.json" in keys
    assert not [k for k in keys if ".tmp-" in k], "staging files left in the bucket"
    glob_run = _download(client, RUNS, "glob", tmp_path / "glob")
    glob_report = json.loads((glob_run / "report.json").read_text())
    _check_accounting(glob_report, len(FILES))
    assert {f["path"] for f in glob_report["files"]} == {f"s3://{CRAWL}/{PREFIX}/{n}" for n in FILES}

    # 3. the path list, under read.paths_prefix: s3://BUCKET/; endpoint and keys from the AWS_* variables
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    config = tmp_path / "prefix.yaml"
    config.write_text(f"read:\n  paths_prefix: s3://{CRAWL}/\n")
    listing = f"s3://{CRAWL}/crawl-data/CC-TEST/warc.paths.gz"
    result, said = _curate(["-i", listing, "-o", str(tmp_path / "listed"), "--config", str(config)])
    assert result.exit_code == 0, said
    listed = json.loads((tmp_path / "listed" / "report.json").read_text())
    _check_accounting(listed, len(FILES))

    local_run, local, _ = finished_run(baseline, timeout=300)
    _check_accounting(local, len(FILES))

    # same documents, same bytes, same accounting, whichever way the files were reached
    expected = _rows(local_run)
    assert expected and _rows(glob_run) == expected and _rows(tmp_path / "listed") == expected
    for report in (glob_report, listed):
        for key in ("input_records", "kept", "dropped_total", "input_bytes", "kept_tokens", "dropped"):
            assert report[key] == local[key], key

    # the secret given on the command line is in no output, log line or written object
    out, err = capfd.readouterr()
    assert SECRET not in out + err + caplog.text
    for run in (glob_run, tmp_path / "listed"):
        for path in run.rglob("*"):
            assert not path.is_file() or SECRET.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("target", "args", "message"),
    [
        ("input", ["-i", f"s3://no-such-bucket/{PREFIX}/*.warc.gz"], r"cannot list it \(no bucket 'no-such-bucket' at"),
        ("output", ["-o", "s3://no-such-bucket/run"], r"--output s3://no-such-bucket/run: no bucket 'no-such-bucket'"),
        ("credentials", [], r"no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ("endpoint", [], r"cannot reach the S3 endpoint http://127\.0\.0\.1:1 \(EndpointConnectionError"),
    ],
)
def test_an_s3_problem_is_one_line_at_once(s3_server, tmp_path, no_aws_env, target, args, message):
    """Beam's S3 client retries errors without an HTTP status (no credentials, endpoint down)
    for about seven minutes; edumix reaches each bucket once first and says what is wrong."""
    endpoint, _ = s3_server
    options = {
        "credentials": [f"--s3_endpoint_url={endpoint}"],
        "endpoint": ["--s3_endpoint_url=http://127.0.0.1:1", f"--s3_access_key_id={KEY_ID}"],
    }.get(target, _options(endpoint))
    if target == "endpoint":
        options.append(f"--s3_secret_access_key={SECRET}")
    run = {"-i": f"s3://{CRAWL}/{PREFIX}/*.warc.gz", "-o": str(tmp_path / "out")}
    run.update(dict(zip(args[::2], args[1::2])))
    started = time.monotonic()
    result, said = _curate(["-i", run["-i"], "-o", run["-o"], *options])
    assert result.exit_code == 2, said
    assert said.startswith("error: ") and said.count("error:") == 1 and "Traceback" not in said
    assert re.search(message, said), said
    assert SECRET not in said
    assert time.monotonic() - started < 15


def test_without_boto3_s3_says_which_extra_to_install(tmp_path):
    """boto3 made unimportable in a child interpreter, as on an install without the extra:
    the launcher's check and expand_inputs (called directly) both name the extra."""
    job = background.take("s3-without-boto3") or _without_boto3_job(tmp_path)
    returncode, output, errors = job.wait(timeout=120)
    assert returncode == 0, errors
    out = Path(job.argv[-1])
    launcher, expanded, cli = output.splitlines()
    assert launcher == (
        "--input s3://bucket/crawl/*.warc.gz: s3:// needs Beam's S3 filesystem, which needs boto3: "
        "pip install 'edumix[aws]'"
    )
    assert "cannot list it (s3:// needs Beam's S3 filesystem, which needs boto3: pip install 'edumix[aws]')" in expanded
    # The CLI prints the same line through rich, whose markup eats "[aws]" until edumix/cli.py
    # escapes its error messages (rich.markup.escape).
    assert cli.startswith("2 error: --input s3://bucket/crawl/*.warc.gz: s3:// needs Beam's S3 filesystem")
    assert not out.exists()


def test_s3_options_that_multi_processing_workers_would_not_get_are_refused(tmp_path):
    """Beam's multi_processing workers build their S3 client from default options (they would
    retry AWS's own endpoint without credentials for minutes): refused before anything runs."""
    from edumix.pipelines.options import PipelineOptionsError, validate_pipeline_options

    args = ["--s3_endpoint_url=http://127.0.0.1:1", "--direct_running_mode=multi_processing"]
    with pytest.raises(PipelineOptionsError, match=r"--s3_endpoint_url do not reach .* AWS_ENDPOINT_URL_S3"):
        validate_pipeline_options(args, [f"s3://{CRAWL}/x.warc.gz"], str(tmp_path / "out"))
    validate_pipeline_options(args[1:], [f"s3://{CRAWL}/x.warc.gz"], str(tmp_path / "out"))  # variables: fine
