"""LLM annotation of educational value, for training better edu classifiers.

Sends each document with an additive 0-5 rubric to any OpenAI-compatible
`/v1/chat/completions` endpoint (vLLM, TGI, hosted APIs). Every label is appended to the
output JSONL and flushed as soon as it arrives, so a crash loses nothing and a re-run
resumes with the documents not yet labelled. Plain stdlib HTTP: no client library.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from edumix.core.run_dir import RunDirError, shard_files

RUBRIC = """You are rating how useful a web page would be for teaching, from primary school to \
university level. Read the extract and add up points using this additive scale:

- Add 1 point if the extract gives some basic information related to an educational topic, \
even if it also contains advertising, navigation or other non-educational material.
- Add another point if it addresses elements relevant to education but does not follow \
educational standards closely: it may mix in non-educational content, or give a superficial \
overview.
- Award a third point if it is appropriate for educational use and introduces key concepts \
relevant to a school or university curriculum, coherently, even if incomplete.
- Grant a fourth point if it is highly relevant and beneficial for learning at some level, \
with a clear and consistent writing style, like a chapter of a textbook or a tutorial, with \
little irrelevant content.
- Give a fifth point if it is outstanding for teaching: detailed reasoning, worked examples \
or exercises, easy to follow, and free of non-educational or overly complex content.

Extract:
<<<
{text}
>>>

Justify your total in at most three sentences, then end with a line of the form \
"Educational score: <total points>" where the total is an integer from 0 to 5."""

_SCORE = re.compile(r"educational\s+score\s*[:=]?\s*\**\s*([0-5])\b", re.I)
_LAST_DIGIT = re.compile(r"\b([0-5])\s*(?:/\s*5|points?)?\s*\W*$")


def parse_score(reply: str) -> int | None:
    """The score a reply ends on: 'Educational score: 3' (any case, markdown bold), else a
    lone 0-5 at the very end ('... 4/5', '... 4 points'). None when there is no clear score."""
    found = _SCORE.findall(reply)
    if found:
        return int(found[-1])
    m = _LAST_DIGIT.search(reply.strip())
    return int(m.group(1)) if m else None


class AnnotationError(RuntimeError):
    pass


@dataclass(frozen=True)
class AnnotateConfig:
    endpoint: str  # base URL, e.g. http://localhost:8000 (the /v1/chat/completions route is added)
    model: str
    api_key: str | None = None
    concurrency: int = 4
    max_retries: int = 5
    backoff_s: float = 1.0  # doubled after each failed try
    timeout_s: float = 120.0
    max_chars: int = 6_000  # of each document sent
    temperature: float = 0.0


def _chat_url(endpoint: str) -> str:
    base = endpoint.rstrip("/")
    return base if base.endswith("/chat/completions") else f"{base}/v1/chat/completions"


def request_score(cfg: AnnotateConfig, text: str) -> tuple[int, str]:
    """One document -> (score, reply), retrying HTTP errors, timeouts and unparseable replies
    with exponential backoff; AnnotationError after max_retries."""
    body = json.dumps(
        {
            "model": cfg.model,
            "messages": [{"role": "user", "content": RUBRIC.format(text=text[: cfg.max_chars])}],
            "temperature": cfg.temperature,
        }
    ).encode()
    headers = {"Content-Type": "application/json"}
    if cfg.api_key:
        headers["Authorization"] = f"Bearer {cfg.api_key}"
    last = "no attempt"
    for attempt in range(cfg.max_retries + 1):
        if attempt:
            time.sleep(cfg.backoff_s * 2 ** (attempt - 1))
        try:
            req = urllib.request.Request(_chat_url(cfg.endpoint), data=body, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=cfg.timeout_s) as resp:
                reply = json.loads(resp.read())["choices"][0]["message"]["content"] or ""
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
            if e.code in (400, 401, 403, 404):  # will not get better by retrying
                raise AnnotationError(f"{last} from {cfg.endpoint}: {e.read()[:200]!r}") from e
            continue
        except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError, IndexError) as e:
            last = f"{type(e).__name__}: {e}"
            continue
        score = parse_score(reply)
        if score is not None:
            return score, reply
        last = f"no score in reply {reply[-120:]!r}"
    raise AnnotationError(f"gave up after {cfg.max_retries + 1} tries: {last}")


def done_ids(out_path: Path) -> set[str]:
    """Ids already labelled in earlier runs (a torn last line is ignored). Ids that only
    failed are tried again."""
    ids: set[str] = set()
    if out_path.exists():
        for line in out_path.read_text(encoding="utf-8").splitlines():
            try:
                ids.add(json.loads(line)["id"])
            except (ValueError, KeyError):
                continue
    return ids


def failed_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.name + ".failed")


def annotate(cfg: AnnotateConfig, docs: Iterable[tuple[str, str]], out_path: Path, progress=None) -> dict[str, int]:
    """Label (id, text) pairs into out_path (JSONL: id, text, label, reply); documents that
    fail every retry go to out_path + '.failed' with the error and are tried again on the
    next run. Resumes: labelled ids are skipped. At most `concurrency` requests in flight."""
    skip = done_ids(out_path)
    _end_torn_line(out_path)
    counts = {"labelled": 0, "failed": 0, "skipped": 0}
    lock = threading.Lock()
    with open(out_path, "a", encoding="utf-8") as out, open(failed_path(out_path), "a", encoding="utf-8") as bad:

        def record(fh, row: dict, key: str) -> None:
            with lock:  # one whole line at a time, flushed: a crash never loses a label
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                fh.flush()
                counts[key] += 1
                if progress is not None:
                    progress.update(1)

        def work(doc_id: str, text: str) -> None:
            try:
                score, reply = request_score(cfg, text)
            except AnnotationError as e:
                record(bad, {"id": doc_id, "error": str(e)}, "failed")
                return
            record(out, {"id": doc_id, "text": text, "label": str(score), "reply": reply[-500:]}, "labelled")

        with ThreadPoolExecutor(max_workers=cfg.concurrency) as pool:
            pending: set = set()
            for doc_id, text in _new(docs, skip, counts):
                if len(pending) >= cfg.concurrency * 2:  # bounded queue: never read the input ahead
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        f.result()
                pending.add(pool.submit(work, doc_id, text))
            for f in pending:
                f.result()
    return counts


def _end_torn_line(path: Path) -> None:
    """A crash can leave half a line; start the next label on a line of its own."""
    if path.exists() and path.stat().st_size:
        with open(path, "rb+") as fh:
            fh.seek(-1, 2)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def _new(docs: Iterable[tuple[str, str]], skip: set[str], counts: dict[str, int]) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for doc_id, text in docs:
        if doc_id in skip or doc_id in seen:
            counts["skipped"] += 1
            continue
        seen.add(doc_id)
        yield doc_id, text


def shard_documents(run_dir: Path, limit: int | None = None) -> Iterator[tuple[str, str]]:
    """(id, text) from a finished run's shards, in manifest order."""
    import pyarrow.parquet as pq

    try:
        files = shard_files(run_dir)
    except RunDirError as e:
        raise FileNotFoundError(f"no shards under {run_dir}: {e}") from e
    n = 0
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(columns=["id", "text"], batch_size=512):
            for doc_id, text in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
                if limit is not None and n >= limit:
                    return
                n += 1
                yield doc_id, text
