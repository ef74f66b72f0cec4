"""The run config: defaults, YAML loading, and errors that name the field."""

import pytest

from edumix.core.config import ConfigError, RunConfig, load_config


def test_defaults_and_stable_hash():
    assert load_config(None) == RunConfig()
    assert RunConfig().config_hash() == RunConfig().config_hash()
    assert RunConfig(output={"docs_per_shard": 10}).config_hash() != RunConfig().config_hash()


def test_yaml_sections(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("extract:\n  timeout_s: 5\n  favor_precision: true\noutput:\n  compression: snappy\n")
    cfg = load_config(path)
    assert cfg.extract.timeout_s == 5 and cfg.extract.favor_precision and cfg.output.compression == "snappy"
    assert cfg.read == RunConfig().read


@pytest.mark.parametrize(
    "text,message",
    [
        ("extract:\n  timeout: 5\n", "extract.timeout: Extra inputs are not permitted"),
        ("output:\n  docs_per_shard: 0\n", "output.docs_per_shard: Input should be greater than 0"),
        ("output:\n  compression: lz5\n", "output.compression"),
        ("nosuch: {}\n", "nosuch: Extra inputs are not permitted"),
        ("dedup:\n  minhash:\n    bands: 10\n", "bands x rows must equal num_perm"),
        ("- a\n- b\n", "expected a mapping of sections"),
        ("extract: [\n", "not valid YAML"),
        ("extract:\n  timeout_s: 5\n  timeout_s: 50\n", "duplicate key 'timeout_s'"),
        ("output: {}\nextract: {}\noutput: {}\n", "duplicate key 'output'"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, text, message):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
