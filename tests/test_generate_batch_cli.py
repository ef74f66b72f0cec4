"""`edumix generate --prompts-file`: several prompts batched through the static-cache Decoder
(left padding, per-row EOS), one JSON line per prompt in the file's order; greedy results equal
`edumix generate --prompt` run on each prompt alone (float32, CPU, exact)."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from edumix.cli import app
from edumix.trainer.cli import batch_plan
from edumix.trainer.config import load_train_config
from edumix.trainer.train import pretrain

TINY_YAML = """\
model: {dim: 64, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 48, rope_base: 10000.0}
data: {seq_len: 32, batch_size: 2, grad_accum: 1}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 1}
steps: 2
eval_every: 2
eval_batches: 1
ckpt_every: 2
log_every: 1
"""
PROMPTS = ["the river", "a", "the old mill stood by the water and the wheel turned", "stone bridge over", "x y"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ckpt(run_dir, tokenizer_path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch_cli")
    yaml = tmp / "t.yaml"
    yaml.write_text(TINY_YAML)
    pretrain(load_train_config(yaml), run_dir, tmp / "ck", tokenizer_path, progress=False, log=lambda m: None)
    return tmp / "ck"


def test_batch_plan_sorts_by_length_and_keeps_every_row_its_budget():
    assert batch_plan([5, 1, 9, 3], 2, 10, 100) == [[1, 3], [0, 2]]
    # context 20, 10 new: the 4-token row wants 10 (ends at 14 <= 20); a 15-token row may take
    # only 5, and 15 + 10 > 20, so it goes to its own batch rather than cut the short row's budget
    assert batch_plan([4, 15, 6], 8, 10, 20) == [[0, 2], [1]]


def test_prompts_file_equals_each_prompt_alone(ckpt, tmp_path):
    runner = CliRunner()
    # max_seq_len 48 and 30 new tokens: the longest prompt is cut by the context end, as alone
    common = ["--ckpt", str(ckpt), "--max-new-tokens", "30", "--temperature", "0"]
    alone = []
    for p in PROMPTS:
        r = runner.invoke(app, ["generate", *common, "--prompt", p, "--no-stream"])
        assert r.exit_code == 0, r.output + repr(r.exception)
        alone.append(r.output)
    src = tmp_path / "p.jsonl"
    src.write_text("\n".join(json.dumps(p if i % 2 else {"prompt": p, "id": i}) for i, p in enumerate(PROMPTS)) + "\n")
    out = tmp_path / "o" / "results.jsonl"
    r = runner.invoke(app, ["generate", *common, "--prompts-file", str(src), "--batch-size", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output + repr(r.exception)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["prompt"] for row in rows] == PROMPTS  # the file's order, not the batches'
    assert [row.get("id") for row in rows] == [0, None, 2, None, 4]  # other keys kept
    assert [row["prompt"] + row["completion"] + "\n" for row in rows] == alone
    # .txt, one prompt a line, to stdout; every prompt in one batch
    txt = tmp_path / "p.txt"
    txt.write_text("\n".join(PROMPTS) + "\n\n")
    r = runner.invoke(app, ["generate", *common, "--prompts-file", str(txt), "--batch-size", "8"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert [json.loads(line)["completion"] for line in r.stdout.splitlines()] == [row["completion"] for row in rows]


def test_prompts_file_errors(ckpt, tmp_path):
    runner = CliRunner()
    base = ["generate", "--ckpt", str(ckpt)]
    r = runner.invoke(app, base)
    assert r.exit_code == 2 and "--prompts-file" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"text": 1}\n')
    r = runner.invoke(app, [*base, "--prompts-file", str(bad)])
    assert r.exit_code == 2 and "bad.jsonl:2" in r.output


def test_export_int4_then_generate_equals_quantize_at_load(ckpt, tmp_path):
    runner = CliRunner()
    art = tmp_path / "int4"
    r = runner.invoke(app, ["export", "--ckpt", str(ckpt), "--format", "int4", "--group-size", "32", "--out", str(art)])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert {f.name for f in art.iterdir()} >= {"int4.json", "model.safetensors", "tokenizer.json"}
    common = ["generate", "--prompt", "the river", "--max-new-tokens", "8", "--temperature", "0", "--no-stream"]
    at_load = runner.invoke(app, [*common, "--ckpt", str(ckpt), "--int4", "--group-size", "32"])
    loaded = runner.invoke(app, [*common, "--ckpt", str(art)])
    assert at_load.exit_code == loaded.exit_code == 0, loaded.output + repr(loaded.exception)
    assert loaded.output == at_load.output
    r = runner.invoke(app, [*common, "--ckpt", str(art), "--int8"])
    assert r.exit_code == 2 and "not for an int4 artifact" in r.output
    r = runner.invoke(app, ["export", "--ckpt", str(ckpt), "--format", "int4", "--out", str(art)])
    assert r.exit_code == 2 and "not empty" in r.output
