"""Reading as a Beam source: expand the inputs up front, then read files in parallel.

File-level parallelism: WARC gzip members cannot be split without an index, and a
crawl comes as many files anyway. Each file yields RawRecords, Drops (stage `read`) and
one FileStat, so the report can reconcile input records, and input bytes, file by file.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, S3Options
from apache_beam.pvalue import TaggedOutput

from edumix.core.config import ReadConfig
from edumix.core.progress import progress_bar
from edumix.core.record import Drop

from .formats import ByteAccount, is_known_format, iter_records
from .formats.account import FRAMING, READ_ERRORS, RECORDS
from .stage import DROPPED

log = logging.getLogger(__name__)
FILES = "files"
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class InputFile:
    path: str
    size: int


@dataclass(frozen=True)
class FileStat:
    path: str
    records: int  # everything the file yielded: documents, skipped records, read errors
    read_errors: int
    # Where every byte went (formats.account): records + read errors + framing == bytes.
    bytes: int = 0
    bytes_records: int = 0
    bytes_read_errors: int = 0
    bytes_framing: int = 0
    read_error_ranges: tuple[dict[str, Any], ...] = ()  # byte (and line / row) range of each read error
    read_error_ranges_omitted: int = 0  # ranges past the first formats.account.MAX_RANGES

    @property
    def unattributed_bytes(self) -> int:
        """Bytes no reader accounted for; negative when the file grew while it was read."""
        return self.bytes - self.bytes_records - self.bytes_read_errors - self.bytes_framing

    @classmethod
    def of(cls, path: str, records: int, read_errors: int, account: ByteAccount) -> FileStat:
        return cls(
            path,
            records,
            read_errors,
            bytes=account.size,
            bytes_records=account.bytes[RECORDS],
            bytes_read_errors=account.bytes[READ_ERRORS],
            bytes_framing=account.bytes[FRAMING],
            read_error_ranges=tuple(r.to_json() for r in account.ranges),
            read_error_ranges_omitted=account.omitted_ranges,
        )


class InputError(ValueError):
    pass


def expand_inputs(patterns: list[str], paths_prefix: str = ReadConfig().paths_prefix) -> list[InputFile]:
    """All files the inputs name, sorted. An input is a file (read as that file even when
    its name holds glob characters), a directory (every file under it whose name is a
    known format, recursively; hidden names skipped), a Common Crawl path list (`*.paths`,
    `*.paths.gz`: each line a path under `paths_prefix`), or a glob. One that names no file
    is an error: a typo would otherwise curate an empty crawl without complaint."""
    if not patterns:
        raise InputError("no --input given")
    _S3_CHECKED.clear()
    found: dict[str, int] = {}
    for pattern in patterns:
        expanded = _path_list(pattern, paths_prefix) if _is_path_list(pattern) else _expand_one(pattern)
        for path, size in expanded:
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"--input {pattern!r}: file name is not valid UTF-8: {path!r}") from None
            found[path] = size
    return [InputFile(p, found[p]) for p in sorted(found)]


def _is_path_list(pattern: str) -> bool:
    return pattern.endswith((".paths", ".paths.gz")) and not _GLOB_CHARS & set(os.path.basename(pattern))


def _path_list(listing: str, prefix: str) -> list[tuple[str, int]]:
    """The files a Common Crawl path list names (warc.paths.gz: `crawl-data/CC-MAIN-.../x.warc.gz`
    a line), each under `prefix`; a line naming no file is an error with its line number."""
    compression = CompressionTypes.GZIP if listing.endswith(".gz") else CompressionTypes.UNCOMPRESSED
    _check_reachable(listing)
    try:
        with FileSystems.open(listing, compression_type=compression) as fh:
            lines = fh.read().decode("utf-8").splitlines()
    except (OSError, BeamIOError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"--input {listing!r}: cannot read the path list ({_innermost(e)})") from e
    base = prefix if prefix.endswith("/") else prefix + "/"
    files = []
    for n, line in enumerate(lines, start=1):
        if line.strip():
            url = base + line.strip().lstrip("/")
            try:
                files += _expand_one(url)
            except InputError as e:
                raise InputError(f"{listing}:{n}: {e} (read.paths_prefix is {prefix!r})") from None
    if not files:
        raise InputError(f"--input {listing!r}: the path list names no file")
    return files


def _expand_one(pattern: str) -> list[tuple[str, int]]:
    remote = "://" in pattern
    if not remote and os.path.isdir(pattern):
        return _directory(pattern)
    if not remote and os.path.isfile(pattern):
        return [(pattern, os.path.getsize(pattern))]
    if remote and _GLOB_CHARS & set(pattern):  # an object named like a glob is that object
        literal = _match(glob.escape(pattern))
        if literal:
            return literal
    files = _match(pattern)
    if not files and remote and not _GLOB_CHARS & set(pattern):  # gs://bucket/dir: the objects under it
        files = [(p, n) for p, n in _match(pattern.rstrip("/") + "/**") if _wanted(p[len(pattern) :])]
        if files:
            return files
    if not files:
        raise InputError(f"--input {pattern!r} matches no file")
    return files


SUPPORTED_INPUTS = (
    "local paths, gs:// (Google Cloud Storage), s3:// (AWS or any S3-compatible store: pip install 'edumix[aws]', "
    "endpoint and credentials from --s3_endpoint_url / --s3_access_key_id / --s3_secret_access_key or the AWS_* "
    "variables), and azfs:// / hdfs:// with Beam's azure / hadoop extra installed and credentials set"
)
AWS_EXTRA = "pip install 'edumix[aws]'"
_S3_CHECKED: set[tuple] = set()  # (options, bucket) already reached in this expand_inputs call


def _match(pattern: str) -> list[tuple[str, int]]:
    """Beam's filesystems list the pattern; a scheme they cannot serve (unknown, or without its
    client library or credentials) is one line naming what is supported, not a traceback."""
    _check_reachable(pattern)
    try:
        (result,) = FileSystems.match([pattern])
    except (BeamIOError, ValueError) as e:
        raise InputError(f"--input {pattern!r}: cannot list it ({_innermost(e)}). Supported: {SUPPORTED_INPUTS}") from e
    return [(m.path, m.size_in_bytes) for m in result.metadata_list if not m.path.endswith("/")]


def _check_reachable(url: str) -> None:
    """An s3:// input's bucket, reached once before Beam lists it: Beam's S3 client retries
    any error without an HTTP status (no credentials, endpoint down) with backoff for about
    seven minutes, where this is one line at once."""
    if FileSystems.get_scheme(url) != "s3":
        return
    problem = s3_problem(url)
    if problem:
        raise InputError(f"--input {url!r}: cannot list it ({problem}). Supported: {SUPPORTED_INPUTS}")


def filesystem_options() -> PipelineOptions:
    """The options Beam's filesystems use (FileSystems.get_filesystem reads the same two
    places); set to the defaults when nothing set them yet, as Beam's S3 filesystem refuses
    to work without options (the launcher sets the run's: options.validate_pipeline_options)."""
    from apache_beam.options.value_provider import RuntimeValueProvider

    options = FileSystems._pipeline_options or RuntimeValueProvider.runtime_options
    if not isinstance(options, PipelineOptions):
        options = PipelineOptions([])
        FileSystems.set_options(options)
    return options


def s3_problem(url: str) -> str | None:
    """Why Beam's S3 filesystem cannot serve `url` (s3://BUCKET/...), in one line, or None.
    One list call on the bucket with the endpoint, region and credentials Beam's client would
    use (S3Options, else boto3's usual chain: AWS_* variables, ~/.aws, instance roles) and no
    retries. Messages name the endpoint and the bucket, never a key or secret."""
    from apache_beam.io.aws.clients.s3 import boto3_client  # Beam's S3 client; boto3 is None without the extra

    boto3 = boto3_client.boto3
    if boto3 is None:
        return f"s3:// needs Beam's S3 filesystem, which needs boto3: {AWS_EXTRA}"
    bucket = url[len("s3://") :].split("/", 1)[0]
    if not bucket:
        return "an s3:// path needs a bucket: s3://BUCKET/PATH"
    options = filesystem_options()
    s3 = options.view_as(S3Options)
    key = (s3.s3_endpoint_url, s3.s3_region_name, s3.s3_access_key_id, s3.s3_verify, bucket)
    if key in _S3_CHECKED:
        return None
    client = boto3.session.Session().client(
        "s3",
        region_name=s3.s3_region_name,
        api_version=s3.s3_api_version,
        use_ssl=not s3.s3_disable_ssl,
        verify=s3.s3_verify,
        endpoint_url=s3.s3_endpoint_url,
        aws_access_key_id=s3.s3_access_key_id,
        aws_secret_access_key=s3.s3_secret_access_key,
        aws_session_token=s3.s3_session_token,
        config=boto3.session.Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30),
    )
    where = client.meta.endpoint_url  # as resolved: --s3_endpoint_url, AWS_ENDPOINT_URL(_S3), or AWS's own
    try:
        client.list_objects_v2(Bucket=bucket, MaxKeys=1)
    except Exception as e:  # noqa: BLE001 - botocore's errors, classified by name (boto3 is an extra)
        name = type(e).__name__
        code = str((getattr(e, "response", None) or {}).get("Error", {}).get("Code", ""))
        if name in ("NoCredentialsError", "PartialCredentialsError"):
            return (
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
                "or pass --s3_access_key_id and --s3_secret_access_key"
            )
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "SSLError"):
            return f"cannot reach the S3 endpoint {where} ({name}; set it with --s3_endpoint_url=URL)"
        if code in ("NoSuchBucket", "404"):
            return f"no bucket {bucket!r} at {where}"
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
            return f"access to bucket {bucket!r} at {where} refused ({code}): check the credentials"
        return f"{name}{' ' + code if code else ''} on bucket {bucket!r} at {where}: {e}"
    _S3_CHECKED.add(key)
    return None


