"""FLOP accounting (trainer/flops.py) on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from edumix.trainer.flops import (
    attn_block_pairs,
    attn_flops,
    attn_pairs,
    doc_lengths,
    full_pairs,
    palm_flops_per_token,
)
from edumix.trainer.model import ModelConfig, Transformer


def test_palm_formula_by_hand():
    # N = 1000 matmul weights, L=2, H=4, hd=8, T=16: 6*1000 + 12*2*4*8*16
    assert palm_flops_per_token(1000, 2, 4, 8, 16) == 6000 + 12288
    model = Transformer(ModelConfig(vocab_size=64, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=64))
    n_matmul = model.num_params(non_embedding=True) + 64 * 32
    assert model.flops_per_token(64) == palm_flops_per_token(n_matmul, 2, 4, 8, 64)


def test_pairs_one_document_per_row():
    # a causal row of 4 tokens: 1 + 2 + 3 + 4 = 10 pairs; two rows: 20
    assert attn_pairs(None, (2, 4)) == 20
    assert attn_pairs(np.array([[0, 1, 2, 3], [0, 1, 2, 3]])) == 20
    assert full_pairs(2, 4) == 32


def test_pairs_per_document():
    # row 0: documents of 3 and 2 tokens -> 6 + 3; row 1: the end of a document cut by the
    # row start (2 tokens the model sees alone) then one of 3 -> 3 + 6
    pos = np.array([[0, 1, 2, 0, 1], [0, 1, 0, 1, 2]])
    assert doc_lengths(pos).tolist() == [3, 2, 2, 3]
    assert attn_pairs(pos) == 6 + 3 + 3 + 6
    # a row start that is not position 0 still starts a segment
    assert doc_lengths(np.array([[5, 6, 0]])).tolist() == [2, 1]


def test_attn_flops_match_palm_term_on_full_pairs():
    # T x T pairs per row at 12 L H hd each = PaLM's attention term times the row's T tokens
    L, H, hd, T = 3, 4, 16, 32
    assert attn_flops(full_pairs(1, T), L, H, hd) == T * (palm_flops_per_token(0, L, H, hd, T))


def test_block_pairs_by_hand():
    # T=8, block 4: one document -> tiles (0,0), (1,0), (1,1) = 3 tiles of 16
    assert attn_block_pairs(None, (1, 8), block=4) == 3 * 16
    # documents of 4 and 4: the off-diagonal tile holds no allowed pair -> 2 tiles
    assert attn_block_pairs(np.array([[0, 1, 2, 3, 0, 1, 2, 3]]), block=4) == 2 * 16
    # documents of 5 and 3: the second block's first token is document 0 -> tile (1,0) kept
    assert attn_block_pairs(np.array([[0, 1, 2, 3, 4, 0, 1, 2]]), block=4) == 3 * 16
    # T=6 pads to 2 blocks of 4; two rows
    assert attn_block_pairs(None, (2, 6), block=4) == 2 * 3 * 16
    # never fewer than the pairs needed
    rng = np.random.default_rng(0)
    pos = np.concatenate([np.arange(n) for n in rng.integers(1, 300, 40)])[:1024][None]
    assert attn_pairs(pos) <= attn_block_pairs(pos) <= full_pairs(1, 1024)


def test_document_masking_is_far_below_palm_at_long_rows():
    # 8192 tokens of 512-token documents: 16 * 512 * 513 / 2 pairs vs 8192^2 -> ~3.1%
    pos = np.tile(np.arange(512), 16)[None]
    frac = attn_pairs(pos) / full_pairs(1, 8192)
    assert frac == pytest.approx(16 * 512 * 513 / 2 / 8192**2)
    assert frac < 0.035
