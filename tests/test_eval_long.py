"""`edumix eval long`: passkey prompts and scoring, the decode helper against `generate`, the
position-loss buckets and power-law fit, the PNG writer, and the command end to end on a
tiny model trained here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edumix.cli import app
from edumix.trainer.config import load_train_config
from edumix.trainer.eval_long import (
    QUESTION,
    PasskeyResult,
    PromptBuilder,
    bucket_edges,
    fit_power_law,
    greedy_answers,
    heatmap_png,
    parse_digits,
    passkey_key,
    position_loss,
    position_rows,
    power_law,
    read_png,
    run_passkey,
    score_answer,
    token_losses,
)
from edumix.trainer.generate import generate
from edumix.trainer.model import ModelConfig, Transformer
from edumix.trainer.tokenizer import TextTokenizer
from edumix.trainer.train import pretrain


def test_scoring_reads_the_first_number():
    assert parse_digits(" 12345. Remember") == "12345"
    assert parse_digits(" none") is None
    assert score_answer(" 12345.", "12345") and score_answer("the 12345 is", "12345")
    assert not score_answer(" 1234", "12345")  # a prefix of the key
    assert not score_answer(" 123456", "12345")  # the key and more
    assert not score_answer(" 54321 12345", "12345")  # only the first number counts
    assert not score_answer("", "12345")
    keys = {passkey_key(0, 256, d, t) for d in range(5) for t in range(5)}
    assert len(keys) > 20 and all(re.fullmatch(r"[1-9][0-9]{4}", k) for k in keys)
    assert passkey_key(0, 256, 1, 2) == passkey_key(0, 256, 1, 2) != passkey_key(1, 256, 1, 2)


def test_prompts_have_the_exact_length_and_the_needle_at_its_depth(tokenizer_path):
    tok = TextTokenizer(tokenizer_path)
    builder = PromptBuilder(tok)
    for length in (260, 333, 512):  # the 400-token test vocabulary spends ~210 on the fixed parts
        spots = []
        for depth in (0.0, 0.5, 1.0):
            p = builder.build(length, depth, "40721")
            assert len(p.ids) == length and p.ids[0] == tok.bos_id
            text = tok.decode(p.ids)
            assert text.count("The pass key is 40721. Remember it.") == 1 and text.endswith(QUESTION)
            spots.append(p.needle_at)
        filler = length - builder.overhead("40721")
        assert spots[0] == len(builder.prefix)  # right after the instruction
        assert spots[2] == len(builder.prefix) + filler  # right before the question
        assert abs(spots[1] - (len(builder.prefix) + filler / 2)) <= len(builder.filler)  # at a sentence end
    # a held-out filler: any token is a cut, so the depth is exact to a token
    stream = tok.encode("the river town market people morning storm road bridge school " * 3)
    p = PromptBuilder(tok, stream, None).build(300, 0.25, "11111")
    filler = 300 - PromptBuilder(tok, stream, None).overhead("11111")
    assert len(p.ids) == 300 and abs(p.needle_at - len(builder.prefix) - 0.25 * filler) <= 0.5


def test_a_model_that_retrieves_scores_100_and_one_that_does_not_0(tokenizer_path):
    """An oracle that reads the key back out of the prompt (a perfect retriever) gets every
    cell right; one that answers a fixed number gets none: the grid, the keys, the prompts'
    round trip through the tokenizer and the scoring agree."""
    tok = TextTokenizer(tokenizer_path)

    def oracle(prompts, n):
        assert len({len(p) for p in prompts}) == 1 and n == 6
        keys = [re.search(r"The pass key is ([0-9]+)\. Remember", tok.decode(p)).group(1) for p in prompts]
        return [tok.encode(f" {k}.") for k in keys]

    res = run_passkey(oracle, tok, PromptBuilder(tok), [260, 300], [0.0, 0.5, 1.0], trials=3, new_tokens=6)
    assert res.accuracy == [[1.0] * 3] * 2 and len(res.samples) == 18
    wrong = run_passkey(lambda ps, n: [tok.encode(" 99999.")] * len(ps), tok, PromptBuilder(tok), [260], trials=2)
    assert wrong.accuracy == [[0.0] * 5]


def _tiny(vocab: int, max_seq_len: int = 256) -> Transformer:
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=max_seq_len)
    return Transformer(cfg).eval()


def test_greedy_answers_and_token_losses_match_the_model():
    model = _tiny(96)
    g = torch.Generator().manual_seed(0)
    prompts = torch.randint(0, 96, (3, 40), generator=g)
    ref = generate(model, prompts, 5, temperature=0)[:, 40:].tolist()  # the KV-cache reference path
    assert greedy_answers(model, prompts.tolist(), 5) == ref
    rows = torch.randint(0, 96, (3, 65), generator=g)
    with torch.no_grad():
        logits, _ = model(rows[:, :-1])
        want = torch.nn.functional.cross_entropy(logits.transpose(1, 2), rows[:, 1:], reduction="none")
    got = token_losses(model, rows.numpy(), batch_size=2, chunk=7)
    np.testing.assert_allclose(got, want.double().numpy(), rtol=1e-4, atol=1e-5)


def test_position_buckets_rows_and_the_power_law_fit():
    edges = bucket_edges(1024)
    assert edges[0] == 1 and edges[-1] == 1025 and np.all(np.diff(edges) > 0)
    assert len(edges) - 1 <= 4 * 10  # 4 per octave
    # a loss that follows a + b pos^-c exactly: the fit recovers it
    T, a, b, c = 512, 2.5, 3.0, 0.6
    pos = np.arange(1, T + 1)
    losses = np.tile(power_law(pos, a, b, c), (3, 1))
    res = position_loss(losses, "documents", "heldout", 3)
    assert sum(res.bucket_tokens) == 3 * T and res.bucket_lo[0] == 1 and res.bucket_hi[-1] == T
    f = res.fit
    assert abs(f["a"] - a) < 0.05 and abs(f["b"] - b) < 0.1 and abs(f["c"] - c) < 0.05, f
    assert "fit (context <= 512): loss(pos) = " in res.table() and res.fit["max_pos"] == T and "note" not in f
    assert "error" in fit_power_law(np.array([1.0, 2.0]), np.array([3.0, 2.0]))
    rising = fit_power_law(np.arange(1.0, 9.0), 2.0 + 0.1 * np.arange(8.0))  # no power-law decay: said so
    assert "note" in rising
    # rows: whole documents when enough are long enough, else the documents packed
    long_docs = [np.arange(100) + i for i in range(5)]
    rows, mode, used = position_rows(long_docs, 64, 3, min_docs=4)
    assert mode == "documents" and rows.shape == (3, 65) and used == 3 and rows[1, 0] == 1
    short = [np.arange(30) for _ in range(10)]
    rows, mode, used = position_rows(short, 64, 10, min_docs=4)
    assert mode == "packed" and rows.shape == (4, 65) and used == 9  # 4 * 64 + 1 tokens span 9 documents
    assert np.array_equal(rows[1, :5], np.concatenate(short)[64:69])


def test_heatmap_png_reads_back():
    res = PasskeyResult([256, 512, 1024], [0.0, 0.5, 1.0], 2, 8, "fixed", [[1, 0.5, 0], [0, 0, 0], [1, 1, 1]])
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        img = read_png(heatmap_png(res, Path(d) / "h.png"))
    assert img.ndim == 3 and img.shape[2] == 3 and img.shape[1] > 3 * 56 and img.shape[0] > 3 * 28
    # the cell of length 1024 at depth 0 is green, length 512 red (sampled off the label)
    y, x_512, x_1024 = 4 + 3, 4 + 48 + 56 + 3, 4 + 48 + 2 * 56 + 3
    assert img[y, x_1024, 1] > img[y, x_1024, 0] and img[y, x_512, 0] > img[y, x_512, 1]


TINY = """\
model: {dim: 32, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 256, rope_base: 10000.0}
data: {seq_len: 128, batch_size: 4, eval_fraction: 0.05}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 2}
steps: 4
eval_every: 0
eval_batches: 1
ckpt_every: 4
log_every: 2
"""


@pytest.fixture(scope="module")
def tiny_ckpt(run_dir, tokenizer_path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evallong")
    (root / "tiny.yaml").write_text(TINY)
    cfg = load_train_config(root / "tiny.yaml")
    pretrain(cfg, run_dir, root / "p1", tokenizer_path, progress=False, log=lambda m: None)
    return root / "p1"


def test_eval_long_command_end_to_end(tiny_ckpt, run_dir, tmp_path):
    out = tmp_path / "ev"
    args = ["eval", "long", "--ckpt", str(tiny_ckpt), "--data", str(run_dir), "--out", str(out)]
    args += ["--lengths", "224,256,320", "--depths", "0,0.5,1", "--trials", "2", "--loss-len", "128"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "passkey accuracy" in r.output and "320*" in r.output  # beyond max_seq_len 256: marked
    assert "loss by context length" in r.output
    doc = json.loads((out / "eval_long.json").read_text())
    pk = doc["passkey"]
    assert pk["lengths"] == [224, 256, 320] and len(pk["accuracy"]) == 3 and len(pk["accuracy"][0]) == 3
    assert all(0.0 <= a <= 1.0 for row in pk["accuracy"] for a in row) and len(pk["samples"]) == 18
    pl = doc["position_loss"]
    assert pl["seq_len"] == 128 and pl["mode"] in ("documents", "packed") and pl["rows"] >= 1
    assert all(np.isfinite(pl["bucket_loss"])) and pl["fit"] is not None
    assert doc["trained_max_seq_len"] == 256 and doc["step"] == 4
    assert read_png(out / "passkey_heatmap.png").shape[2] == 3
    # the default --out: eval_long/STEP beside the checkpoint; bad input: one clear line
    r = CliRunner().invoke(app, ["eval", "long", "--ckpt", str(tiny_ckpt), "--data", str(run_dir), "--no-passkey"])
    assert r.exit_code == 0, r.output
    assert (tiny_ckpt / "eval_long" / "step-00000004" / "eval_long.json").is_file()
    r = CliRunner().invoke(app, [*args[:6], "--lengths", "40", "--no-loss"])
    assert r.exit_code == 2 and "no room for filler" in r.output
    r = CliRunner().invoke(app, [*args[:6], "--depths", "0,x"])
    assert r.exit_code == 2 and "comma-separated" in r.output
