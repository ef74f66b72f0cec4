"""Flex template entry point (FLEX_TEMPLATE_PYTHON_PY_FILE): runs `edumix curate`'s code.

Dataflow's launcher runs this file with the template parameters of metadata.json as
`--name=value` flags, plus the pipeline options it adds itself (--project, --region,
--temp_location, --staging_location, --job_name, ...). The parameters are parsed here;
everything else passes to Beam unchanged, as with `edumix curate`.

The launcher must not block until the job ends, so --no_wait_until_finish is added
unless given: report.json and manifest.json are written by the job itself when it
finishes. Run locally for a dry run of what the template would submit:

    python deploy/dataflow/main.py --input=gs://BUCKET/crawl/*.warc.gz --output=gs://BUCKET/run \
        --project=PROJECT --region=us-central1 --temp_location=gs://BUCKET/tmp \
        --sdk_container_image=IMAGE --dry_run=True
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from edumix.launch import LAUNCH_ERRORS, CurateRequest, launch_curate, split_beam_args
from edumix.pipelines.options import format_job

# Set by the Dockerfile to the image's own name: workers then run the image the launcher runs.
IMAGE_ENV = "EDUMIX_SDK_CONTAINER_IMAGE"


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    """The template parameters; metadata.json declares the same names."""
    parser = argparse.ArgumentParser(
        prog="deploy/dataflow/main.py", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument(
        "--input",
        action="append",
        required=True,
        help="gs:// file or glob; several as a comma-separated list or repeated --input",
    )
    parser.add_argument("--output", required=True, help="gs:// run directory")
    parser.add_argument("--config", default=None, help="run config YAML (gs:// or a path inside the image)")
    parser.add_argument(
        "--overwrite",
        type=_flag,
        nargs="?",
        const=True,
        default=False,
        help="replace a previous run in --output (true/false)",
    )
    return parser


def split_inputs(values: Sequence[str]) -> list[str]:
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def launcher_beam_args(extra: Sequence[str]) -> list[str]:
    """Beam options as given, with the launcher's defaults added where absent."""
    args = split_beam_args(list(extra))
    given = {a.split("=", 1)[0] for a in args}
    if "--runner" not in given:
        args.append("--runner=DataflowRunner")
    if "--no_wait_until_finish" not in given:
        args.append("--no_wait_until_finish")
    image = os.environ.get(IMAGE_ENV)
    if image and "--sdk_container_image" not in given:
        args.append(f"--sdk_container_image={image}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params, extra = build_parser().parse_known_args(argv)
    inputs = split_inputs(params.input)
    try:
        request = CurateRequest(inputs, params.output, launcher_beam_args(extra), params.config, params.overwrite)
        result = launch_curate(request)
    except LAUNCH_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if "job" in result:
        print(format_job(result["job"], params.output))
    else:  # a runner that waited (e.g. --runner=FnApiRunner for a local try)
        print(f"done: {result['kept']:,} of {result['input_records']:,} records kept; report in {params.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
