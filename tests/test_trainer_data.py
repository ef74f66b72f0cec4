"""Tokenizer, token store and packed loader, on a small synthetic run directory.

`make_run` / `make_mix` write the curate contract (manifest.json + shards/, and
mix_manifest.json + cell files) directly, so these tests need no Beam run; the other
trainer test files import them and the `run_dir` / `tokenizer_path` fixtures.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from trainer_runs import make_mix, make_run

from edumix.core.hashing import file_sha256
from edumix.trainer.config import TrainConfigError, load_train_config
from edumix.trainer.data import (
    DataError,
    PackedLoader,
    TokenStore,
    ensure_tokenized,
    eval_rows,
    heldout_masks,
    phase_source,
)
from edumix.trainer.tokenizer import SPECIAL_TOKENS, TextTokenizer, sidecar_path, train_tokenizer

CONFIGS = Path(__file__).resolve().parents[1] / "trainer" / "configs"


@pytest.fixture(scope="session")
def store(run_dir, tokenizer_path) -> TokenStore:
    return TokenStore(ensure_tokenized(run_dir, 1, TextTokenizer(tokenizer_path), progress=False))


# --- tokenizer ----------------------------------------------------------------------


def test_tokenizer_is_deterministic_byte_level_with_specials(run_dir, tokenizer_path, tmp_path):
    again = train_tokenizer(run_dir, 400, tmp_path / "tokenizer.json", progress=False)
    assert file_sha256(again) == file_sha256(tokenizer_path)
    tok = TextTokenizer(tokenizer_path)
    assert tok.vocab_size == 400
    assert [tok.tok.token_to_id(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    text = "Straße → café 漢字 🙂 def f(x):\n\treturn x"  # bytes never seen in training: no unknowns
    assert tok.decode(tok.encode(text)) == text
    assert tok.bos_id not in tok.encode("<bos> plain text")


def test_chat_template_renders_and_encodes_special_tokens(tokenizer_path):
    tok = TextTokenizer(tokenizer_path)
    assert json.loads(sidecar_path(tokenizer_path).read_text())["chat_template"] == tok.chat_template
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    text = tok.apply_chat_template(msgs, add_generation_prompt=False)
    assert text == "<|bos|><|user|>hi<|end|><|assistant|>hello<|end|>"
    ids = tok.encode_chat(msgs[:1])
    user, assistant, end = (tok.special_ids[t] for t in ("<|user|>", "<|assistant|>", "<|end|>"))
    assert ids[:2] == [tok.bos_id, user] and ids[-2:] == [end, assistant]
    with pytest.raises(Exception, match="roles must be user or assistant"):
        tok.apply_chat_template([{"role": "tool", "content": "x"}])


# --- token store --------------------------------------------------------------------


def test_store_holds_every_document_tokenized(run_dir, tokenizer_path, store):
    tok = TextTokenizer(tokenizer_path)
    table = pq.read_table(run_dir / "shards" / "part-00000-of-00001.parquet").to_pylist()
    expected = {(r["domain"], r["edu_tier"]): [] for r in table}
    for r in table:
        expected[(r["domain"], r["edu_tier"])].append(tok.encode(r["text"]))
    assert store.index["documents"] == len(table)
    assert store.index["lineage"] == {"config_hash": "c0ffee0000000000", "input_fingerprint": "f00d000000000000"}
    for i, cell in enumerate(store.cells):
        docs = expected[(cell.domain, cell.tier)]
        assert cell.documents == len(docs)
        for d in range(cell.documents):
            assert store.document(i, d).tolist() == [tok.bos_id, *docs[d], tok.eos_id]
    assert sum(c.weight for c in store.cells) == pytest.approx(1.0)


def test_store_is_reused_until_the_tokenizer_changes(run_dir, tokenizer_path, store, tmp_path):
    tok = TextTokenizer(tokenizer_path)
    index = store.dir / "index.json"
    before = index.stat().st_mtime_ns
    assert ensure_tokenized(run_dir, 1, tok, progress=False) == store.dir
    assert index.stat().st_mtime_ns == before
    other = TextTokenizer(train_tokenizer(run_dir, 300, tmp_path / "t300.json", progress=False))
    fresh = TokenStore(ensure_tokenized(run_dir, 1, other, tmp_path / "tokens", progress=False))
    assert fresh.index["tokenizer_sha256"] == other.sha256 and fresh.index["vocab_size"] == 300


def test_fallback_phases(run_dir, tokenizer_path, tmp_path):
    tok = TextTokenizer(tokenizer_path)
    p2 = TokenStore(ensure_tokenized(run_dir, 2, tok, tmp_path, progress=False))
    assert {c.tier for c in p2.cells} == {"A"} and p2.index["documents"] == 40
    with pytest.raises(DataError, match="only phases 1"):
        phase_source(run_dir, 3)
    with pytest.raises(FileNotFoundError, match="run directory not found"):
        phase_source(tmp_path / "nope", 1)


# --- packing ------------------------------------------------------------------------


def test_rows_pack_documents_with_restarting_positions(store):
    loader = PackedLoader(store, seq_len=48, seed=1)
    b = loader.next_batch(6)
    idx, pos, tgt = b["idx"], b["positions"], b["targets"]
    assert idx.shape == pos.shape == tgt.shape == (6, 48)
    for r in range(6):
        assert pos[r, 0] == 0  # every row starts a segment
        for t in range(48):
            if idx[r, t] == store.bos_id:
                assert pos[r, t] == 0
            if t > 0 and pos[r, t] != 0:
                assert pos[r, t] == pos[r, t - 1] + 1
        # a target is the next input, except across a document boundary (<|eos|> -> <|bos|>)
        for t in range(47):
            if tgt[r, t] == -100:
                assert idx[r, t] == store.eos_id and idx[r, t + 1] == store.bos_id
            else:
                assert tgt[r, t] == idx[r, t + 1]
        if r < 5 and tgt[r, -1] != -100:  # rows are consecutive windows of one stream
            assert tgt[r, -1] == idx[r + 1, 0]
    # the inputs, row after row, are whole <|bos|> doc <|eos|> sequences of the store
    stream = idx.reshape(-1).tolist()
    starts = [i for i, t in enumerate(stream) if t == store.bos_id]
    known = {
        tuple(store.document(c, d).tolist()) for c in range(len(store.cells)) for d in range(store.cells[c].documents)
    }
    for a, b_ in zip(starts, starts[1:]):
        assert tuple(stream[a:b_]) in known
    assert int(b["group_valid"]) == int((tgt != -100).sum())


def test_loader_is_deterministic_and_resumes_exactly(store):
    a, b = PackedLoader(store, 32, seed=3), PackedLoader(store, 32, seed=3)
    first = [a.next_batch(4) for _ in range(5)]
    for x in first:
        y = b.next_batch(4)
        assert all(np.array_equal(x[k], y[k]) for k in ("idx", "positions", "targets"))
    state = json.loads(json.dumps(a.state_dict()))  # plain JSON-able ints
    resumed = PackedLoader(store, 32, seed=3)
    resumed.load_state_dict(state)
    while min(a.epoch) < 1:  # on across every cell's first pass (its reshuffle)
        x, y = a.next_batch(4), resumed.next_batch(4)
        assert np.array_equal(x["idx"], y["idx"]) and np.array_equal(x["targets"], y["targets"])
        assert np.array_equal(x["positions"], y["positions"])
    other_seed = PackedLoader(store, 32, seed=4).next_batch(4)
    assert not np.array_equal(other_seed["idx"], first[0]["idx"])
    with pytest.raises(DataError, match="seq_len"):
        PackedLoader(store, 64, seed=3).load_state_dict(state)


def test_ranks_get_disjoint_slices_of_the_global_batch(store):
    single = PackedLoader(store, 32, seed=0)
    ranks = [PackedLoader(store, 32, seed=0, rank=r, world_size=2) for r in range(2)]
    for _ in range(4):
        whole = single.next_batch(6)
        parts = [ld.next_batch(3) for ld in ranks]
        for k in ("idx", "positions", "targets"):
            assert np.array_equal(np.concatenate([p[k] for p in parts]), whole[k])
        assert int(parts[0]["group_valid"]) == int(parts[1]["group_valid"]) == int(whole["group_valid"])


def test_mix_weights_and_repeats_are_honoured(tmp_path, tokenizer_path):
    run = make_run(tmp_path)
    repeated = "doc-0000"  # general, tier A
    make_mix(run, {("general", "A"): 0.7, ("code", "A"): 0.3}, repeat={repeated: 3})
    store = TokenStore(ensure_tokenized(run, 1, TextTokenizer(tokenizer_path), progress=False))
    assert store.index["from_mix"] and store.index["lineage"]["recipe_hash"] == "abcdef0123456789"
    assert {(c.domain, c.tier): c.weight for c in store.cells} == {("general", "A"): 0.7, ("code", "A"): 0.3}
    loader = PackedLoader(store, 64, seed=0)
    for _ in range(60):
        loader.next_batch(4)
    shares = loader.domain_shares()
    assert shares["general"] == pytest.approx(0.7, abs=0.02) and shares["code"] == pytest.approx(0.3, abs=0.02)
    # one pass over a cell uses each document `repeat` times
    general = next(i for i, c in enumerate(store.cells) if c.domain == "general")
    order = Counter(loader._order(loader._cells.index(general), 0).tolist())
    doc = int(np.flatnonzero(store.cells[general].repeat == 3)[0])
    assert order[doc] == 3 and set(order.values()) == {1, 3}


def test_eval_holdout_is_per_domain_and_never_trained(store):
    held = heldout_masks(store, 0.02)
    per_domain = Counter()
    for c, m in zip(store.cells, held):
        per_domain[c.domain] += int(m.sum())
    assert set(per_domain) == set(store.domains) and min(per_domain.values()) >= 1
    assert heldout_masks(store, 0.02)[0].tolist() == held[0].tolist()  # a hash, not a draw
    eval_docs = {tuple(store.document(i, int(d)).tolist()) for i, m in enumerate(held) for d in np.flatnonzero(m)}
    loader = PackedLoader(store, 64, seed=0, heldout=held)
    stream = np.concatenate([loader.next_batch(8)["idx"].reshape(-1) for _ in range(40)]).tolist()
    starts = [i for i, t in enumerate(stream) if t == store.bos_id]
    trained = {tuple(stream[a:b]) for a, b in zip(starts, starts[1:])}
    assert trained and not trained & eval_docs
    rows = eval_rows(store, held, 64, max_rows=4)
    assert set(rows) == set(store.domains)
    for r in rows.values():
        pad = r["idx"] == store.pad_id
        assert (r["targets"][pad] == -100).all()
        assert r["idx"][0, 0] == store.bos_id and r["positions"][0, 0] == 0


# --- config -------------------------------------------------------------------------


def test_shipped_configs_validate_and_125m_has_125m_parameters():
    import torch

    from edumix.trainer.model import ModelConfig, Transformer

    tiny = load_train_config(CONFIGS / "tiny.yaml")
    assert (tiny.model.dim, tiny.model.n_layers, tiny.data.seq_len) == (128, 4, 256)
    tiny2 = load_train_config(CONFIGS / "tiny.yaml", phase=2)
    assert tiny2.steps == 100 and tiny2.optim.lr == 1e-3 and tiny2.optim.betas == tiny.optim.betas
    big = load_train_config(CONFIGS / "125m.yaml")
    with torch.device("meta"):
        model = Transformer(ModelConfig.from_dict(big.model.model_dump()))
    assert model.num_params(non_embedding=False) == pytest.approx(124.7e6, rel=0.005)
    assert big.micro_batch(1) == 32 and big.micro_batch(8) == 4


def test_bad_config_names_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {dim: 64, n_layers: 2, n_heads: 3, n_kv_heads: 1}\noptim: {lr: -1}\n")
    with pytest.raises(TrainConfigError) as e:
        load_train_config(bad)
    assert "optim.lr" in str(e.value)
    bad.write_text("model: {dim: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2}\nsteps: 10\nstepz: 3\n")
    with pytest.raises(TrainConfigError, match="stepz"):
        load_train_config(bad)
    with pytest.raises(TrainConfigError, match="not found"):
        load_train_config(tmp_path / "missing.yaml")
