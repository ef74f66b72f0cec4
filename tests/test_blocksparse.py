"""Blocksparse attention (trainer/blocksparse.py): the CPU path and FlexAttention equal the dense
reference with the combined causal AND document AND blocksparse mask; the CPU path computes
only the active blocks; the cache keeps only readable blocks and generates the same tokens.
Tiny dims, CPU, a few seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edumix.trainer.attention import FlexMask, KVCache
from edumix.trainer.blocksparse import (
    BlocksparseConfig,
    BlocksparseKVCache,
    BlocksparseMask,
    allowed,
    build_blocksparse_mask,
    cache_slots,
    dense_mask,
    flex_mask,
    kv_bytes,
    kv_tokens_needed,
)
from edumix.trainer.config import ModelSection
from edumix.trainer.export_hf import export_hf
from edumix.trainer.flops import attn_pairs, blocksparse_pairs, model_attn_pairs
from edumix.trainer.generate import generate
from edumix.trainer.model import ModelConfig, Transformer

SP = BlocksparseConfig(block_size=4, local_blocks=2, vert_stride=3, every=2)
V = 101


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def packed(*lengths: int) -> torch.Tensor:
    return torch.cat([torch.arange(n) for n in lengths])


# T = 41 (not a multiple of the block): row 0 starts inside a document (position 5, not on a
# block boundary), then a 1-token document and ragged ones; row 1 one long document then two.
POSITIONS = torch.stack([torch.cat([torch.arange(5, 15), packed(1, 19, 11)]), packed(30, 3, 8)])  # (2, 41)


def qkv(B: int, T: int, H: int = 4, KV: int = 2, hd: int = 8, grad: bool = False):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(B, T, h, hd, dtype=torch.float64, generator=g, requires_grad=grad) for h in (H, KV, KV)]


def reference_mask(positions: torch.Tensor, sp: BlocksparseConfig) -> torch.Tensor:
    """(B, T, T) the combined mask written out token by token, independently of the module."""
    B, T = positions.shape
    m = torch.zeros(B, T, T, dtype=torch.bool)
    for b in range(B):
        doc = 0
        docs = []
        for t in range(T):
            doc += int(t > 0 and positions[b, t] == 0)
            docs.append(doc)
        for i in range(T):
            for j in range(i + 1):
                qb, kb = int(positions[b, i]) // sp.block_size, int(positions[b, j]) // sp.block_size
                rule = qb - kb < sp.local_blocks or (kb + 1) % sp.vert_stride == 0
                m[b, i, j] = docs[i] == docs[j] and rule
    return m


def test_dense_reference_mask_is_causal_doc_and_block_rule():
    got = dense_mask(POSITIONS, 41, torch.device("cpu"), SP).mask[:, 0]
    assert torch.equal(got, reference_mask(POSITIONS, SP))


@pytest.mark.parametrize("sp", [SP, BlocksparseConfig(block_size=8, local_blocks=1, vert_stride=2, every=0)])
def test_cpu_path_equals_dense_reference_outputs_and_grads(sp):
    """Uneven T, several documents per row, GQA (4 query heads on 2 KV heads), float64."""
    B, T = POSITIONS.shape
    q, k, v = qkv(B, T, grad=True)
    ref = dense_mask(POSITIONS, T, q.device, sp)
    bsm = build_blocksparse_mask(POSITIONS, "docs", T, q.device, sp)
    assert isinstance(bsm, BlocksparseMask)
    y_ref, y = ref.attend(q, k, v), bsm.attend(q, k, v)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    grads_ref = torch.autograd.grad(y_ref, (q, k, v), g)
    grads = torch.autograd.grad(y, (q, k, v), g)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_cpu_path_one_document_per_row():
    q, k, v = qkv(2, 37)
    y = BlocksparseMask.from_positions(None, 37, q.device, SP).attend(q, k, v)
    torch.testing.assert_close(y, dense_mask(None, 37, q.device, SP).attend(q, k, v), rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
def test_flex_mask_mod_equals_dense_reference():
    """FlexAttention runs (forward, uncompiled) on CPU in torch 2.13: the composed mask_mod
    (document-causal AND blocksparse) gives the reference's outputs."""
    B, T = POSITIONS.shape
    q, k, v = (x.float() for x in qkv(B, T))
    fm = flex_mask(POSITIONS, T, q.device, SP)
    assert isinstance(fm, FlexMask)
    ref = dense_mask(POSITIONS, T, q.device, SP).attend(q.double(), k.double(), v.double())
    torch.testing.assert_close(fm.attend(q, k, v).double(), ref, rtol=1e-5, atol=1e-5)


