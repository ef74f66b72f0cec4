"""Options on the curate command line: what neither edumix nor Beam knows is an error."""

import pytest

from edumix.pipelines.options import PipelineOptionsError, validate_pipeline_options


def test_an_unknown_option_is_refused_by_name(tmp_path):
    crawl = tmp_path / "in.jsonl"
    crawl.write_text('{"text": "x"}\n')
    args = ["--direct_num_workers=2", "--direct_numworkers=2", "--bogus"]
    with pytest.raises(PipelineOptionsError, match=r"unknown option\(s\) --bogus, --direct_numworkers:"):
        validate_pipeline_options(args, [str(crawl)], str(tmp_path / "out"))
    plan = validate_pipeline_options(args[:1], [str(crawl)], str(tmp_path / "out"))
    assert plan.waits and not plan.remote