def _innermost(e: BaseException) -> str:
    """Beam nests the real cause in BeamIOError.exception_details: dig it out."""
    while isinstance(e, BeamIOError) and e.exception_details:
        e = next(iter(e.exception_details.values()))
    return f"{type(e).__name__}: {e}"


def _wanted(rel_path: str) -> bool:
    parts = [p for p in rel_path.replace("\\", "/").split("/") if p]
    return bool(parts) and not any(p.startswith(".") for p in parts) and is_known_format(parts[-1])


def _directory(path: str) -> list[tuple[str, int]]:
    files, skipped = [], []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            full = os.path.join(root, name)
            if name.startswith(".") or not os.path.isfile(full):
                continue
            if is_known_format(name):
                files.append((full, os.path.getsize(full)))
            else:
                skipped.append(os.path.relpath(full, path))
    if skipped:
        shown = ", ".join(skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        log.warning(
            "--input %s: skipped %d file(s) whose names are no format edumix reads: %s", path, len(skipped), shown
        )
    if not files:
        raise InputError(
            f"--input {path!r} is a directory holding no file edumix reads "
            "(.warc[.gz], .arc[.gz], .wet/.wat[.gz], .jsonl/.ndjson/.json[.gz|.zst], .parquet)"
        )
    return files


class _ReadFile(beam.DoFn):
    def __init__(self, cfg: ReadConfig, total_bytes: int):
        self._cfg = cfg
        self._total = total_bytes

    def setup(self):
        # Bytes, not files: one big WARC would otherwise sit at 0% until it is done.
        self._bar = progress_bar(total=self._total, unit="B", desc="curate: read")

    def process(self, f: InputFile):
        records = errors = 0
        account = ByteAccount(f.size)
        with contextlib.ExitStack() as stack:
            fh = None
            try:
                fh = stack.enter_context(FileSystems.open(f.path, compression_type=CompressionTypes.UNCOMPRESSED))
            except Exception as e:  # noqa: BLE001 - unreadable file: one counted error
                items = iter([account.error(f.size, f.path, 0, "unknown", f"{type(e).__name__}: {e}")])
            else:
                items = iter_records(fh, f.path, self._cfg, account)
            done = 0
            for item in items:
                if fh is not None and (pos := fh.tell()) > done:
                    self._bar.update(pos - done)
                    done = pos
                records += 1
                if isinstance(item, Drop):
                    errors += item.reason == "read_error"
                    yield TaggedOutput(DROPPED, item)
                else:
                    yield item
        stat = FileStat.of(f.path, records, errors, account)
        log.info(
            "read %s: %d records, %d read errors, %d bytes unattributed",
            f.path,
            records,
            errors,
            stat.unattributed_bytes,
        )
        self._bar.update(max(0, f.size - done))
        yield TaggedOutput(FILES, stat)

    def teardown(self):
        self._bar.close()


class ReadDocuments(beam.PTransform):
    """PBegin -> {"docs": RawRecord, "dropped": Drop, "files": FileStat}."""

    def __init__(self, files: list[InputFile], cfg: ReadConfig):
        super().__init__()
        self._files = files
        self._cfg = cfg

    def expand(self, pbegin):
        read = _ReadFile(self._cfg, total_bytes=sum(f.size for f in self._files))
        out = (
            pbegin
            | "ListFiles" >> beam.Create(self._files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFiles" >> beam.ParDo(read).with_outputs(DROPPED, FILES, main="docs")
        )
        docs = out.docs | "Rebalance" >> beam.Reshuffle() if self._cfg.rebalance else out.docs
        return {"docs": docs, DROPPED: out[DROPPED], FILES: out[FILES]}