def test_cost_follows_active_blocks():
    """One document of T tokens: the CPU path computes active blocks x bs^2 pairs, which falls
    as a fraction of T^2 as T grows (the vertical blocks grow as T/vert_stride per query block)."""
    sp = BlocksparseConfig(block_size=16, local_blocks=2, vert_stride=4)
    fracs = []
    for T in (64, 256, 1024):
        m = BlocksparseMask.from_positions(None, T, torch.device("cpu"), sp)
        nb = T // 16
        assert m.total_blocks == nb
        assert m.pairs == sum(c * n for n, c in m.groups) * 16 * 16  # what the SDPA calls get
        assert (m.pairs, m.pairs) == (
            blocksparse_pairs(None, (1, T), block_size=16, local_blocks=2, vert_stride=4)[1],
        ) * 2
        fracs.append(m.pairs / T**2)
    assert fracs[0] > fracs[1] > fracs[2]
    assert fracs[2] < 0.2  # dense causal would be ~0.5


def test_flops_pairs_match_the_mask():
    B, T = POSITIONS.shape
    allowed_pairs, computed = blocksparse_pairs(POSITIONS.numpy(), block_size=4, local_blocks=2, vert_stride=3)
    assert allowed_pairs == int(reference_mask(POSITIONS, SP).sum())
    assert computed == BlocksparseMask.from_positions(POSITIONS, T, torch.device("cpu"), SP).pairs
    dense = attn_pairs(POSITIONS.numpy())
    # 4 layers, every=2: layers 0 and 2 blocksparse, 1 and 3 dense
    assert model_attn_pairs(POSITIONS.numpy(), None, 4, SP) == (2 * dense + 2 * allowed_pairs) / 4
    assert model_attn_pairs(POSITIONS.numpy(), None, 4, None) == dense


def tiny(**kw) -> ModelConfig:
    base = dict(vocab_size=V, dim=64, n_layers=4, n_heads=4, n_kv_heads=2, max_seq_len=128, blocksparse=SP)
    return ModelConfig(**(base | kw))


def test_model_layers_alternate_and_impls_agree():
    cfg = tiny()
    assert [cfg.is_sparse(i) for i in range(4)] == [True, False, True, False]
    torch.manual_seed(0)
    a = Transformer(cfg).double()
    ref = Transformer(ModelConfig.from_dict(cfg.to_dict() | {"attn_impl": "dense"})).double()
    ref.load_state_dict(a.state_dict())
    dense_only = Transformer(ModelConfig.from_dict(cfg.to_dict() | {"blocksparse": None})).double()
    dense_only.load_state_dict(a.state_dict())
    idx = torch.randint(0, V, POSITIONS.shape)
    out = a(idx, POSITIONS)[0]
    torch.testing.assert_close(out, ref(idx, POSITIONS)[0], rtol=1e-10, atol=1e-10)
    assert not torch.allclose(out, dense_only(idx, POSITIONS)[0])  # the sparse layers do change the logits


def test_config_absent_is_byte_identical_and_round_trips():
    plain = ModelConfig(vocab_size=V, dim=64, n_layers=2, n_heads=4, n_kv_heads=2)
    assert "blocksparse" not in plain.to_dict()
    sec = ModelSection(dim=64, n_layers=2, n_heads=4, n_kv_heads=2)
    assert "blocksparse" not in sec.model_dump() and "blocksparse" not in sec.model_dump(mode="json")
    yaml = {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "blocksparse": {"block_size": 64, "every": 2}}
    sec = ModelSection.model_validate(yaml)
    m = sec.model_dump() | {"vocab_size": V}
    cfg = ModelConfig.from_dict(m)
    assert cfg.blocksparse == BlocksparseConfig(block_size=64, local_blocks=4, vert_stride=8, every=2)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        ModelSection.model_validate(yaml | {"blocksparse": {"every": 1}})


