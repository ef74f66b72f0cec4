"""The annotation client against a local HTTP server speaking /v1/chat/completions."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from edumix.classifiers.annotate import AnnotateConfig, annotate, failed_path, parse_score
from edumix.classifiers.edu_crosslingual import CrossLingual, crosslingual_path
from edumix.cli import app
from edumix.core.hashing import file_sha256


class FakeLLM(BaseHTTPRequestHandler):
    """Scores a document by the digit after 'doc-'; 'flaky' fails once, 'vague' answers
    without a score once, 'broken' always errors."""

    calls: dict[str, int] = {}
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.path == "/v1/chat/completions" and body["model"] == "tiny"
        prompt = body["messages"][0]["content"]
        doc = prompt.split("<<<\n", 1)[1].split("\n>>>", 1)[0]
        with self.lock:
            n = self.calls[doc] = self.calls.get(doc, 0) + 1
        if "broken" in doc or ("flaky" in doc and n == 1):
            self.send_response(503)
            self.end_headers()
            return
        reply = "Hard to say." if ("vague" in doc and n == 1) else f"Clear.\nEducational score: **{doc[4]}**"
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FakeLLM.calls = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def cfg(url, **kw):
    return AnnotateConfig(endpoint=url, model="tiny", backoff_s=0.01, max_retries=2, timeout_s=10, **kw)


@pytest.mark.parametrize(
    "reply,score",
    [
        ("Educational score: 4", 4),
        ("educational score = 2.", 2),
        ("**Educational Score:** 5", 5),
        ("... so I give it 3/5", 3),
        ("Total: 1 point", 1),
        ("no idea", None),
        ("Score 7", None),
    ],
)
def test_parse_score(reply, score):
    assert parse_score(reply) == score


def test_labels_every_document_retrying_flaky_ones(server, tmp_path):
    docs = [(f"id{i}", f"doc-{i % 6} text {i}") for i in range(12)]
    docs += [("f", "doc-2 flaky"), ("v", "doc-4 vague"), ("b", "doc-1 broken")]
    out = tmp_path / "labels.jsonl"
    counts = annotate(cfg(server, concurrency=3), docs, out)
    assert counts == {"labelled": 14, "failed": 1, "skipped": 0}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["id"]: r["label"] for r in rows} == {**{f"id{i}": str(i % 6) for i in range(12)}, "f": "2", "v": "4"}
    assert all(r["text"] for r in rows)  # ready for `classifiers train --task edu`
    (failure,) = [json.loads(line) for line in failed_path(out).read_text().splitlines()]
    assert failure["id"] == "b" and "HTTP 503" in failure["error"]


def test_resume_skips_what_is_labelled_and_retries_failures(server, tmp_path):
    docs = [(f"id{i}", f"doc-{i % 6} text {i}") for i in range(8)] + [("b", "doc-1 broken")]
    out = tmp_path / "labels.jsonl"
    annotate(cfg(server), docs[:5], out)
    with open(out, "a") as fh:
        fh.write('{"id": "torn')  # a crash mid-line
    counts = annotate(cfg(server), docs, out)
    assert counts == {"labelled": 3, "failed": 1, "skipped": 5}
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines() if line.endswith("}")]
    assert sorted(ids) == sorted(f"id{i}" for i in range(8))
    counts = annotate(cfg(server), docs, out)
    assert counts == {"labelled": 0, "failed": 1, "skipped": 8}  # the failure is tried again


def test_cli_annotates_a_run_directory(server, tmp_path):
    run = tmp_path / "run"
    (run / "shards").mkdir(parents=True)
    shard = run / "shards" / "part-00000-of-00001.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["doc-5 x", "doc-0 y", "doc-3 z"]}), shard)
    entry = {"path": "shards/part-00000-of-00001.parquet", "rows": 3, "sha256": file_sha256(shard)}
    (run / "manifest.json").write_text(json.dumps({"shards": [entry]}))
    out = tmp_path / "labels.jsonl"
    args = ["classifiers", "annotate", "--endpoint", server, "--model", "tiny", "--input", str(run), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "3 labelled" in result.output
    assert sorted(json.loads(line)["label"] for line in out.read_text().splitlines()) == ["0", "3", "5"]
    missing = CliRunner().invoke(app, [*args[:7], str(tmp_path / "nope"), *args[8:]])
    assert missing.exit_code == 2 and "no shards" in missing.output


class RubricLLM(FakeLLM):
    """A stand-in rubric: pages that give an example score 5, the others 1."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        doc = body["messages"][0]["content"].split("<<<\n", 1)[1].split("\n>>>", 1)[0]
        score = 5 if "example" in doc.lower() else 1
        data = json.dumps({"choices": [{"message": {"content": f"Educational score: {score}"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.mark.slow
def test_annotate_train_curate_workflow(cli_demo, tmp_path):
    """The documented loop for a team with an LLM endpoint: curate (`edumix demo`, conftest's
    `cli_demo`) -> annotate the shards -> `classifiers train --task edu` on the labels -> curate
    with `classify.edu_model`; the new run's edu scores follow the LLM's labels."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RubricLLM)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    runner = CliRunner()
    try:
        labels, model = tmp_path / "labels.jsonl", tmp_path / "edu.ftz"
        args = ["--endpoint", url, "--model", "tiny", "--input", str(cli_demo.run), "--out", str(labels)]
        annotated = runner.invoke(app, ["classifiers", "annotate", *args])
        assert annotated.exit_code == 0, annotated.output
    finally:
        httpd.shutdown()
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert {r["label"] for r in rows} == {"1", "5"}
    trained = runner.invoke(
        app,
        ["classifiers", "train", "--task", "edu", "--data", str(labels), "--out", str(model), "--heldout", "0"],
    )
    assert trained.exit_code == 0, trained.output
    assert "which keep edu.ftz's score: en" in " ".join(trained.output.split())
    config = tmp_path / "run.yaml"
    config.write_text(f"classify:\n  edu_model: {model}\n")
    second = runner.invoke(app, ["curate", "-i", str(cli_demo.crawl), "-o", str(tmp_path / "again"), "-c", str(config)])
    assert second.exit_code == 0, second.output
    label_of = {r["id"]: int(r["label"]) for r in rows}
    scored = pq.read_table(tmp_path / "again" / "shards", columns=["id", "edu_score"]).to_pylist()
    high = [r["edu_score"] for r in scored if label_of.get(r["id"]) == 5]
    low = [r["edu_score"] for r in scored if label_of.get(r["id"]) == 1]
    assert high and low and sum(high) / len(high) > sum(low) / len(low) + 1.0, (high, low)
    x = CrossLingual.load(crosslingual_path(model))  # taught by the new model: its languages stay its own
    assert "en" in x.judged