def test_generate_with_sparse_cache_equals_no_cache():
    """Prompt of 13 tokens (a partial block), 40 new tokens: past several vertical strides, so
    the ring overwrites blocks; greedy tokens equal the no-cache forward pass."""
    cfg = tiny(max_seq_len=64)
    torch.manual_seed(0)
    model = Transformer(cfg).double()
    prompt = torch.randint(0, V, (2, 13))
    cached = generate(model, prompt, 40, temperature=0.0)
    plain = generate(model, prompt, 40, temperature=0.0, use_cache=False)
    assert torch.equal(cached, plain)
    cache = model.new_cache(2, 53)
    assert isinstance(cache, BlocksparseKVCache) and cache.slots < 53


def test_cache_chunks_after_prefill_equal_full_forward():
    cfg = tiny(max_seq_len=64)
    torch.manual_seed(1)
    model = Transformer(cfg).double().eval()
    idx = torch.randint(0, V, (1, 50))
    full = model(idx)[0]
    cache = model.new_cache(1, 64)
    with torch.no_grad():
        a = model(idx[:, :21], cache=cache)[0]
        b = model(idx[:, 21:30], cache=cache)[0]  # a chunk after a prefix: token by token inside
        c = torch.cat([model(idx[:, t : t + 1], cache=cache)[0] for t in range(30, 50)], 1)
    torch.testing.assert_close(torch.cat([a, b, c], 1), full, rtol=1e-10, atol=1e-10)


def test_dense_cache_refused_for_sparse_layers():
    cfg = tiny()
    model = Transformer(cfg)
    cache = KVCache(4, 1, 2, 16, cfg.head_dim)
    with pytest.raises(NotImplementedError, match="blocksparse"):
        model(torch.zeros(1, 4, dtype=torch.long), cache=cache)


def test_kv_bytes_saved():
    sp = BlocksparseConfig(block_size=64, local_blocks=4, vert_stride=8, every=2)
    # at 4096 tokens: 64 blocks; the next query (block 64) reads blocks 61-63 and the 8 vertical
    # ones (7, 15, ..., 63; 63 is both)
    assert kv_tokens_needed(4096, sp) == (3 + 8 - 1) * 64
    assert cache_slots(4096, sp) == (4 + 8) * 64  # static: a 4-block ring + 8 vertical blocks
    cfg = ModelConfig(vocab_size=V, dim=256, n_layers=4, n_heads=4, n_kv_heads=2, blocksparse=sp)
    dense, sparse = kv_bytes(cfg, batch=1, length=4096)
    assert sparse == dense // 2 + dense // 2 * 10 * 64 // 4096
    # the allocated cache shrinks as the static rule says
    small = Transformer(ModelConfig.from_dict(cfg.to_dict() | {"max_seq_len": 4096})).new_cache(1, 4096)
    full = KVCache(4, 1, 2, 4096, cfg.head_dim)
    assert small.nbytes == full.nbytes // 2 + full.nbytes // 2 * 12 * 64 // 4096


def test_allowed_is_what_the_cache_masks_with():
    p = torch.arange(40)
    m = allowed(p[:, None], p[None, :], SP)  # (40, 40)
    assert torch.equal(m, reference_mask(p[None], SP)[0])


def test_export_refuses_blocksparse(tmp_path):
    model = Transformer(tiny())
    with pytest.raises(ValueError, match="blocksparse"):
        export_hf(model, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


def test_numpy_positions_accepted():
    assert blocksparse_pairs(np.arange(8)[None], block_size=4, local_blocks=1, vert_stride=100) == (2 * 10, 2 * 16)
